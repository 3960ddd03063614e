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

export DEBIAN_FRONTEND=noninteractive
export NEEDRESTART_SUSPEND=1

pkgs=(rsyslog fail2ban)

if [[ $(id -u) -ne 0 ]]; then
	echo "syslog-deps.sh: must run as root (apt-get install)" >&2
	exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]} == 0)); then
	echo "syslog-deps.sh: ${pkgs[*]} already installed"
	exit 0
fi

policy=/usr/sbin/policy-rc.d
our_policy=no
aptlog=$(mktemp)
cleanup() {
	if [[ $our_policy == yes ]]; then rm -f "$policy"; fi
	rm -f "$aptlog"
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# temporary, from vault-ssh-helper scripts/syslog-deps.sh: start no service\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	our_policy=yes
fi

echo "syslog-deps.sh: installing ${missing[*]}"
apt_opts=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
if ! { apt-get "${apt_opts[@]}" update && apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1 </dev/null; then
	cat "$aptlog" >&2
	echo "syslog-deps.sh: apt-get failed" >&2
	exit 1
fi

# Freshly installed by us: no init system starts them later either.
for p in "${missing[@]}"; do
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper disable "$p.service" >/dev/null 2>&1 || true
	fi
	if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
		systemctl disable "$p.service" >/dev/null 2>&1 || true
	fi
	if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/$p ]]; then
		update-rc.d "$p" disable >/dev/null 2>&1 || true
	fi
done

for p in "${pkgs[@]}"; do
	installed "$p" || {
		echo "syslog-deps.sh: $p is still not installed" >&2
		exit 1
	}
done
echo "syslog-deps.sh: installed ${missing[*]}; no service started"
