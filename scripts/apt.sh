# Sourced by the scripts that install the Debian packages a test layer needs
# (sshd-deps.sh, totp-deps.sh, syslog-deps.sh): one way to find what is
# missing, install it quietly, keep services from starting, and check the
# result. Each function names the calling script ($APT_WHO) in its messages.
# Needs root; never reads stdin.

export DEBIAN_FRONTEND=noninteractive
export NEEDRESTART_SUSPEND=1

apt_require_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "$APT_WHO: must run as root (apt-get install)" >&2
		exit 1
	fi
}

apt_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

# apt_missing PKG...: the packages of the list that are not installed, one a line.
apt_missing() {
	local p
	for p in "$@"; do apt_installed "$p" || echo "$p"; done
}

# apt_forbid_service_starts: until the script exits, a policy-rc.d that exits
# 101 ("action forbidden") keeps invoke-rc.d and deb-systemd-invoke from
# starting what a package installs. One that is already there is left alone.
apt_forbid_service_starts() {
	APT_POLICY=/usr/sbin/policy-rc.d
	if [[ -e $APT_POLICY ]]; then
		APT_POLICY=""
		return
	fi
	printf '#!/bin/sh\n# temporary, from vault-ssh-helper scripts/%s: start no service\nexit 101\n' "$APT_WHO" >"$APT_POLICY"
	chmod 0755 "$APT_POLICY"
}

# apt_install PKG...: apt-get update and install, the output shown only when
# it fails; then every package must be installed.
apt_install() {
	local log p
	local opts=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	log=$(mktemp)
	APT_LOG=$log
	echo "$APT_WHO: installing $*"
	if ! { apt-get "${opts[@]}" update && apt-get "${opts[@]}" install --no-install-recommends "$@"; } >"$log" 2>&1 </dev/null; then
		cat "$log" >&2
		echo "$APT_WHO: apt-get failed" >&2
		exit 1
	fi
	for p in "$@"; do
		apt_installed "$p" || {
			echo "$APT_WHO: $p is still not installed" >&2
			exit 1
		}
	done
}

apt_cleanup() {
	[[ -n ${APT_POLICY:-} ]] && rm -f "$APT_POLICY"
	[[ -n ${APT_LOG:-} ]] && rm -f "$APT_LOG"
	return 0
}
trap 'apt_cleanup' EXIT

# apt_disable_units UNIT...: no init system starts these at the next boot
# (systemd units, and the SysV script of the same name without a suffix).
apt_disable_units() {
	local u
	for u in "$@"; do
		if command -v deb-systemd-helper >/dev/null; then
			deb-systemd-helper disable "$u" >/dev/null 2>&1 || true
		fi
		if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
			systemctl disable "$u" >/dev/null 2>&1 || true
		fi
		if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/${u%.*} ]]; then
			update-rc.d "${u%.*}" disable >/dev/null 2>&1 || true
		fi
	done
}
