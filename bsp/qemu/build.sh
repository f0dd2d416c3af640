#!/bin/bash
# Build the lab's own QEMU (qemu-system-x86_64 and qemu-system-aarch64) from
# Debian 12's QEMU 7.2 source package plus the lab's device model (hw/labdma/),
# and cache it outside the clone, keyed by everything that shapes the result.
#
#   bsp/qemu/build.sh             prints the cached output directory
#   bsp/qemu/build.sh --prepare   prints the QEMU source tree with hw/labdma
#                                 built in (fetched and integrated, not built)
#
# Output: $EDULAB_CACHE/qemu/<key>/bin/qemu-system-{x86_64,aarch64}, where
# <key> hashes the Debian source version, hw/labdma/*, the device configs
# (edulab-*.mak) and the recipe version below. The
# binaries look for firmware where Debian's qemu-system-data and seabios put
# it (/usr/share/qemu, /usr/share/seabios), so they run without -L.
#
# One QEMU tree, $EDULAB_CACHE/qemu/tree, is configured once per source
# version and recipe and then built incrementally: a change to hw/labdma
# recompiles a few files, a new Debian upload or a change to this script
# starts a fresh tree (about 10 minutes on 2 cores; ccache helps).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# What shapes the binaries besides the device configs (edulab-*.mak) and
# hw/labdma: how the tree is prepared and configured below. Bump it with
# any change there; it is part of the cache key (progress output is not).
recipe_version=1
root=$(cd "$here/../.." && pwd)
cache=${EDULAB_CACHE:-$HOME/.cache/edulab}
qcache=$cache/qemu
tree=$qcache/tree
prepare_only=0
case ${1:-} in
'') ;;
--prepare) prepare_only=1 ;;
*)
	echo "build.sh: usage: bsp/qemu/build.sh [--prepare]" >&2
	exit 2
	;;
esac
for f in labdma.c labdma.h labdma-channel.c labdma-fault.c trace-events trace.h Kconfig meson.build; do
	[[ -f $root/hw/labdma/$f ]] || {
		echo "build.sh: $root/hw/labdma/$f missing" >&2
		exit 1
	}
done
export DEBIAN_FRONTEND=noninteractive
need_root() {
	[[ $(id -u) -eq 0 ]] || {
		echo "build.sh: $1 (run as root once)" >&2
		exit 1
	}
}

