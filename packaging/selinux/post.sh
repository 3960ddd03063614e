# %post of vault-ssh-helper-selinux: load the module (install and upgrade),
# then label the helper's files. Skipped where SELinux is off or its tools are
# missing; a failure is reported, not fatal to the transaction.
if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled && command -v semodule >/dev/null 2>&1; then
	semodule -X 200 -i /usr/share/selinux/packages/vault_ssh_helper.pp ||
		echo "vault-ssh-helper-selinux: semodule could not load the policy module" >&2
	if command -v restorecon >/dev/null 2>&1; then
		restorecon -R /usr/bin/vault-ssh-helper /usr/local/bin/vault-ssh-helper /etc/vault-ssh-helper.d \
			/var/lib/vault-ssh-helper /var/log/vault-ssh.log >/dev/null 2>&1 || :
	fi
fi
exit 0
