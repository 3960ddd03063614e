#!/usr/bin/env bash
# Package life: install, upgrade and remove the amd64 .deb and .rpm as root,
# each in a private root (dpkg --root, rpm --root --dbpath), so the machine's
# own package databases and / are never touched (checked at the end).
#
# Three builds of `make dist`, oldest first:
#   OLD    1.2.3-rc.1 (1.2.3~rc.1-1): test-dist.sh's first build, reused
#   NEW    1.2.3 (1.2.3-1), from this tree: the same example config.hcl
#   NEWER  1.2.4 (1.2.4-1), from a copy of this tree whose packaging/config.hcl
#          has one line more: an upgrade that ships a changed example config
# and, each in a fresh private root:
#   - install OLD: the installed tree (every path, mode, owner), state_dir
#     /var/lib/vault-ssh-helper 0700 root:root, config.hcl a conffile;
#   - the operator edits config.hcl, adds a role_id beside it and a state
#     file in state_dir; upgrade to NEW: the edited config stays (no prompt,
#     no .dpkg-*/.rpmnew: the shipped config did not change), state_dir keeps
#     its mode and the state file, -version names NEW;
#   - remove: dpkg -r keeps the edited config, dpkg -P deletes it; rpm -e
#     keeps it as config.hcl.rpmsave; files the package did not install
#     (role_id, the state file) stay in every case: the exact tree left is pinned;
#   - NEW with an edited config, upgraded to NEWER: dpkg -i with no terminal
#     stops at the conffile prompt (the package stays "unpacked", the new
#     example waits as config.hcl.dpkg-new), --force-confold keeps the edit
#     (new example as .dpkg-dist; dpkg -i --force-confdef --force-confold, the
#     README's line for scripts, does the same without stopping),
#     --force-confnew takes the new one (the edit as .dpkg-old); rpm -U keeps
#     the edit and writes config.hcl.rpmnew;
#   - NEW unedited, upgraded to NEWER: the new example replaces it silently,
#     and removing the package then leaves nothing (rpm: nothing but the
#     empty directories it made and does not own).
# The packages have no maintainer scripts and no scriptlets (test-dist.sh
# pins that), so a private root runs everything dpkg and rpm do for them
# but host triggers (man-db's, which test-dist.sh's install on the real
# system runs).
#
# Run by test-dist.sh, which sources it with one line:
#   source scripts/test-dist-lifecycle.sh "$A"
# (A = its first build's DIST_DIR); the checks then count in its totals.
# Alone, as root: `bash scripts/test-dist-lifecycle.sh` builds OLD too.
# Needs dpkg and rpm (installs rpm with apt-get when run alone).

# lc_tree ROOT: every path under ROOT but the package databases, with its
# mode and owner, one a line, sorted.
lc_tree() {
	(cd "$1" && find . -path ./var/lib/dpkg -prune -o -path ./var/lib/rpm -prune -o -path . -o \
		-printf '%M %u:%g /%P\n' | LC_ALL=C sort -k3)
}
lc_hash() { sha256sum <"$1" | cut -c1-64; }
# lc_leftovers ROOT: the conffile copies dpkg and rpm write beside config.hcl
lc_leftovers() {
	(cd "$1/etc/vault-ssh-helper.d" 2>/dev/null && ls -A | grep -E '^config\.hcl\.' | paste -sd' ') || true
}
lc_deb_root() { # DIR: an empty private root with an empty dpkg database
	rm -rf "$1"
	mkdir -p "$1/var/lib/dpkg/info" "$1/var/lib/dpkg/updates"
	: >"$1/var/lib/dpkg/status"
	: >"$1/var/lib/dpkg/available"
}
lc_rpm_root() { # DIR: an empty private root with an empty rpm database
	rm -rf "$1"
	mkdir -p "$1"
	rpm --root="$1" --dbpath=/var/lib/rpm --initdb
}
lc_dpkg() { dpkg --root="$LC_R" "$@" </dev/null >>"$LC_LOG" 2>&1; }
lc_rpm() { rpm --root="$LC_R" --dbpath=/var/lib/rpm "$@" </dev/null >>"$LC_LOG" 2>&1; }
lc_deb_status() { dpkg-query --root="$LC_R" -W -f='${Status} ${Version}' vault-ssh-helper 2>/dev/null || true; }
lc_rpm_status() { rpm --root="$LC_R" --dbpath=/var/lib/rpm -q vault-ssh-helper 2>/dev/null || true; }
# lc_step DESC CMD...: a package operation that must succeed; its log when not
lc_step() {
	local d=$1; shift
	: >"$LC_LOG"
	if "$@"; then ok "$d"; else
		bad "$d"
		sed 's/^/       /' "$LC_LOG"
	fi
}
lc_version() { "$LC_R/usr/bin/vault-ssh-helper" -version 2>&1 || true; }

