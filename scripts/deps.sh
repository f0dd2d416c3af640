#!/bin/bash
# Install whatever the lab needs that this Debian 12 machine lacks, and fetch
# the arm64 guest kernel (unpacked, not installed) into the cache.
# Idempotent and quiet when nothing is missing.
#
#   scripts/deps.sh [x86_64] [aarch64] [lint]
set -euo pipefail

want_arm=0 want_lint=0
for a in "$@"; do
	case $a in
	aarch64) want_arm=1 ;;
	lint) want_lint=1 ;;
	x86_64) ;;
	*)
		echo "deps.sh: unknown component '$a'" >&2
		exit 2
		;;
	esac
done

cache=${EDULAB_CACHE:-$HOME/.cache/edulab}
export DEBIAN_FRONTEND=noninteractive

pkgs=(
	# build
	build-essential ccache file cmake pkg-config kmod cpio xz-utils bc flex bison libelf-dev libssl-dev
	# guest kernels, QEMU, rootfs
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 qemu-system-x86 busybox-static
	# user space
	libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev libfmt-dev
	# benchmarks
	gnuplot-nox
	# dynamically linked tools the runner tests copy into the guest
	# (--add-binary): strace, and fio, whose ~80 MB of libraries test payload
	# sizing
	strace fio
	# module BTF: the 6.12 headers ship a vmlinux, so kbuild runs pahole
	pahole
	# 32-bit ABI (compat_ioctl) test programs: Debian's i686 cross compiler,
	# which, unlike gcc-multilib, coexists with the arm64 cross compiler
	gcc-i686-linux-gnu libc6-dev-i386-cross
)
((want_arm)) && pkgs+=(qemu-system-arm gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross)
((want_lint)) && pkgs+=(sparse clang-format clang-tidy)

updated=0
apt_update() {
	if ((!updated)); then
		apt-get update -qq
		updated=1
	fi
}

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "deps.sh: missing Debian packages (run as root to install): ${missing[*]}" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}" >&2
	apt_update
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The stock kernel flavour is whatever linux-image-amd64 points at now.
kver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | grep -o 'linux-image-[0-9][^ ,]*-amd64' | head -1)
kver=${kver#linux-image-}
[[ -e /boot/vmlinuz-$kver ]] || {
	echo "deps.sh: /boot/vmlinuz-$kver missing" >&2
	exit 1
}

if ((want_arm)); then
	abi=${kver%-amd64}
	dest=$cache/arm64/$abi
	if [[ ! -f $dest/.done ]]; then
		if ! dpkg --print-foreign-architectures | grep -qx arm64; then
			dpkg --add-architecture arm64
			updated=0
		fi
		apt_update
		rm -rf "$dest" && mkdir -p "$dest/debs" "$dest/root"
		chmod 777 "$dest/debs" # apt-get download drops privileges to _apt
		echo "deps.sh: fetching the arm64 guest kernel $abi-arm64" >&2
		(cd "$dest/debs" && apt-get download -qq "linux-image-$abi-arm64:arm64" \
			"linux-headers-$abi-arm64:arm64" busybox-static:arm64)
		for d in "$dest"/debs/*.deb; do dpkg -x "$d" "$dest/root"; done
		# The arm64 headers' scripts link points at the host's kbuild tree;
		# put them next to the host's -common headers of the same version.
		hdr=$dest/root/usr/src/linux-headers-$abi-arm64
		ln -sfn /usr/src/linux-headers-$abi-common "$dest/root/usr/src/linux-headers-$abi-common"
		mkdir -p "$dest/root/usr/lib"
		ln -sfn /usr/lib/linux-kbuild-6.1 "$dest/root/usr/lib/linux-kbuild-6.1"
		[[ -d /usr/src/linux-headers-$abi-common ]] || {
			echo "deps.sh: /usr/src/linux-headers-$abi-common missing" >&2
			exit 1
		}
		[[ -d $hdr ]] || {
			echo "deps.sh: $hdr missing in the arm64 headers package" >&2
			exit 1
		}
		touch "$dest/.done"
	fi
fi
