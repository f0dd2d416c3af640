#!/bin/bash
# expect.sh STATUS REGEX CMD [ARGS...]: runs CMD, shows its output, and
# passes only if CMD exits STATUS and its output (stdout + stderr) has a line
# matching the extended regular expression REGEX.
set -u
want=$1 re=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" >"$out" 2>&1
got=$?
cat "$out"
if [[ $got -ne $want ]]; then
	echo "expect.sh: expected exit $want, got $got" >&2
	exit 1
fi
if ! grep -Eq -- "$re" "$out"; then
	echo "expect.sh: no line matches /$re/" >&2
	exit 1
fi
echo "expect.sh: exit $got and /$re/ as expected"
