#!/usr/bin/env bash
# Real ssh client -> private sshd -> PAM -> pam_exec -> bin/vault-ssh-helper -> real Vault.
# Root only: the tests add a user and a file under /etc/pam.d and run sshd, and remove all of
# it when they end. As root this installs the packages first (scripts/sshd-deps.sh and
# scripts/totp-deps.sh), so under CI a missing package fails instead of skipping. Run from the
# repo root after `make`.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

if [[ $(id -u) -ne 0 ]]; then
	echo "test-sshd.sh: SKIP: the sshd end-to-end tests need root (useradd, /etc/pam.d, sshd); run as root or via sudo"
	exit 0
fi

bash scripts/sshd-deps.sh </dev/null
bash scripts/totp-deps.sh </dev/null

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
	export PATH=$PATH:/usr/local/go/bin
fi

# The helper refuses trusted files under a directory others can write (/tmp): the tests keep
# theirs under a TMPDIR whose whole path it trusts.
TMPDIR=$(bash scripts/test-tmpdir.sh)
export TMPDIR

export VSH_BIN=${VSH_BIN:-$root/bin/vault-ssh-helper}
if [[ ! -x $VSH_BIN ]]; then
	echo "test-sshd.sh: $VSH_BIN is missing; run make first" >&2
	exit 1
fi

cd e2e
# -bench with one iteration keeps BenchmarkLogin working (scripts/bench-sshd.sh gives figures).
go test -count=1 -timeout 20m -bench . -benchtime 1x ${TEST_SSHD_FLAGS:-} ./sshd/ </dev/null
