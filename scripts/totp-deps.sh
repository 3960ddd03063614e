#!/usr/bin/env bash
# Installs the tools the TOTP end-to-end tests run: oathtool (computes codes independently of
# Vault), google-authenticator (libpam-google-authenticator: makes the ~/.google_authenticator
# file the README's import recipe reads; its PAM module is installed but never configured),
# qrencode (the enrolment recipe's QR code in the terminal) and curl (the import recipe talks
# to Vault with it). Idempotent: when everything is there it only checks. Needs root; runs
# with no stdin under CI. None of these packages starts a service.
set -euo pipefail
APT_WHO=totp-deps.sh
# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_require_root

pkgs=(oathtool libpam-google-authenticator qrencode curl)
mapfile -t missing < <(apt_missing "${pkgs[@]}")
if ((${#missing[@]} == 0)); then
	echo "totp-deps.sh: ${pkgs[*]} already installed"
	exit 0
fi
apt_install "${missing[@]}"
echo "totp-deps.sh: installed ${missing[*]}"
