#!/bin/bash
# In the interactive shell (make run), poweroff, reboot and halt end the VM
# as the banner promises: the runner exits 0 soon after the command is typed.
#
#   interactive-end.sh RUNNER
set -u
runner=$1
for cmd in poweroff reboot halt; do
	coproc lab { "$runner" --accel tcg --interactive --timeout 240 2>&1; }
	pid=$lab_PID # bash unsets it when the coprocess ends
	typed=0
	start=$SECONDS
	while IFS= read -r -t 240 line <&"${lab[0]}"; do
		printf '%s\n' "$line"
		if ((!typed)) && [[ $line == *"Interactive lab shell"* ]]; then
			sleep 2 # the shell starts after the banner
			printf '%s\n' "$cmd" >&"${lab[1]}"
			typed=1
			typed_at=$SECONDS
		fi
	done
	wait "$pid"
	status=$?
	((typed)) || { echo "interactive-end: no shell banner" >&2; exit 1; }
	[[ $status -eq 0 ]] || { echo "interactive-end: '$cmd' ended the runner with $status" >&2; exit 1; }
	took=$((SECONDS - typed_at))
	((took <= 30)) || { echo "interactive-end: '$cmd' took ${took} s to end the VM" >&2; exit 1; }
	echo "interactive-end: '$cmd' ended the VM in ${took} s (run: $((SECONDS - start)) s)"
done
