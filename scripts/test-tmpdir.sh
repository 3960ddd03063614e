#!/usr/bin/env bash
# Prints a directory for the tests' TMPDIR. The helper refuses a config, CA or key file when
# any directory on its path can be written by group or others (sticky bit or not) or belongs
# to a user other than root or the one running it, so the tests cannot keep their files
# under /tmp. This prints $TMPDIR when its whole path passes that rule, otherwise
# ${XDG_CACHE_HOME:-$HOME/.cache}/vault-ssh-helper-test (made mode 0700), and fails with the
# offending directory when neither passes.
# Use: export TMPDIR=$(bash scripts/test-tmpdir.sh)   (the Makefile and test scripts do)
set -euo pipefail

euid=$(id -u)

# why_unsafe DIR: prints what makes DIR, or a directory above it, unsafe; nothing when safe.
# The same rule as config/trusted.go, after resolving links as the helper does.
why_unsafe() {
	local d uid mode
	d=$(realpath -e -- "$1" 2>/dev/null) || { echo "$1 does not exist"; return; }
	while :; do
		read -r uid mode < <(stat -c '%u %a' -- "$d")
		if (((8#$mode & 8#022) != 0)); then
			echo "directory $d is writable by group or others (mode $mode)"
			return
		fi
		if [[ $uid != 0 && $uid != "$euid" ]]; then
			echo "directory $d is owned by uid $uid, not by root or uid $euid"
			return
		fi
		[[ $d == / ]] && return
		d=$(dirname -- "$d")
	done
}

if [[ -n ${TMPDIR:-} && -d $TMPDIR && -z $(why_unsafe "$TMPDIR") ]]; then
	realpath -e -- "$TMPDIR"
	exit 0
fi

cache=${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}
dir=$cache/vault-ssh-helper-test
refuse() {
	echo "test-tmpdir.sh: the tests need a TMPDIR whose every directory is owned by root (or uid $euid)" >&2
	echo "and not writable by group or others; ${TMPDIR:-/tmp} is not, nor is $dir: $1." >&2
	echo "Set TMPDIR (or XDG_CACHE_HOME) to such a directory." >&2
	exit 1
}
# Check what exists before making anything, so nothing is left in an unsafe place.
existing=$dir
while [[ ! -e $existing ]]; do existing=$(dirname -- "$existing"); done
why=$(why_unsafe "$existing")
[[ -z $why ]] || refuse "$why"
# umask 077: the directories made here must not be group- or other-writable themselves.
(umask 077 && mkdir -p -- "$dir") || refuse "it cannot be created"
chmod 0700 -- "$dir"
why=$(why_unsafe "$dir")
[[ -z $why ]] || refuse "$why"
realpath -e -- "$dir"
