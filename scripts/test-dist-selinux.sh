#!/usr/bin/env bash
# The SELinux policy module (packaging/selinux): it compiles, links into a
# real policy (Debian's selinux-policy-default, copied into a private policy
# store: the machine's own store is never touched), and in the kernel policy
# that results:
#  - sesearch shows exactly the rules pinned in
#    packaging/selinux/expected-rules.txt for the helper's domain and types
#    (allow rules from and to them, those the domain gets through base
#    attributes such as `domain` included; dontaudit and type_transition
#    rules) and no others;
#  - the file contexts (.fc) give the helper's paths their types (matchpathcon).
# Sourced by scripts/test-dist.sh (ok/bad/expect, $A and `expected` from it):
# then it also checks the vault-ssh-helper-selinux .rpm that `make dist`
# wrote into $A (files, scriptlets, the module inside equal to a fresh build,
# rpmlint). Run alone (bash scripts/test-dist-selinux.sh) it compiles the
# module itself and checks the policy only.
# VSH_SELINUX_UPDATE=1 rewrites expected-rules.txt from what sesearch shows:
# review the diff before committing it.
# Installs selinux-policy-dev, checkpolicy, semodule-utils,
# selinux-policy-default, policycoreutils, setools and selinux-utils when
# missing (scripts/selinux-deps.sh, root).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	cd "$(dirname "${BASH_SOURCE[0]}")/.."
	VSH_ROOT=$PWD
	# shellcheck source=scripts/tap.sh
	source scripts/tap.sh
	SEL_ALONE=1
else
	SEL_ALONE=0
fi

sel_main() {
	local d R P FC pp rpmf want got
	bash scripts/selinux-deps.sh --test || { bad "selinux: scripts/selinux-deps.sh --test failed"; return; }
	d=$(mktemp -d "${TMPDIR:-/tmp}/vsh-selinux.XXXXXX")
	# shellcheck disable=SC2064 # expand now: $d is local
	trap "rm -rf '$d'" RETURN

	# The module as dist.sh builds it (same flags).
	mkdir -p "$d/build"
	cp packaging/selinux/vault_ssh_helper.te packaging/selinux/vault_ssh_helper.fc packaging/selinux/vault_ssh_helper.if "$d/build/"
	if make -s -C "$d/build" -f /usr/share/selinux/devel/Makefile DISTRO=redhat CHECKMODULE="checkmodule -M -c 19" \
		vault_ssh_helper.pp >"$d/build.log" 2>&1; then
		ok "selinux: vault_ssh_helper.pp compiles (checkmodule, semodule_package)"
	else
		bad "selinux: vault_ssh_helper.pp does not compile"
		sed 's/^/       /' "$d/build.log"
		return
	fi
	pp=$d/build/vault_ssh_helper.pp
	expect "selinux: the .pp is module version 19 (RHEL 8's libsepol reads up to 19), MLS, named vault_ssh_helper" \
		"SE Linux modular policy version 1, 2 sections, mod version 19, MLS, module name vault_ssh_helper" \
		"$(file -b "$pp" | sed 's/\\0[0-9]*$//; s/[^[:print:]]*$//')"

	# A private copy of the real policy store, and the module linked into it.
	R=$d/root
	mkdir -p "$R/var/lib/selinux" "$R/etc/selinux"
	cp -a /var/lib/selinux/default "$R/var/lib/selinux/"
	cp -a /etc/selinux/default /etc/selinux/semanage.conf "$R/etc/selinux/"
	if semodule -p "$R" -s default -l | grep -qx vault_ssh_helper; then
		bad "selinux: the store copied from /var/lib/selinux/default already holds vault_ssh_helper"
		return
	fi
	if semodule -p "$R" -s default -i "$pp" >"$d/semodule.log" 2>&1 </dev/null; then
		ok "selinux: semodule links vault_ssh_helper.pp into a private copy of Debian's default policy"
	else
		bad "selinux: semodule could not link the module"
		sed 's/^/       /' "$d/semodule.log"
		return
	fi
	P=$(ls "$R"/etc/selinux/default/policy/policy.* 2>/dev/null | head -1)
	FC=$R/etc/selinux/default/contexts/files/file_contexts
	[[ -f $P && -f $FC ]] || { bad "selinux: semodule wrote no kernel policy or file_contexts"; return; }

	got=$(sel_rules "$P")
	if [[ ${VSH_SELINUX_UPDATE:-0} == 1 ]]; then
		printf '%s\n' "$got" >packaging/selinux/expected-rules.txt
		echo "selinux: wrote packaging/selinux/expected-rules.txt: review the diff"
	fi
	want=$(cat packaging/selinux/expected-rules.txt)
	expect "selinux: sesearch on the linked policy shows exactly packaging/selinux/expected-rules.txt" "$want" "$got"
	# The check above could pass on two empty lists.
	[[ $(grep -c '^allow vault_ssh_helper_t ' <<<"$got") -ge 20 ]] ||
		bad "selinux: sesearch found fewer than 20 allow rules for vault_ssh_helper_t: it read no policy"

	want="/usr/bin/vault-ssh-helper system_u:object_r:vault_ssh_helper_exec_t:s0
/usr/local/bin/vault-ssh-helper system_u:object_r:vault_ssh_helper_exec_t:s0
/etc/vault-ssh-helper.d system_u:object_r:vault_ssh_helper_conf_t:s0
/etc/vault-ssh-helper.d/config.hcl system_u:object_r:vault_ssh_helper_conf_t:s0
/etc/vault-ssh-helper.d/vault-ca.pem system_u:object_r:vault_ssh_helper_conf_t:s0
/etc/vault-ssh-helper.d/token system_u:object_r:vault_ssh_helper_secret_t:s0
/etc/vault-ssh-helper.d/role_id system_u:object_r:vault_ssh_helper_secret_t:s0
/etc/vault-ssh-helper.d/secret_id system_u:object_r:vault_ssh_helper_secret_t:s0
/var/lib/vault-ssh-helper system_u:object_r:vault_ssh_helper_var_lib_t:s0
/var/lib/vault-ssh-helper/alice system_u:object_r:vault_ssh_helper_var_lib_t:s0
/var/log/vault-ssh.log system_u:object_r:vault_ssh_helper_log_t:s0
/var/log/vault-ssh.log.1 system_u:object_r:vault_ssh_helper_log_t:s0
/etc/ssh/sshd_config system_u:object_r:etc_t:s0
/var/log/auth.log system_u:object_r:var_log_t:s0"
	got=$(while read -r p _; do matchpathcon -n -f "$FC" "$p" 2>&1 | sed "s|^|$p |"; done <<<"$want")
	expect "selinux: matchpathcon: the .fc labels the helper's files, and only them" "$want" "$got"

	((SEL_ALONE)) && return
	sel_rpm "$d" "$pp"
}