# lc_operator_edits: what an operator does after installing: edits the
# config, adds AppRole files beside it (as the README shows) and the TOTP mode
# leaves a failed-code count in state_dir. Sets LC_EDITED, LC_ROLE, LC_STATE.
lc_operator_edits() {
	echo '# edited by the operator' >>"$LC_R/etc/vault-ssh-helper.d/config.hcl"
	echo 'not-a-real-role-id' >"$LC_R/etc/vault-ssh-helper.d/role_id"
	chmod 0600 "$LC_R/etc/vault-ssh-helper.d/role_id"
	echo 'count 2' >"$LC_R/var/lib/vault-ssh-helper/alice"
	chmod 0600 "$LC_R/var/lib/vault-ssh-helper/alice"
	LC_EDITED=$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl")
	LC_ROLE="$(stat -c '%a %U:%G' "$LC_R/etc/vault-ssh-helper.d/role_id") $(lc_hash "$LC_R/etc/vault-ssh-helper.d/role_id")"
	LC_STATE="$(stat -c '%a %U:%G' "$LC_R/var/lib/vault-ssh-helper/alice") $(lc_hash "$LC_R/var/lib/vault-ssh-helper/alice")"
}
# lc_operator_files_kept WHEN: the role_id, the state file and state_dir's mode
lc_operator_files_kept() {
	expect "$1: state_dir still 700 root:root" "700 root:root" "$(stat -c '%a %U:%G' "$LC_R/var/lib/vault-ssh-helper" 2>&1)"
	expect "$1: the state file in state_dir kept (mode, content)" "$LC_STATE" \
		"$(stat -c '%a %U:%G' "$LC_R/var/lib/vault-ssh-helper/alice" 2>&1) $(lc_hash "$LC_R/var/lib/vault-ssh-helper/alice" 2>&1)"
	expect "$1: the role_id beside the config kept (mode, content)" "$LC_ROLE" \
		"$(stat -c '%a %U:%G' "$LC_R/etc/vault-ssh-helper.d/role_id" 2>&1) $(lc_hash "$LC_R/etc/vault-ssh-helper.d/role_id" 2>&1)"
}

# What is left of the package once it is gone: the operator's own files and
# the directories holding them.
LC_LEFT_OPERATOR_FILES="drwxr-xr-x root:root /etc
drwxr-xr-x root:root /etc/vault-ssh-helper.d
-rw------- root:root /etc/vault-ssh-helper.d/role_id
drwxr-xr-x root:root /var
drwxr-xr-x root:root /var/lib
drwx------ root:root /var/lib/vault-ssh-helper
-rw------- root:root /var/lib/vault-ssh-helper/alice"

