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

export DEBIAN_FRONTEND=noninteractive
export NEEDRESTART_SUSPEND=1

pkgs=(openssh-server openssh-client sshpass pamtester)

if [[ $(id -u) -ne 0 ]]; then
	echo "sshd-deps.sh: must run as root (apt-get install)" >&2
	exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

listeners22() {
	# Local addresses listening on TCP port 22, one a line, sorted (empty when none).
	if command -v ss >/dev/null; then
		ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E ':22$' | sort || true
	else
		# /proc/net/tcp{,6}: local address column, state 0A = LISTEN, port 0016 = 22.
		awk 'NR>1 && $4=="0A" && $2 ~ /:0016$/ {print $2}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort || true
	fi
}

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]} == 0)); then
	echo "sshd-deps.sh: ${pkgs[*]} already installed"
	exit 0
fi

server_was_installed=no
installed openssh-server && server_was_installed=yes
before=$(listeners22)

policy=/usr/sbin/policy-rc.d
our_policy=no
cleanup() {
	if [[ $our_policy == yes ]]; then rm -f "$policy"; fi
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# temporary, from vault-ssh-helper scripts/sshd-deps.sh: start no service\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	our_policy=yes
fi

echo "sshd-deps.sh: installing ${missing[*]}"
apt_opts=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
aptlog=$(mktemp)
trap 'cleanup; rm -f "$aptlog"' EXIT
if ! { apt-get "${apt_opts[@]}" update && apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1 </dev/null; then
	cat "$aptlog" >&2
	echo "sshd-deps.sh: apt-get failed" >&2
	exit 1
fi

if [[ $server_was_installed == no ]]; then
	# Freshly installed by us: make sure no init system starts it later either.
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper disable ssh.service ssh.socket >/dev/null 2>&1 || true
	fi
	if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
		systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || true
	fi
	if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/ssh ]]; then
		update-rc.d ssh disable >/dev/null 2>&1 || true
	fi
fi

for p in "${pkgs[@]}"; do
	installed "$p" || {
		echo "sshd-deps.sh: $p is still not installed" >&2
		exit 1
	}
done

after=$(listeners22)
if [[ "$after" != "$before" ]]; then
	echo "sshd-deps.sh: something new listens on port 22 after the install:" >&2
	echo "$after" >&2
	exit 1
fi
echo "sshd-deps.sh: installed ${missing[*]}; no system sshd started"
