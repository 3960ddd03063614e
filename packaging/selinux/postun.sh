# %postun of vault-ssh-helper-selinux: on erase (not upgrade: $1 is 0 only
# then), remove the module and relabel what it labelled. Skipped where
# SELinux is off or its tools are missing.
if [ "$1" = 0 ] && command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled && command -v semodule >/dev/null 2>&1; then
	semodule -X 200 -r vault_ssh_helper >/dev/null 2>&1 || :
	if command -v restorecon >/dev/null 2>&1; then
		restorecon -R /usr/bin/vault-ssh-helper /usr/local/bin/vault-ssh-helper /etc/vault-ssh-helper.d \
			/var/lib/vault-ssh-helper /var/log/vault-ssh.log >/dev/null 2>&1 || :
	fi
fi
exit 0
