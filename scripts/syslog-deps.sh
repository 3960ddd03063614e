#!/usr/bin/env bash
# Installs rsyslog, the real syslog daemon the syslog tests (syslog_test.go) start on a
# private socket, and fail2ban, whose fail2ban-regex checks the README's filter against what
# that rsyslog wrote, without starting or enabling either service: a system rsyslog would
# take /dev/log and write /var/log, a fail2ban would ban addresses, on a machine that never
# asked for it. Idempotent: when both are installed it only checks. Needs root; runs with no
# stdin under CI.
#
# How the system rsyslog is kept down:
#   - during the install a policy-rc.d that exits 101 ("action forbidden") is in place, so
#     invoke-rc.d / deb-systemd-invoke start nothing (one that already exists is left alone);
#   - the services of the packages this run installed are disabled afterwards, so nothing
#     starts them at the next boot either.
set -euo pipefail
APT_WHO=syslog-deps.sh
# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_require_root

pkgs=(rsyslog fail2ban)
mapfile -t missing < <(apt_missing "${pkgs[@]}")
if ((${#missing[@]} == 0)); then
	echo "syslog-deps.sh: ${pkgs[*]} already installed"
	exit 0
fi

apt_forbid_service_starts
apt_install "${missing[@]}"
# Freshly installed by us: no init system starts them later either.
for p in "${missing[@]}"; do apt_disable_units "$p.service"; done
echo "syslog-deps.sh: installed ${missing[*]}; no service started"
