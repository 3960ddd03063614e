#!/usr/bin/env bash
# Real Vault tests: bin/vault-ssh-helper against Vault v1.14.0 (MPL-2.0) started inside the
# tests of the separate Go module e2e/ (harness: e2e/vaulttest).
# Runs every package of that module. Vault comes from the Go module proxy; the module cache
# and the Go build cache keep it, so only the first run downloads (~470 MB of zips) and compiles
# it (4-5 min with the tests, on 2 cores); later runs only link the test binaries (15-30 s).
# Run from anywhere after `make`. VSH_BIN overrides the binary under test;
# TEST_VAULT_FLAGS adds go test flags (e.g. "-run Standby -v").
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
	export PATH=$PATH:/usr/local/go/bin
fi
if ! command -v go >/dev/null 2>&1; then
	echo "test-vault.sh: go is not installed (need the version in e2e/go.mod)" >&2
	exit 1
fi

# The helper refuses trusted files under a directory others can write (/tmp): the tests keep
# theirs under a TMPDIR whose whole path it trusts.
TMPDIR=$(bash scripts/test-tmpdir.sh)
export TMPDIR

export VSH_BIN=${VSH_BIN:-$root/bin/vault-ssh-helper}
if [[ ! -x $VSH_BIN ]]; then
	echo "test-vault.sh: $VSH_BIN is missing; run make first" >&2
	exit 1
fi

# The TOTP tests run oathtool, google-authenticator, qrencode and curl. As root (and so under
# CI) they are installed first and a missing one fails the tests; otherwise those tests skip
# and say what to install.
if [[ $(id -u) -eq 0 ]]; then
	bash scripts/totp-deps.sh </dev/null
else
	echo "test-vault.sh: not root: the TOTP tests that need oathtool, google-authenticator, qrencode or curl skip when these are missing (install: sudo bash scripts/totp-deps.sh)"
fi

# One fixed build configuration, so the build cache entry for Vault is reused run after run
# (the Makefile exports CGO_ENABLED=0 too; no C compiler is needed).
export CGO_ENABLED=0

cd e2e
start=$SECONDS
# shellcheck disable=SC2086 # TEST_VAULT_FLAGS is a list of flags
# The ./sshd package is scripts/test-sshd.sh's: it needs root and its own packages.
mapfile -t pkgs < <(go list ./... | grep -v '/sshd$')
go test -count=1 -timeout 20m ${TEST_VAULT_FLAGS:-} "${pkgs[@]}" </dev/null
echo "test-vault.sh: passed in $((SECONDS - start)) s"
