#!/bin/bash
# The runner never leaves QEMU or its work directory behind:
#   1. SIGKILL during boot: QEMU is gone 2 s later (PR_SET_PDEATHSIG);
#   2. SIGINT and SIGTERM: QEMU is gone, the runner dies of the signal
#      (status 130 / 143), no work directory is left; the next run also
#      removes the directory the SIGKILLed runner could not.
#
#   process-hygiene.sh RUNNER
set -u
set -m # job control: background jobs get SIGINT like a terminal's Ctrl-C
runner=$1
tmp=$(mktemp -d)
trap 'pkill -9 -f "$tmp/edulab" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
	echo "process-hygiene: FAIL: $*" >&2
	exit 1
}
qemu_running() { pgrep -f "qemu-system.*$tmp/edulab" >/dev/null; }

# Starts the runner in the background and waits for its QEMU to appear.
start() {
	TMPDIR=$tmp "$runner" --accel tcg --timeout 300 -- sleep 300 &
	pid=$!
	for _ in $(seq 200); do
		qemu_running && return 0
		sleep 0.1
	done
	fail "QEMU did not start"
}

start
sleep 3 # QEMU connected to the runner's sockets and booting (before that,
        # a dead runner's refused sockets would end QEMU anyway)
kill -KILL "$pid"
wait "$pid" 2>/dev/null
sleep 2
qemu_running && fail "QEMU outlived a SIGKILLed runner"
echo "process-hygiene: SIGKILL: QEMU gone"
[[ -n $(ls -d "$tmp"/edulab.* 2>/dev/null) ]] || fail "expected the killed runner's directory"

for sig in INT TERM; do
	start
	sleep 3 # well into boot
	kill -"$sig" "$pid"
	wait "$pid"
	status=$?
	want=$((128 + $(kill -l "$sig")))
	[[ $status -eq $want ]] || fail "SIG$sig: runner exited $status, expected $want"
	sleep 1
	qemu_running && fail "SIG$sig: QEMU still running"
	left=$(ls -d "$tmp"/edulab.* 2>/dev/null)
	[[ -z $left ]] || fail "SIG$sig: left behind: $left"
	echo "process-hygiene: SIG$sig: status $status, QEMU gone, no work directory left"
done
echo "process-hygiene: passed"
