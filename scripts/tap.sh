# Sourced by the dist tests (test-dist.sh, and test-dist-selinux.sh and
# test-dist-lifecycle.sh when run alone): their "ok/FAIL/skip - what" lines,
# the counts test-dist sums, and the checks built on them. VSH_ROOT is the
# checkout (version_line reads the product's reasons table there).
PASS=0 FAIL=0 SKIP=0
ok() { echo "ok   - $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $*"; FAIL=$((FAIL + 1)); }
skip() { echo "skip - $*"; SKIP=$((SKIP + 1)); }
# expect DESC WANT GOT
expect() {
	if [[ $2 == "$3" ]]; then ok "$1"; else
		bad "$1"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/       /' || true
	fi
}
# check DESC CMD...: passes when CMD succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
# version_line VERSION COMMIT: what -version prints, in the format pinned
# once, in the product's reasons table (testdata/reasons.json, main.version)
version_line() {
	local format
	format=$(sed -n 's/^  "main\.version": "\(.*\)",\{0,1\}$/\1/p' "$VSH_ROOT/testdata/reasons.json")
	[[ -n $format ]] || { echo "no main.version in $VSH_ROOT/testdata/reasons.json" >&2; return 1; }
	# shellcheck disable=SC2059 # the pinned text is the format
	printf "$format" "$1" "$2"
}
