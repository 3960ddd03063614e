#!/usr/bin/env bash
# Installs what the sshd end-to-end tests need (openssh-server, openssh-client, sshpass,
# pamtester) without starting or enabling a system sshd. Idempotent: when everything is
# already installed it only checks and returns. Needs root; runs with no stdin under CI.
#
# How the system sshd is kept down:
#   - during the install a policy-rc.d that exits 101 ("action forbidden") is in place, so
#     invoke-rc.d / deb-systemd-invoke start nothing (one that already exists is left alone);
#   - if this run is the one that installed openssh-server, its units/init links are disabled
#     afterwards, so nothing starts it at the next boot either;
#   - TCP listeners on port 22 are compared before and after; a new one fails the script.
set -euo pipefail
APT_WHO=sshd-deps.sh
# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_require_root

pkgs=(openssh-server openssh-client sshpass pamtester)

listeners22() {
	# Local addresses listening on TCP port 22, one a line, sorted (empty when none).
	if command -v ss >/dev/null; then
		ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E ':22$' | sort || true
	else
		# /proc/net/tcp{,6}: local address column, state 0A = LISTEN, port 0016 = 22.
		awk 'NR>1 && $4=="0A" && $2 ~ /:0016$/ {print $2}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort || true
	fi
}

mapfile -t missing < <(apt_missing "${pkgs[@]}")
if ((${#missing[@]} == 0)); then
	echo "sshd-deps.sh: ${pkgs[*]} already installed"
	exit 0
fi

server_was_installed=no
apt_installed openssh-server && server_was_installed=yes
before=$(listeners22)

apt_forbid_service_starts
apt_install "${missing[@]}"
if [[ $server_was_installed == no ]]; then
	# Freshly installed by us: make sure no init system starts it later either.
	apt_disable_units ssh.service ssh.socket
fi

after=$(listeners22)
if [[ "$after" != "$before" ]]; then
	echo "sshd-deps.sh: something new listens on port 22 after the install:" >&2
	echo "$after" >&2
	exit 1
fi
echo "sshd-deps.sh: installed ${missing[*]}; no system sshd started"
