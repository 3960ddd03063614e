#!/usr/bin/env bash
# Installs what builds and checks the SELinux policy module (packaging/selinux):
#   build (scripts/dist.sh): selinux-policy-dev (refpolicy's devel Makefile and
#     interfaces, /usr/share/selinux/devel), checkpolicy (checkmodule) and
#     semodule-utils (semodule_package);
#   check (scripts/test-dist-selinux.sh, with --test): selinux-policy-default
#     (the modules of a real policy, linked in a private store), policycoreutils
#     (semodule), setools (sesearch) and selinux-utils (matchpathcon).
# Installing them does not turn SELinux on: that takes a kernel booted with it
# (Debian's selinux-activate, which this does not run). Idempotent; needs root
# only when something is missing; reads no stdin.
set -euo pipefail
APT_WHO=selinux-deps.sh
# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

pkgs=(selinux-policy-dev checkpolicy semodule-utils)
[[ ${1:-} == --test ]] && pkgs+=(selinux-policy-default policycoreutils setools selinux-utils)
mapfile -t missing < <(apt_missing "${pkgs[@]}")
if ((${#missing[@]} == 0)); then
	exit 0
fi
apt_require_root
apt_forbid_service_starts
apt_install "${missing[@]}"
echo "selinux-deps.sh: installed ${missing[*]}"
