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

# "<build dir> <source> <key>" per line, project sources only, first
# database wins. A file found clean is not checked again while its key
# holds: its text, its compile command (the clone's path taken out), every
# project header, the .clang-tidy files and the clang-tidy version. A full
# run takes ~10 min on 2 cores; a CI clone of checked code takes seconds.
python3 - "$root" "$(clang-tidy --version)" "$@" >"$out/files" <<'EOF'
import glob, hashlib, json, os, sys
root, version, builds = sys.argv[1], sys.argv[2], sys.argv[3:]
dirs = ("lab", "lib", "tools", "examples", "tests")
common = hashlib.sha256(version.encode())
for d in dirs + ("include",):
    for f in sorted(glob.glob(os.path.join(root, d, "**", "*"), recursive=True)):
        if f.endswith((".hpp", ".h")) or os.path.basename(f) == ".clang-tidy":
            common.update(os.path.relpath(f, root).encode())
            common.update(open(f, "rb").read())
common.update(open(os.path.join(root, ".clang-tidy"), "rb").read())
seen = set()
for b in builds:
    for e in json.load(open(os.path.join(b, "compile_commands.json"))):
        f = os.path.normpath(os.path.join(e["directory"], e["file"]))
        rel = os.path.relpath(f, root)
        if rel.split(os.sep)[0] in dirs and f.endswith(".cpp") and f not in seen:
            seen.add(f)
            key = common.copy()
            key.update(rel.encode())
            key.update(open(f, "rb").read())
            cmd = e.get("command") or " ".join(e.get("arguments", []))
            key.update(cmd.replace(root, "@").encode())
            print(os.path.abspath(b), f, key.hexdigest()[:32])
EOF

cache=${EDULAB_CACHE:-$HOME/.cache/edulab}/clang-tidy
mkdir -p "$cache"
start=$SECONDS
status=0
# shellcheck disable=SC2016  # $0..$4 belong to the inner shell: cache, out, build, source, key
xargs -P "$jobs" -L 1 sh -c '
	[ -e "$0/$4" ] && exit 0
	if clang-tidy --quiet -p "$2" "$3" >"$1/$(echo "$3" | tr / _).log" 2>&1; then
		touch "$0/$4"
	else
		echo "$3" >>"$1/failed"
	fi' "$cache" "$out" <"$out/files" || status=$?
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