# --- The source version: the newest qemu source Debian offers. apt-get
# source needs deb-src entries: mirror the binary ones once.
newest_src() {
	local v best=
	for v in $(apt-cache showsrc --only-source qemu 2>/dev/null | awk '/^Version:/ { print $2 }'); do
		if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done
	echo "$best"
}
updated=0
srcver=$(newest_src)
if [[ -z $srcver ]]; then
	need_root "no qemu source package known to apt"
	if ! grep -qsx 'Types:.*deb-src.*' /etc/apt/sources.list.d/*.sources &&
		! grep -qs '^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list; then
		[[ -f /etc/apt/sources.list.d/debian.sources ]] || {
			echo "build.sh: no deb-src entry and no /etc/apt/sources.list.d/debian.sources to mirror" >&2
			exit 1
		}
		echo "build.sh: adding /etc/apt/sources.list.d/edulab-deb-src.sources" >&2
		sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			>/etc/apt/sources.list.d/edulab-deb-src.sources
	fi
	apt-get update -qq
	updated=1
	srcver=$(newest_src)
	[[ -n $srcver ]] || {
		echo "build.sh: apt knows no qemu source package even after apt-get update" >&2
		exit 1
	}
fi

# --- The key. hw/labdma is read once, into a snapshot, so the key and the
# build see the same bytes even if the files change meanwhile.
mkdir -p "$qcache"
snap=$(mktemp -d "$qcache/.labdma.XXXXXX")
trap 'rm -rf "$snap"' EXIT
cp -a "$root/hw/labdma/." "$snap/"
base=$({
	echo "qemu $srcver recipe $recipe_version"
	cat "$here/edulab-x86_64.mak" "$here/edulab-aarch64.mak"
} | sha256sum | cut -c1-16)
key=$({
	echo "$base"
	(cd "$snap" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
} | sha256sum | cut -c1-16)
out=$qcache/$key
if ((!prepare_only)) && [[ -f $out/.done ]]; then
	echo "$out"
	exit 0
fi

# --- Build dependencies. QEMU 7.2 runs the system meson (>= 0.61.5) itself:
# no python3-venv (8.1+), and with the system libfdt no dtc, flex or bison.
pkgs=(build-essential pkg-config python3 dpkg-dev ninja-build meson
	libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	need_root "missing Debian packages: ${missing[*]}"
	echo "build.sh: installing ${missing[*]}" >&2
	((updated)) || apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

exec 9>"$qcache/.lock"
flock 9
if ((!prepare_only)) && [[ -f $out/.done ]]; then # built while we waited
	echo "$out"
	exit 0
fi
log=$tree/build.log

# --- A fresh tree: Debian's source with its patches, our device wired in.
if [[ $(cat "$tree/.base" 2>/dev/null) != "$base" ]]; then
	echo "build.sh: fetching Debian's qemu $srcver source" >&2
	rm -rf "$tree" && mkdir -p "$tree/dl"
	(cd "$tree/dl" && apt-get source -qq -o APT::Sandbox::User=root "qemu=$srcver") >"$tree/fetch.log" 2>&1 || {
		tail -20 "$tree/fetch.log" >&2
		exit 1
	}
	mv "$tree"/dl/qemu-*/ "$tree/src"
	rm -rf "$tree/dl"
	s=$tree/src
	# The device lives where it lives in our repo: hw/labdma.
	mkdir -p "$s/hw/labdma"
	printf "\nsubdir('labdma')\n" >>"$s/hw/meson.build"
	printf "\nsource labdma/Kconfig\n" >>"$s/hw/Kconfig"
	sed -i "/^subdir('trace')\$/i trace_events_subdirs += [ 'hw/labdma' ]" "$s/meson.build"
	# The dfsg tarball has no edk2 blobs: never unpack them. (Debian's
	# skip-meson-pc-bios.diff already skips pc-bios/; this holds without it.)
	sed -i 's/^\( *\)unpack_edk2_blobs = bzip2.found()$/\1unpack_edk2_blobs = false/' "$s/meson.build"
	if ! grep -qx "trace_events_subdirs += \[ 'hw/labdma' \]" "$s/meson.build" ||
		grep -q 'unpack_edk2_blobs = bzip2.found()' "$s/meson.build"; then
		echo "build.sh: $s/meson.build no longer looks like 7.2's; update this recipe" >&2
		exit 1
	fi
	# The devices each target is built with (--without-default-devices:
	# Kconfig defaults and "imply" are off, so what is not named here or
	# selected by what is, is not built).
	cp "$here/edulab-x86_64.mak" "$s/configs/devices/x86_64-softmmu/edulab.mak"
	cp "$here/edulab-aarch64.mak" "$s/configs/devices/aarch64-softmmu/edulab.mak"
	echo "$base" >"$tree/.base"
fi

# --- hw/labdma into the tree; files are only rewritten when they differ,
# so ninja rebuilds what changed.
dst=$tree/src/hw/labdma
(cd "$snap" && find . -type f) | while IFS= read -r f; do
	cmp -s "$snap/$f" "$dst/$f" || { mkdir -p "$(dirname "$dst/$f")" && cp "$snap/$f" "$dst/$f"; }
done
(cd "$dst" && find . -type f) | while IFS= read -r f; do [[ -e $snap/$f ]] || rm -f "$dst/$f"; done
if ((prepare_only)); then
	echo "$tree/src"
	exit 0
fi

