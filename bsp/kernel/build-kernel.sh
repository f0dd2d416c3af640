#!/bin/bash
# Build one of the lab's own kernel flavours from Debian's linux-source-6.1
# and cache it outside the clone, keyed by everything that shapes the result.
#
#   bsp/kernel/build-kernel.sh debug|min      prints the cached build directory
#
# The build directory holds arch/x86/boot/bzImage and is modules_prepare'd,
# so out-of-tree modules build against it with `make -C <dir> M=...`.
set -euo pipefail

flavour=${1:?usage: build-kernel.sh debug|min}
here=$(cd "$(dirname "$0")" && pwd)
cache=${EDULAB_CACHE:-$HOME/.cache/edulab}
tarball=/usr/src/linux-source-6.1.tar.xz

case $flavour in
debug) base=x86_64_defconfig ;;
min) base=tinyconfig ;;
*)
	echo "build-kernel.sh: unknown flavour '$flavour' (debug|min)" >&2
	exit 2
	;;
esac

[[ -r $tarball ]] || {
	echo "build-kernel.sh: $tarball missing (apt-get install linux-source-6.1)" >&2
	exit 1
}

# Bump when a change to this script changes what a build produces.
recipe=1
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( {
	echo "recipe $recipe $srcver $base"
	cat "$here/common.config" "$here/$flavour.config"
} | sha256sum | cut -c1-16)
out=$cache/kernel/$flavour-$key

# Out-of-tree modules need the kernel's exported symbols; a bzImage-only
# build leaves them in vmlinux.symvers.
finish() {
	local b=$out/build
	[[ -s $b/Module.symvers ]] || cp "$b/vmlinux.symvers" "$b/Module.symvers"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[[ -e $b/$f ]] || : >"$b/$f"
	done
}

if [[ -f $out/.done ]]; then
	finish
	echo "$out"
	exit 0
fi

src=$cache/src/linux-source-$srcver
if [[ ! -f $src/.unpacked ]]; then
	echo "build-kernel.sh: unpacking linux-source $srcver ..." >&2
	rm -rf "$src" && mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.unpacked"
fi

rm -rf "$out" && mkdir -p "$out/build"
log=$out/build.log
echo "build-kernel.sh: building the '$flavour' kernel in $out (about 10 minutes on 2 cores; log: $log)" >&2

make -s -C "$src" O="$out/build" "$base" >"$log" 2>&1
KCONFIG_CONFIG="$out/build/.config" "$src/scripts/kconfig/merge_config.sh" -m -O "$out/build" \
	"$out/build/.config" "$here/common.config" "$here/$flavour.config" >>"$log" 2>&1
make -C "$src" O="$out/build" olddefconfig >>"$log" 2>&1

# Report fragment options that Kconfig refused (unmet dependencies), so a
# fragment never silently lies about what the kernel contains. Later
# fragments override earlier ones, as in merge_config.sh.
declare -A want=()
while IFS= read -r line; do
	if [[ $line =~ ^#\ (CONFIG_[A-Z0-9_]+)\ is\ not\ set ]]; then
		want[${BASH_REMATCH[1]}]=n
	elif [[ $line =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]]; then
		want[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	fi
done < <(cat "$here/common.config" "$here/$flavour.config")
for opt in "${!want[@]}"; do
	have=$(grep -m1 "^$opt=" "$out/build/.config" | cut -d= -f2- || true)
	if [[ ${want[$opt]} == n ]]; then
		[[ -z $have ]] || echo "build-kernel.sh: warning: $opt=n requested but it is $have" >&2
	elif [[ $have != "${want[$opt]}" ]]; then
		echo "build-kernel.sh: warning: $opt=${want[$opt]} requested but it is ${have:-not set}" >&2
	fi
done

# Progress: one line per 500 compiled files, the build log keeps the rest.
make -C "$src" O="$out/build" -j"$(nproc)" bzImage modules_prepare 2>&1 | tee -a "$log" |
	awk '/^  CC/ { n++; if (n % 500 == 0) { printf "build-kernel.sh: %s: %d files compiled\n", "'"$flavour"'", n > "/dev/stderr" } }'
status=${PIPESTATUS[0]}
if [[ $status -ne 0 ]]; then
	echo "build-kernel.sh: kernel build failed, last lines of $log:" >&2
	tail -20 "$log" >&2
	exit 1
fi
size=$(stat -c %s "$out/build/arch/x86/boot/bzImage")
echo "build-kernel.sh: $flavour bzImage: $size bytes" >&2
echo "$size" >"$out/bzImage.size"
touch "$out/.done"
finish
echo "$out"
