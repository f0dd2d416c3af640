#!/bin/bash
# Fetches one of Debian 12's newer kernels (bookworm-security serves the 6.12
# LTS backport, also as PREEMPT_RT) into the cache, unpacked, never installed:
# the image with its modules, the headers and the kbuild tools to build
# out-of-tree modules against it. The newest version on offer is read now and
# is the cache key, so a new Debian upload is fetched once, then reused.
#
#   bsp/kernel/fetch-debian-kernel.sh 6.12|6.12-rt
#
# Prints the unpacked root (with boot/vmlinuz-<release>,
# lib/modules/<release>, usr/src/linux-headers-<release>) on stdout.
set -euo pipefail
flavour=${1:?usage: fetch-debian-kernel.sh 6.12|6.12-rt}
case $flavour in
6.12) variant=amd64 common=common ;;
6.12-rt) variant=rt-amd64 common=common-rt ;;
*)
	echo "fetch-debian-kernel.sh: unknown flavour '$flavour' (6.12 or 6.12-rt)" >&2
	exit 2
	;;
esac
cache=${EDULAB_CACHE:-$HOME/.cache/edulab}

newest() {
	apt-cache search --names-only "^linux-image-6\.12\.[0-9]+\+deb12-$variant-unsigned\$" |
		awk '{print $1}' | sort -V | tail -1
}
image=$(newest)
if [[ -z $image ]]; then
	apt-get update -qq
	image=$(newest)
fi
[[ -n $image ]] || {
	echo "fetch-debian-kernel.sh: no linux-image-6.12.*+deb12-$variant-unsigned in the archive" \
		"(is bookworm-security in the apt sources?)" >&2
	exit 1
}
release=${image#linux-image-}
release=${release%-unsigned} # e.g. 6.12.117+deb12-rt-amd64
abi=${release%-"$variant"}  # e.g. 6.12.117+deb12
dest=$cache/debian-kernel/$release
if [[ ! -f $dest/.done ]]; then
	echo "fetch-debian-kernel.sh: fetching Linux $release (image, headers, kbuild)" >&2
	rm -rf "$dest" && mkdir -p "$dest/debs" "$dest/root"
	chmod 777 "$dest/debs" # apt-get download drops privileges to _apt
	(cd "$dest/debs" && apt-get download -qq -o APT::Sandbox::User=root "$image" "linux-headers-$release" \
		"linux-headers-$abi-$common" "linux-kbuild-$abi")
	for d in "$dest"/debs/*.deb; do dpkg -x "$d" "$dest/root"; done
	rm -rf "$dest/debs"
	# The headers point at their -common half and at kbuild by absolute
	# /usr/... paths in places; make those relative to this root.
	hdr=$dest/root/usr/src/linux-headers-$release
	[[ -d $hdr ]] || {
		echo "fetch-debian-kernel.sh: $hdr missing" >&2
		exit 1
	}
	grep -rlZ --include=Makefile "/usr/src/linux-headers-$abi" "$hdr" 2>/dev/null |
		xargs -0 -r sed -i "s|/usr/src/linux-headers-$abi|$dest/root/usr/src/linux-headers-$abi|g"
	for l in $(find "$hdr" "$dest/root/usr/src/linux-headers-$abi-$common" -maxdepth 1 -type l); do
		t=$(readlink "$l")
		[[ $t == /* ]] && ln -sfn "$dest/root$t" "$l"
	done
	[[ -f $dest/root/boot/vmlinuz-$release ]] || {
		echo "fetch-debian-kernel.sh: no vmlinuz-$release in $image" >&2
		exit 1
	}
	depmod -b "$dest/root" "$release"
	touch "$dest/.done"
fi
echo "$dest/root"