lc_deb_life() { # OLD NEW NEWER (.deb files)
	local old=$1 new=$2 newer=$3 p=deb
	local want_tree="drwxr-xr-x root:root /etc
drwxr-xr-x root:root /etc/vault-ssh-helper.d
-rw-r----- root:root /etc/vault-ssh-helper.d/config.hcl
drwxr-xr-x root:root /usr
drwxr-xr-x root:root /usr/bin
-rwxr-xr-x root:root /usr/bin/vault-ssh-helper
drwxr-xr-x root:root /usr/share
drwxr-xr-x root:root /usr/share/doc
drwxr-xr-x root:root /usr/share/doc/vault-ssh-helper
-rw-r--r-- root:root /usr/share/doc/vault-ssh-helper/README.md
-rw-r--r-- root:root /usr/share/doc/vault-ssh-helper/changelog.Debian.gz
-rw-r--r-- root:root /usr/share/doc/vault-ssh-helper/copyright
drwxr-xr-x root:root /usr/share/lintian
drwxr-xr-x root:root /usr/share/lintian/overrides
-rw-r--r-- root:root /usr/share/lintian/overrides/vault-ssh-helper
drwxr-xr-x root:root /usr/share/man
drwxr-xr-x root:root /usr/share/man/man8
-rw-r--r-- root:root /usr/share/man/man8/vault-ssh-helper.8.gz
drwxr-xr-x root:root /var
drwxr-xr-x root:root /var/lib
drwx------ root:root /var/lib/vault-ssh-helper"
	local shipped newer_shipped
	shipped=$(dpkg-deb --fsys-tarfile "$new" | tar -xOf - ./etc/vault-ssh-helper.d/config.hcl | sha256sum | cut -c1-64) || true
	newer_shipped=$(dpkg-deb --fsys-tarfile "$newer" | tar -xOf - ./etc/vault-ssh-helper.d/config.hcl | sha256sum | cut -c1-64) || true

	# 1. install OLD, edit, upgrade to NEW (same example config), remove, purge
	LC_R=$LC_W/deb1
	lc_deb_root "$LC_R" || bad "$p: could not make an empty private root in $LC_R"
	lc_step "$p: dpkg --root -i $LC_OLD_DEBV installs" lc_dpkg -i "$old"
	expect "$p: installed: status, version" "install ok installed $LC_OLD_DEBV" "$(lc_deb_status)"
	expect "$p: installed tree: every path, mode, owner (state_dir 0700 root:root)" "$want_tree" "$(lc_tree "$LC_R")"
	expect "$p: config.hcl is the package's one conffile" \
		" /etc/vault-ssh-helper.d/config.hcl $(dpkg-deb --fsys-tarfile "$old" | tar -xOf - ./etc/vault-ssh-helper.d/config.hcl | md5sum | cut -c1-32)" \
		"$(dpkg-query --root="$LC_R" -W -f='${Conffiles}' vault-ssh-helper 2>&1)"
	expect "$p: installed binary: -version names $LC_OLD" "$(version_line "$LC_OLD" "$LC_C")" "$(lc_version)"
	lc_operator_edits || bad "$p: could not make the operator's edits"
	lc_step "$p: dpkg -i $LC_NEW_DEBV over $LC_OLD_DEBV with an edited config: upgrades, no prompt" lc_dpkg -i "$new"
	expect "$p: upgraded: status, version" "install ok installed $LC_NEW_DEBV" "$(lc_deb_status)"
	expect "$p: upgraded binary: -version names $LC_NEW" "$(version_line "$LC_NEW" "$LC_C")" "$(lc_version)"
	expect "$p: upgrade (same example config): the edited config.hcl kept" "$LC_EDITED" "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl")"
	expect "$p: upgrade (same example config): no config.hcl.dpkg-* left beside it" "" "$(lc_leftovers "$LC_R")"
	expect "$p: upgrade: config.hcl still 640 root:root" "640 root:root" "$(stat -c '%a %U:%G' "$LC_R/etc/vault-ssh-helper.d/config.hcl")"
	lc_operator_files_kept "$p: upgrade"
	lc_step "$p: dpkg -r removes it" lc_dpkg -r vault-ssh-helper
	expect "$p: removed: status" "deinstall ok config-files $LC_NEW_DEBV" "$(lc_deb_status)"
	expect "$p: dpkg -r: the edited config.hcl kept" "$LC_EDITED" "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl" 2>&1)"
	expect "$p: dpkg -r leaves the edited config and the operator's files, nothing else" \
		"$(LC_ALL=C sort -k3 <<<"$LC_LEFT_OPERATOR_FILES
