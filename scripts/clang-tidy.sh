#!/bin/bash
# clang-tidy (.clang-tidy at the root) over every project C++ file in the
# given CMake build trees' compile databases; /usr/src/googletest and other
# outside sources are skipped. A file in several databases (libedu, the tools)
# is checked once, with the first database that has it. One line on success;
# the findings and a non-zero status otherwise.
#
#   scripts/clang-tidy.sh [-j N] BUILD_DIR...
#   e.g. scripts/clang-tidy.sh -j2 build/host build/guest-x86_64
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=2
if [[ ${1:-} == -j* ]]; then
	jobs=${1#-j}
	[[ -n $jobs ]] || {
		jobs=$2
		shift
	}
	shift
fi
(($# > 0)) || {
	echo "usage: $0 [-j N] BUILD_DIR..." >&2
	exit 2
}
for b in "$@"; do
	[[ -f $b/compile_commands.json ]] || {
		echo "clang-tidy: $b/compile_commands.json missing (configure that tree first)" >&2
		exit 2
	}
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# "<build dir> <source>" per line, project sources only, first database wins.
python3 - "$root" "$@" >"$out/files" <<'EOF'
import json, os, sys
root, builds = sys.argv[1], sys.argv[2:]
dirs = ("lab", "lib", "tools", "examples", "tests")
seen = set()
for b in builds:
    for e in json.load(open(os.path.join(b, "compile_commands.json"))):
        f = os.path.normpath(os.path.join(e["directory"], e["file"]))
        rel = os.path.relpath(f, root)
        if rel.split(os.sep)[0] in dirs and f.endswith(".cpp") and f not in seen:
            seen.add(f)
            print(os.path.abspath(b), f)
EOF

start=$SECONDS
status=0
# shellcheck disable=SC2016  # $0/$1/$2 belong to the inner shell
xargs -P "$jobs" -L 1 sh -c \
	'clang-tidy --quiet -p "$1" "$2" >"$0/$(echo "$2" | tr / _).log" 2>&1 || echo "$2" >>"$0/failed"' \
	"$out" <"$out/files" || status=$?

n=$(wc -l <"$out/files")
if [[ -s $out/failed ]] || ((status != 0)); then
	# Drop clang-tidy's own summary lines; keep the findings with their context.
	sort "$out/failed" 2>/dev/null | while read -r f; do
		grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' \
			"$out/$(echo "$f" | tr / _).log" || true
	done
	echo "c++: clang-tidy found problems in $(sort -u "$out/failed" 2>/dev/null | wc -l) of $n files" >&2
	exit 1
fi
echo "c++: clang-tidy clean ($n files, $((SECONDS - start))s)"