# sel_rules POLICY: every rule naming the helper's domain or types, sorted.
sel_rules() {
	local t
	{
		echo "# allow: the domain's own and those it gets through attributes"
		sesearch -A -s vault_ssh_helper_t "$1" | LC_ALL=C sort
		echo "# allow: others' rules on the domain and the helper's types"
		for t in vault_ssh_helper_t vault_ssh_helper_exec_t vault_ssh_helper_conf_t vault_ssh_helper_secret_t \
			vault_ssh_helper_var_lib_t vault_ssh_helper_log_t; do
			sesearch -A -t "$t" -dt "$1" | grep -v '^allow vault_ssh_helper_t '
		done | LC_ALL=C sort -u
		echo "# dontaudit"
		sesearch --dontaudit -s vault_ssh_helper_t "$1" | LC_ALL=C sort
		echo "# type_transition"
		for t in vault_ssh_helper_t vault_ssh_helper_log_t vault_ssh_helper_secret_t; do
			sesearch -T -D "$t" "$1"
		done | LC_ALL=C sort -u
		echo "# booleans"
		sesearch -A -b vault_ssh_helper_connect_https "$1" | LC_ALL=C sort
	} 2>&1
}

# sel_rpm DIR PP: the vault-ssh-helper-selinux .rpm of `make dist`.
sel_rpm() {
	local rpmf=vault-ssh-helper-selinux-${RPMV}.noarch.rpm
	expected+=("$rpmf")
	[[ -f $A/$rpmf ]] || { bad "selinux: $rpmf was not written"; return; }
	expect "selinux: $rpmf: files, modes, owners" \
		"drwxr-xr-x root:root  /usr/share/doc/vault-ssh-helper-selinux
-rw-r--r-- root:root d /usr/share/doc/vault-ssh-helper-selinux/README
drwxr-xr-x root:root  /usr/share/licenses/vault-ssh-helper-selinux
-rw-r--r-- root:root l /usr/share/licenses/vault-ssh-helper-selinux/LICENSE
-rw-r--r-- root:root  /usr/share/selinux/devel/include/contrib/vault_ssh_helper.if
-rw-r--r-- root:root  /usr/share/selinux/packages/vault_ssh_helper.pp" \
		"$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' "$A/$rpmf" 2>&1)"
	expect "selinux: $rpmf: name, version, noarch, build time, requires vault-ssh-helper" \
		"vault-ssh-helper-selinux $RPMV noarch $SDE|vault-ssh-helper" \
		"$(rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{BUILDTIME}|' "$A/$rpmf" 2>&1)$(rpm -qp --requires "$A/$rpmf" 2>&1 | grep -v '^rpmlib(' | paste -sd,)"
	check "selinux: $rpmf: the .pp inside is a fresh build's" \
		bash -c '[[ $(rpm -qp --qf "[%{FILEDIGESTS} %{FILENAMES}\n]" "$1" | awk "\$2 == \"/usr/share/selinux/packages/vault_ssh_helper.pp\" {print \$1}") == $(sha256sum <"$2" | cut -c1-64) ]]' _ "$A/$rpmf" "$2"
	expect "selinux: $rpmf: %post and %postun are packaging/selinux/post.sh and postun.sh" \
		"postinstall scriptlet (using /bin/sh):
$(cat packaging/selinux/post.sh)

postuninstall scriptlet (using /bin/sh):
$(cat packaging/selinux/postun.sh)" "$(rpm -qp --scripts "$A/$rpmf" 2>&1)"
	# The scriptlets where SELinux is off (as here): they do nothing and exit 0.
	check "selinux: %post and %postun exit 0 and print nothing where SELinux is off" \
		bash -c '[[ -z $(sh packaging/selinux/post.sh 1 2>&1) && -z $(sh packaging/selinux/postun.sh 0 2>&1) ]]'
	# A cpio that keeps rpmlint's unpacking in its own directory (see test-dist.sh).
	mkdir -p "$1/cpio-bin"
	printf '#!/bin/sh\nexec %q --no-absolute-filenames "$@"\n' "$(command -v cpio)" >"$1/cpio-bin/cpio"
	chmod 0755 "$1/cpio-bin/cpio"
	PATH="$1/cpio-bin:$PATH" rpmlint -c packaging/rpmlint.toml "$A/$rpmf" >"$1/rpmlint.out" 2>&1 </dev/null || true
	expect "selinux: rpmlint: no message on $rpmf but those filtered" "" "$(grep -E ': [EW]: ' "$1/rpmlint.out")"
}

sel_main
if ((SEL_ALONE)); then
	echo "test-dist-selinux: $PASS passed, $FAIL failed"
	((FAIL == 0))
fi