-rw-r----- root:root /etc/vault-ssh-helper.d/config.hcl")" "$(lc_tree "$LC_R")"
	lc_step "$p: dpkg -P purges it" lc_dpkg -P vault-ssh-helper
	expect "$p: purged: dpkg no longer knows it" "" "$(lc_deb_status | grep -v ' not-installed' || true)"
	expect "$p: dpkg -P deletes config.hcl; the operator's role_id and state file stay" \
		"$LC_LEFT_OPERATOR_FILES" "$(lc_tree "$LC_R")"
	check "$p: dpkg -P warns that it left the non-empty directories" \
		grep -qF "directory '/etc/vault-ssh-helper.d' not empty so not removed" "$LC_LOG"

	# 2. NEW with an edited config, upgraded to NEWER, whose example config changed
	check "$p: NEWER's example config.hcl differs from NEW's (so the upgrades below change a conffile)" \
		test "$shipped" != "$newer_shipped"
	LC_R=$LC_W/deb2
	lc_deb_root "$LC_R" || bad "$p: could not make an empty private root in $LC_R"
	lc_step "$p: install $LC_NEW_DEBV" lc_dpkg -i "$new"
	lc_operator_edits || bad "$p: could not make the operator's edits"
	: >"$LC_LOG"
	if timeout 120 dpkg --root="$LC_R" -i "$newer" </dev/null >>"$LC_LOG" 2>&1; then
		bad "$p: dpkg -i $LC_NEWER_DEBV with no terminal, edited config, changed example: succeeded, want the conffile prompt to fail it"
	else
		ok "$p: dpkg -i $LC_NEWER_DEBV with no terminal, edited config, changed example: fails at the conffile prompt"
	fi
	check "$p: dpkg says why: end of file on stdin at conffile prompt" grep -qF "end of file on stdin at conffile prompt" "$LC_LOG"
	expect "$p: after the failed prompt: unpacked, not configured" "install ok unpacked $LC_NEWER_DEBV" "$(lc_deb_status)"
	expect "$p: after the failed prompt: the binary is already $LC_NEWER" "$(version_line "$LC_NEWER" "$LC_C")" "$(lc_version)"
	expect "$p: after the failed prompt: the edited config.hcl kept" "$LC_EDITED" "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl")"
	expect "$p: after the failed prompt: the new example waits as config.hcl.dpkg-new" \
		"config.hcl.dpkg-new $newer_shipped" \
		"$(lc_leftovers "$LC_R") $(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl.dpkg-new" 2>&1)"
	lc_step "$p: dpkg --configure -a --force-confdef --force-confold finishes it" \
		lc_dpkg --configure -a --force-confdef --force-confold
	expect "$p: --force-confold: installed $LC_NEWER_DEBV" "install ok installed $LC_NEWER_DEBV" "$(lc_deb_status)"
	expect "$p: --force-confold: the edited config.hcl kept" "$LC_EDITED" "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl")"
	expect "$p: --force-confold: the new example beside it as config.hcl.dpkg-dist" \
		"config.hcl.dpkg-dist $newer_shipped" \
		"$(lc_leftovers "$LC_R") $(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl.dpkg-dist" 2>&1)"
	lc_operator_files_kept "$p: upgrade to a changed example"

	# The README's line for scripts: keep the edit without stopping
	LC_R=$LC_W/deb5
	lc_deb_root "$LC_R" || bad "$p: could not make an empty private root in $LC_R"
	lc_step "$p: install $LC_NEW_DEBV" lc_dpkg -i "$new"
	lc_operator_edits || bad "$p: could not make the operator's edits"
	lc_step "$p: dpkg -i --force-confdef --force-confold $LC_NEWER_DEBV over an edited config: no prompt" \
		lc_dpkg -i --force-confdef --force-confold "$newer"
	expect "$p: --force-confdef --force-confold: installed $LC_NEWER_DEBV" "install ok installed $LC_NEWER_DEBV" "$(lc_deb_status)"
	expect "$p: --force-confdef --force-confold: the edit kept, the new example as config.hcl.dpkg-dist" \
		"$LC_EDITED config.hcl.dpkg-dist $newer_shipped" \
		"$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl") $(lc_leftovers "$LC_R") $(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl.dpkg-dist" 2>&1)"

	LC_R=$LC_W/deb3
	lc_deb_root "$LC_R" || bad "$p: could not make an empty private root in $LC_R"
	lc_step "$p: install $LC_NEW_DEBV" lc_dpkg -i "$new"
	lc_operator_edits || bad "$p: could not make the operator's edits"
	lc_step "$p: dpkg -i --force-confnew $LC_NEWER_DEBV over an edited config" lc_dpkg -i --force-confnew "$newer"
	expect "$p: --force-confnew: config.hcl is the new example" "$newer_shipped" "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl")"
	expect "$p: --force-confnew: the edited config kept as config.hcl.dpkg-old" \
		"config.hcl.dpkg-old $LC_EDITED" \
		"$(lc_leftovers "$LC_R") $(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl.dpkg-old" 2>&1)"

	# 3. NEW unedited, upgraded to NEWER: replaced without a word; then nothing left
	LC_R=$LC_W/deb4
	lc_deb_root "$LC_R" || bad "$p: could not make an empty private root in $LC_R"
	lc_step "$p: install $LC_NEW_DEBV" lc_dpkg -i "$new"
	lc_step "$p: dpkg -i $LC_NEWER_DEBV over an unedited config: no prompt" lc_dpkg -i "$newer"
	expect "$p: unedited config.hcl replaced by the new example, nothing beside it" \
		"$newer_shipped " "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl") $(lc_leftovers "$LC_R")"
	lc_step "$p: dpkg -P purges it" lc_dpkg -P vault-ssh-helper
	expect "$p: purged, never edited: nothing left in the root" "" "$(lc_tree "$LC_R" | grep -vE ' /(var|var/lib)$' || true)"
}