# --- Configure once per tree. The prefix is not /usr, so the firmware path
# stays absolute (QEMU relocates paths under its prefix to the binary's).
b=$tree/build
if [[ ! -f $b/.configured ]]; then
	rm -rf "$b" && mkdir -p "$b"
	cc=cc
	command -v ccache >/dev/null && cc="ccache cc"
	export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache}
	echo "build.sh: configuring QEMU $srcver (log: $log)" >&2
	if ! (cd "$b" && PATH=/usr/bin:$PATH ../src/configure --prefix=/opt/edulab-qemu \
		--firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
		--target-list=x86_64-softmmu,aarch64-softmmu \
		--without-default-features --without-default-devices \
		--with-devices-x86_64=edulab --with-devices-aarch64=edulab \
		--enable-tcg --enable-kvm --enable-fdt=system \
		--disable-docs --disable-werror --disable-install-blobs --cc="$cc") >"$log" 2>&1; then
		echo "build.sh: configure failed, last lines of $log:" >&2
		tail -20 "$log" >&2
		exit 1
	fi
	touch "$b/.configured"
else
	: >"$log"
fi

# --- Build the two emulators only; one progress line per 10 %. Our device's
# objects are always recompiled (seconds), so its warnings are always seen.
find "$b" -name '*labdma*.o' -delete
echo "build.sh: building qemu-system-x86_64 and qemu-system-aarch64 in $b (log: $log)" >&2
if ! PATH=/usr/bin:$PATH NINJA_STATUS='[%f/%t] ' ninja -C "$b" -j"$(nproc)" \
	qemu-system-x86_64 qemu-system-aarch64 2>&1 | tee -a "$log" |
	awk -F'[][/]' '/^\[[0-9]+\/[0-9]+\]/ { p = int($2 * 10 / $3); if (p > last) { last = p
		printf "build.sh: qemu: %d%% (%d/%d steps)\n", p * 10, $2, $3; fflush() } }' >&2; then
	echo "build.sh: QEMU build failed, last lines of $log:" >&2
	tail -20 "$log" >&2
	exit 1
fi

# Our device is built without QEMU's -Werror (configure --disable-werror, for
# Debian's tree): its warnings fail the recipe here instead.
if grep -n 'hw/labdma/.*warning:' "$log" >&2; then
	echo "build.sh: hw/labdma compiles with warnings (above)" >&2
	exit 1
fi

# --- Check the machines and devices the lab uses are in, then publish
# atomically: a stamp last, then one rename.
tmp=$(mktemp -d "$qcache/.out.XXXXXX")
trap 'rm -rf "$snap" "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/config"
cp "$b/qemu-system-x86_64" "$b/qemu-system-aarch64" "$tmp/bin/"
cp "$b"/*-softmmu-config-devices.mak "$tmp/config/"
echo "$srcver" >"$tmp/debian-source-version"
for t in x86_64 aarch64; do
	qemu=$tmp/bin/qemu-system-$t
	machine=virt extra=
	[[ $t == x86_64 ]] && machine=q35 extra=intel-iommu
	"$qemu" -machine help >"$tmp/machines-$t.txt"
	"$qemu" -device help >"$tmp/devices-$t.txt"
	grep -q "^$machine " "$tmp/machines-$t.txt" || {
		echo "build.sh: qemu-system-$t has no machine $machine" >&2
		exit 1
	}
	for d in edu pcie-root-port virtio-serial-pci virtserialport $extra; do
		grep -q "name \"$d\"" "$tmp/devices-$t.txt" || {
			echo "build.sh: qemu-system-$t has no device $d" >&2
			exit 1
		}
	done
	for d in labdma labdma-lite; do
		grep -q "name \"$d\"" "$tmp/devices-$t.txt" || {
			echo "build.sh: qemu-system-$t has no device $d" >&2
			exit 1
		}
	done
done
touch "$tmp/.done"
rm -rf "$out"
mv -T "$tmp" "$out"
# Keep the three newest builds.
find "$qcache" -mindepth 1 -maxdepth 1 -type d -name '????????????????' -printf '%T@ %p\n' |
	sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r -d '\n' rm -rf
echo "$out"
