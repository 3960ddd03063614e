#!/usr/bin/env bash
# Installs the tools the TOTP end-to-end tests run: oathtool (computes codes independently of
# Vault), google-authenticator (libpam-google-authenticator: makes the ~/.google_authenticator
# file the README's import recipe reads; its PAM module is installed but never configured),
# qrencode (the enrolment recipe's QR code in the terminal) and curl (the import recipe talks
# to Vault with it). Idempotent: when everything is there it only checks. Needs root; runs
# with no stdin under CI. None of these packages starts a service.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export NEEDRESTART_SUSPEND=1

pkgs=(oathtool libpam-google-authenticator qrencode curl)

if [[ $(id -u) -ne 0 ]]; then
	echo "totp-deps.sh: must run as root (apt-get install)" >&2
	exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]} == 0)); then
	echo "totp-deps.sh: ${pkgs[*]} already installed"
	exit 0
fi

echo "totp-deps.sh: installing ${missing[*]}"
apt_opts=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
aptlog=$(mktemp)
trap 'rm -f "$aptlog"' EXIT
if ! { apt-get "${apt_opts[@]}" update && apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1 </dev/null; then
	cat "$aptlog" >&2
	echo "totp-deps.sh: apt-get failed" >&2
	exit 1
fi

for p in "${pkgs[@]}"; do
	installed "$p" || {
		echo "totp-deps.sh: $p is still not installed" >&2
		exit 1
	}
done
echo "totp-deps.sh: installed ${missing[*]}"
