#!/bin/bash
# --accel auto boots (with KVM only where KVM really runs guests: on a host
# where /dev/kvm opens but guests never get past the firmware, TCG), and
# --accel kvm where KVM does not work fails as a boot failure saying so.
#
#   accel.sh RUNNER
set -u
runner=$1
out=$("$runner" --timeout 180 -- cat /proc/cmdline 2>&1)
status=$?
printf '%s\n' "$out"
[[ $status -eq 0 ]] || { echo "accel: --accel auto run failed ($status)" >&2; exit 1; }
auto=$(grep -o 'lab\.accel=[a-z]*' <<<"$out" | head -1)
auto=${auto#lab.accel=}
echo "accel: auto chose '$auto'"
case $auto in
kvm)
	"$runner" --accel kvm --timeout 120 -- true || { echo "accel: --accel kvm failed" >&2; exit 1; }
	;;
tcg)
	if [[ -e /dev/kvm ]]; then
		grep -q 'KVM does not run guests on this host' <<<"$out" ||
			echo "accel: note: no fallback notice (KVM not openable here)"
	fi
	out=$("$runner" --accel kvm --boot-timeout 10 --timeout 60 -- true 2>&1)
	status=$?
	printf '%s\n' "$out" | tail -5
	[[ $status -eq 121 ]] || { echo "accel: --accel kvm exited $status, expected 121" >&2; exit 1; }
	grep -q 'under KVM' <<<"$out" || { echo "accel: the reason does not name KVM" >&2; exit 1; }
	;;
*)
	echo "accel: no lab.accel= on the guest's command line" >&2
	exit 1
	;;
esac
echo "accel: passed"