lc_rpm_life() { # OLD NEW NEWER (.rpm files)
	local old=$1 new=$2 newer=$3 p=rpm
	local want_tree="drwxr-xr-x root:root /etc
drwxr-xr-x root:root /etc/vault-ssh-helper.d
-rw-r----- root:root /etc/vault-ssh-helper.d/config.hcl
drwxr-xr-x root:root /usr
drwxr-xr-x root:root /usr/bin
-rwxr-xr-x root:root /usr/bin/vault-ssh-helper
drwxr-xr-x root:root /usr/share
drwxr-xr-x root:root /usr/share/doc
drwxr-xr-x root:root /usr/share/doc/vault-ssh-helper
-rw-r--r-- root:root /usr/share/doc/vault-ssh-helper/README.md
drwxr-xr-x root:root /usr/share/licenses
drwxr-xr-x root:root /usr/share/licenses/vault-ssh-helper
-rw-r--r-- root:root /usr/share/licenses/vault-ssh-helper/LICENSE
drwxr-xr-x root:root /usr/share/man
drwxr-xr-x root:root /usr/share/man/man8
-rw-r--r-- root:root /usr/share/man/man8/vault-ssh-helper.8.gz
drwxr-xr-x root:root /var
drwxr-xr-x root:root /var/lib
drwx------ root:root /var/lib/vault-ssh-helper"
	# rpm leaves the directories it created for the package's files but does
	# not own (/usr/bin, /usr/share/man/man8, ...).
	local rpm_dirs="drwxr-xr-x root:root /usr
drwxr-xr-x root:root /usr/bin
drwxr-xr-x root:root /usr/share
drwxr-xr-x root:root /usr/share/doc
drwxr-xr-x root:root /usr/share/licenses
drwxr-xr-x root:root /usr/share/man
drwxr-xr-x root:root /usr/share/man/man8"
	local newer_shipped
	newer_shipped=$(dpkg-deb --fsys-tarfile "$LC_NEWER_DIR/vault-ssh-helper_${LC_NEWER_DEBV}_amd64.deb" |
		tar -xOf - ./etc/vault-ssh-helper.d/config.hcl | sha256sum | cut -c1-64) || true

	# 1. install OLD, edit, upgrade to NEW (same example config), erase
	LC_R=$LC_W/rpm1
	lc_rpm_root "$LC_R" || bad "$p: rpm --initdb failed in $LC_R"
	lc_step "$p: rpm --root -i $LC_OLD_RPMV installs" lc_rpm -i "$old"
	expect "$p: installed: name, version" "vault-ssh-helper-$LC_OLD_RPMV.x86_64" "$(lc_rpm_status)"
	expect "$p: installed tree: every path, mode, owner (state_dir 0700 root:root)" "$want_tree" "$(lc_tree "$LC_R")"
	expect "$p: config.hcl is the package's one %config(noreplace)" "/etc/vault-ssh-helper.d/config.hcl" \
		"$(rpm --root="$LC_R" --dbpath=/var/lib/rpm -q --configfiles vault-ssh-helper 2>&1)"
	expect "$p: installed binary: -version names $LC_OLD" "$(version_line "$LC_OLD" "$LC_C")" "$(lc_version)"
	check "$p: rpm -V: the installed files verify" lc_rpm -V vault-ssh-helper
	lc_operator_edits || bad "$p: could not make the operator's edits"
	lc_step "$p: rpm -U $LC_NEW_RPMV over $LC_OLD_RPMV with an edited config" lc_rpm -U "$new"
	expect "$p: upgraded: name, version (one package)" "vault-ssh-helper-$LC_NEW_RPMV.x86_64" "$(lc_rpm_status)"
	expect "$p: upgraded binary: -version names $LC_NEW" "$(version_line "$LC_NEW" "$LC_C")" "$(lc_version)"
	expect "$p: upgrade (same example config): the edited config.hcl kept" "$LC_EDITED" "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl")"
	expect "$p: upgrade (same example config): no .rpmnew or .rpmsave" "" "$(lc_leftovers "$LC_R")"
	expect "$p: upgrade: config.hcl still 640 root:root" "640 root:root" "$(stat -c '%a %U:%G' "$LC_R/etc/vault-ssh-helper.d/config.hcl")"
	lc_operator_files_kept "$p: upgrade"
	lc_step "$p: rpm -e erases it" lc_rpm -e vault-ssh-helper
	expect "$p: erased: rpm no longer knows it" "package vault-ssh-helper is not installed" "$(lc_rpm_status)"
	check "$p: rpm -e says it saved the config" \
		grep -qF "warning: /etc/vault-ssh-helper.d/config.hcl saved as /etc/vault-ssh-helper.d/config.hcl.rpmsave" "$LC_LOG"
	expect "$p: rpm -e: the edited config kept as config.hcl.rpmsave" "$LC_EDITED" \
		"$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl.rpmsave" 2>&1)"
	expect "$p: rpm -e leaves config.hcl.rpmsave, the operator's files and empty unowned directories, nothing else" \
		"$(LC_ALL=C sort -k3 <<<"$LC_LEFT_OPERATOR_FILES
