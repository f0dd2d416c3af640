#!/bin/bash
# The scriptable door into the lab: boots a scenario under QEMU and returns an
# honest verdict. A thin wrapper over the C++ runner (lab/): it makes sure the
# image for the requested --arch/--kernel is built, then hands over.
# `run_qemu.sh --help` documents the options and exit statuses.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export EDULAB_ROOT=$root

arch=x86_64 kernel=stock build=1 args=()
while (($#)); do
	case $1 in
	--) break ;;
	--no-build) build=0; shift; continue ;;
	--arch) arch=${2:-} ;;
	--arch=*) arch=${1#*=} ;;
	--kernel) kernel=${2:-} ;;
	--kernel=*) kernel=${1#*=} ;;
	esac
	args+=("$1")
	shift
done
case " ${args[*]} " in *" -h "* | *" --help "*) build=0 ;; esac

runner=$root/build/host/lab/edulab-run
if ((build)); then
	make -s -C "$root" stage ARCH="$arch" KERNEL="$kernel" >&2 || exit 125
	# labdma lives in the lab's own QEMU (cached: instant when built)
	case " ${args[*]} $* " in *" --labdma"*) make -s -C "$root" _qemu >&2 || exit 125 ;; esac
fi
if [[ ! -x $runner ]]; then
	"$root/scripts/deps.sh" x86_64 >&2 || exit 125
	{ cmake -S "$root" -B "$root/build/host" >/dev/null && cmake --build "$root/build/host" --target edulab-run -j"$(nproc)" >/dev/null; } >&2 || exit 125
fi
exec "$runner" "${args[@]}" "$@"
