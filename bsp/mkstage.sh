#!/bin/bash
# Assembles a bootable lab image ("stage") for one architecture and kernel
# flavour: the kernel QEMU boots, and the rootfs tree the runner packs into
# the initramfs (busybox, the rootfs overlay, modules with their modalias
# index, the guest programs).
#
#   bsp/mkstage.sh OUT KERNEL_IMAGE KERNEL_RELEASE MODULES_DIR BUSYBOX GUEST_BIN_DIR "KO..." STRIP
#
# KO...: the lab's out-of-tree modules (edu.ko, the test modules), one word
# each, installed under /lib/modules/<release>/extra.
#
# MODULES_DIR is the kernel's /lib/modules/<release> tree (stock kernels keep
# virtio as modules; the lab's own flavours build everything in: pass "-").
set -euo pipefail
out=$1 kernel=$2 release=$3 moddir=$4 busybox=$5 guestbin=$6 kos=$7 strip=${8:-strip}
here=$(cd "$(dirname "$0")" && pwd)

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/usr/bin" "$tmp/rootfs/lib/modules/$release/extra"
cp -a "$here/rootfs/overlay/." "$tmp/rootfs/"
cp "$busybox" "$tmp/rootfs/bin/busybox"
cp "$kernel" "$tmp/kernel"
echo "$release" >"$tmp/kernel.release"

mods=$tmp/rootfs/lib/modules/$release
for ko in $kos; do
	cp "$ko" "$mods/extra/"
done
if [[ $moddir != - ]]; then
	# The results channel (virtio-serial over PCI) and its dependencies.
	for m in virtio/virtio virtio/virtio_ring virtio/virtio_pci virtio/virtio_pci_legacy_dev \
		virtio/virtio_pci_modern_dev char/virtio_console; do
		f=$(ls "$moddir/kernel/drivers/$m".ko* 2>/dev/null | head -1 || true)
		[[ -n $f ]] || continue # built in
		rel=${f#"$moddir"/}
		mkdir -p "$mods/$(dirname "$rel")"
		cp "$f" "$mods/$rel"
	done
fi
# depmod and modprobe want these even when they list nothing.
for f in modules.order modules.builtin modules.builtin.modinfo; do
	if [[ $moddir != - && -f $moddir/$f ]]; then cp "$moddir/$f" "$mods/"; else : >"$mods/$f"; fi
done
depmod -b "$tmp/rootfs" "$release"

if [[ -d $guestbin ]]; then
	# Stripped: the initramfs lives in guest RAM (tight on the KASAN kernel).
	find "$guestbin" -maxdepth 1 -type f -perm -u+x -exec cp {} "$tmp/rootfs/usr/bin/" \;
	for f in "$tmp"/rootfs/usr/bin/*; do
		file -b "$f" | grep -q '^ELF' && "$strip" "$f"
	done
fi

rm -rf "$out"
mv "$tmp" "$out"