$rpm_dirs
-rw-r----- root:root /etc/vault-ssh-helper.d/config.hcl.rpmsave")" "$(lc_tree "$LC_R")"

	# 2. NEW with an edited config, upgraded to NEWER, whose example config changed
	LC_R=$LC_W/rpm2
	lc_rpm_root "$LC_R" || bad "$p: rpm --initdb failed in $LC_R"
	lc_step "$p: install $LC_NEW_RPMV" lc_rpm -i "$new"
	lc_operator_edits || bad "$p: could not make the operator's edits"
	lc_step "$p: rpm -U $LC_NEWER_RPMV with an edited config and a changed example" lc_rpm -U "$newer"
	expect "$p: upgraded to $LC_NEWER_RPMV" "vault-ssh-helper-$LC_NEWER_RPMV.x86_64" "$(lc_rpm_status)"
	expect "$p: changed example: the edited config.hcl kept" "$LC_EDITED" "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl")"
	expect "$p: changed example: the new one beside it as config.hcl.rpmnew" \
		"config.hcl.rpmnew $newer_shipped" \
		"$(lc_leftovers "$LC_R") $(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl.rpmnew" 2>&1)"
	check "$p: rpm -U says it created config.hcl.rpmnew" \
		grep -qF "warning: /etc/vault-ssh-helper.d/config.hcl created as /etc/vault-ssh-helper.d/config.hcl.rpmnew" "$LC_LOG"
	lc_operator_files_kept "$p: upgrade to a changed example"
	lc_step "$p: rpm -e erases it" lc_rpm -e vault-ssh-helper
	expect "$p: rpm -e after that: config.hcl.rpmsave (the edit) and config.hcl.rpmnew both left" \
		"config.hcl.rpmnew config.hcl.rpmsave $LC_EDITED" \
		"$(lc_leftovers "$LC_R") $(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl.rpmsave" 2>&1)"

	# 3. NEW unedited, upgraded to NEWER: replaced without a word; then nothing left
	LC_R=$LC_W/rpm3
	lc_rpm_root "$LC_R" || bad "$p: rpm --initdb failed in $LC_R"
	lc_step "$p: install $LC_NEW_RPMV" lc_rpm -i "$new"
	lc_step "$p: rpm -U $LC_NEWER_RPMV over an unedited config" lc_rpm -U "$newer"
	expect "$p: unedited config.hcl replaced by the new example, nothing beside it" \
		"$newer_shipped " "$(lc_hash "$LC_R/etc/vault-ssh-helper.d/config.hcl") $(lc_leftovers "$LC_R")"
	lc_step "$p: rpm -e erases it" lc_rpm -e vault-ssh-helper
	expect "$p: erased, never edited: only the empty unowned directories left" \
		"$rpm_dirs" "$(lc_tree "$LC_R" | grep -vE ' /(var|var/lib|etc)$' || true)"
}

