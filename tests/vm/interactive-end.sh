#!/bin/bash
# In the interactive shell (make run), poweroff, reboot and halt end the VM
# as the banner promises: the runner exits 0 soon after the command is typed.
# Before that, Ctrl-C must interrupt a foreground program (the shell runs in
# the background of PID 1, where SIGINT would otherwise stay ignored).
#
#   interactive-end.sh RUNNER
set -u
runner=$1
pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null' EXIT # the runner stops its QEMU
for cmd in poweroff reboot halt; do
	coproc lab { "$runner" --accel tcg --interactive --timeout 240 2>&1; }
	pid=$lab_PID # bash unsets it when the coprocess ends
	typed=0
	start=$SECONDS
	while IFS= read -r -t 240 line <&"${lab[0]}"; do
		printf '%s\n' "$line"
		if ((!typed)) && [[ $line == *"Interactive lab shell"* ]]; then
			sleep 2 # the shell starts after the banner
			if [[ $cmd == poweroff ]]; then
				printf 'sleep 100\n' >&"${lab[1]}"
				sleep 2
				printf '\003' >&"${lab[1]}" # Ctrl-C
				ctrl_c_at=$SECONDS
				sleep 1
				printf 'echo $((6 * 7))-after-ctrl-c\n' >&"${lab[1]}"
			else
				printf '%s\n' "$cmd" >&"${lab[1]}"
				typed=1
				typed_at=$SECONDS
			fi
		elif ((!typed)) && [[ $line == *"42-after-ctrl-c"* ]]; then
			if ((SECONDS - ctrl_c_at > 20)); then
				echo "interactive-end: Ctrl-C did not interrupt 'sleep 100'" >&2
				exit 1
			fi
			printf '%s\n' "$cmd" >&"${lab[1]}"
			typed=1
			typed_at=$SECONDS
		fi
	done
	wait "$pid"
	status=$?
	((typed)) || {
		echo "interactive-end: no shell banner, or Ctrl-C did not interrupt 'sleep 100'" >&2
		exit 1
	}
	[[ $status -eq 0 ]] || { echo "interactive-end: '$cmd' ended the runner with $status" >&2; exit 1; }
	took=$((SECONDS - typed_at))
	((took <= 30)) || { echo "interactive-end: '$cmd' took ${took} s to end the VM" >&2; exit 1; }
	echo "interactive-end: '$cmd' ended the VM in ${took} s (run: $((SECONDS - start)) s)"
done