# lc_host_state: what the private roots must never change on this machine:
# the package's paths in /, and both package databases' view of it.
lc_host_state() {
	local f
	for f in /usr/bin/vault-ssh-helper /etc/vault-ssh-helper.d /var/lib/vault-ssh-helper \
		/usr/share/doc/vault-ssh-helper /usr/share/man/man8/vault-ssh-helper.8.gz; do
		[[ -e $f ]] && echo "$f $(stat -c '%a %U:%G %Y' "$f")"
	done
	echo "dpkg: $(dpkg-query -W -f='${Status} ${Version}' vault-ssh-helper 2>&1 || true)"
	echo "rpm: $(rpm -q vault-ssh-helper 2>&1 || true)"
}

# lc_dist SRC DIST_DIR VERSION LOG: scripts/dist.sh run in SRC
lc_dist() {
	local t0=$SECONDS
	if (cd "$1" && DIST_DIR=$2 VERSION=$3 COMMIT=$LC_C bash scripts/dist.sh) >"$4" 2>&1 </dev/null; then
		echo "test-dist-lifecycle: make dist VERSION=$3 in $1 took $((SECONDS - t0))s"
	else
		sed 's/^/       /' "$4"
		return 1
	fi
}

lc_main() { # OLD_DIST_DIR (built at LC_OLD)
	LC_OLD=1.2.3-rc.1 LC_OLD_DEBV=1.2.3~rc.1-1 LC_OLD_RPMV=1.2.3~rc.1-1
	LC_NEW=1.2.3 LC_NEW_DEBV=1.2.3-1 LC_NEW_RPMV=1.2.3-1
	LC_NEWER=1.2.4 LC_NEWER_DEBV=1.2.4-1 LC_NEWER_RPMV=1.2.4-1
	if [[ $EUID -ne 0 ]]; then
		skip "package life (install, upgrade, remove in a private root): not root (CI runs this as root)"
		return 0
	elif [[ $(dpkg --print-architecture) != amd64 ]]; then
		skip "package life: this machine is $(dpkg --print-architecture), not amd64 (the installed binary must run)"
		return 0
	fi
	LC_OLD_DIR=$1
	LC_NEW_DIR=$LC_W/dist-new LC_NEWER_DIR=$LC_W/dist-newer
	LC_LOG=$LC_W/pkg.log
	local t0=$SECONDS

	if ! lc_dist "$LC_ROOT" "$LC_NEW_DIR" "$LC_NEW" "$LC_W/dist-new.log"; then
		bad "package life: make dist VERSION=$LC_NEW failed"
		return 0
	fi
	# NEWER from a copy of the tree (tracked and untracked files, not ignored
	# ones) whose example config has one line more; with this tree's nfpm, so
	# it is not built again.
	mkdir -p "$LC_W/src"
	(cd "$LC_ROOT" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
		tar -cf - --null -T -) | tar -xf - -C "$LC_W/src"
	cp -a "$LC_ROOT/tools/bin" "$LC_W/src/tools/"
	echo '# a line the next release added to the example' >>"$LC_W/src/packaging/config.hcl"
	if ! lc_dist "$LC_W/src" "$LC_NEWER_DIR" "$LC_NEWER" "$LC_W/dist-newer.log"; then
		bad "package life: make dist VERSION=$LC_NEWER failed"
		return 0
	fi

	local host_before
	host_before=$(lc_host_state)
	lc_deb_life "$LC_OLD_DIR/vault-ssh-helper_${LC_OLD_DEBV}_amd64.deb" \
		"$LC_NEW_DIR/vault-ssh-helper_${LC_NEW_DEBV}_amd64.deb" \
		"$LC_NEWER_DIR/vault-ssh-helper_${LC_NEWER_DEBV}_amd64.deb"
	lc_rpm_life "$LC_OLD_DIR/vault-ssh-helper-${LC_OLD_RPMV}.x86_64.rpm" \
		"$LC_NEW_DIR/vault-ssh-helper-${LC_NEW_RPMV}.x86_64.rpm" \
		"$LC_NEWER_DIR/vault-ssh-helper-${LC_NEWER_RPMV}.x86_64.rpm"
	expect "package life: this machine's own files and package databases untouched" "$host_before" "$(lc_host_state)"
	echo "test-dist-lifecycle: $((SECONDS - t0))s"
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
	# Sourced by test-dist.sh: its ok/bad/skip/expect/check/version_line,
	# counts, work directory ($T), commit ($C) and SOURCE_DATE_EPOCH.
	LC_ROOT=$ROOT LC_C=$C LC_W=$T/lifecycle
	mkdir -p "$LC_W"
	lc_main "$1"
	rm -rf "$LC_W"
else
	set -euo pipefail
	cd "$(dirname "${BASH_SOURCE[0]}")/.."
	LC_ROOT=$PWD
	VSH_ROOT=$PWD
	# shellcheck source=scripts/tap.sh
	source scripts/tap.sh
	if [[ $EUID -ne 0 ]]; then
		lc_main ""
		echo "test-dist-lifecycle: $PASS passed, $FAIL failed, $SKIP skipped"
		exit 0
	fi
	if ! command -v rpm >/dev/null; then
		(APT_WHO=test-dist-lifecycle.sh && source scripts/apt.sh && apt_install rpm)
	fi
	TMPDIR=$(bash scripts/test-tmpdir.sh)
	export TMPDIR
	LC_W=$(mktemp -d "$TMPDIR/vsh-test-dist-lifecycle.XXXXXX")
	trap 'rm -rf "$LC_W"' EXIT
	LC_C=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
	SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD 2>/dev/null || echo 1700000000)}
	export SOURCE_DATE_EPOCH
	lc_dist "$LC_ROOT" "$LC_W/dist-old" 1.2.3-rc.1 "$LC_W/dist-old.log" ||
		{ echo "test-dist-lifecycle: make dist VERSION=1.2.3-rc.1 failed" >&2; exit 1; }
	lc_main "$LC_W/dist-old"
	echo "test-dist-lifecycle: $PASS passed, $FAIL failed, $SKIP skipped"
	((FAIL == 0))
fi
