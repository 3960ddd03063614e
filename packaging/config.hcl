# /etc/vault-ssh-helper.d/config.hcl — configuration for vault-ssh-helper.
#
# THIS FILE SHIPS WITH PLACEHOLDER VALUES. Edit vault_addr and allowed_roles
# (and whatever else your site needs) before pointing PAM at the helper; with
# the values below every login is denied, because vault.example.com is not
# your Vault.
#
# The package never edits /etc/pam.d/sshd or /etc/ssh/sshd_config: that is
# the operator's step. /usr/share/doc/vault-ssh-helper/README.md shows the
# full setup; in short, /etc/pam.d/sshd gets
#
#   auth requisite pam_exec.so quiet expose_authtok log=/var/log/vault-ssh.log /usr/bin/vault-ssh-helper -config=/etc/vault-ssh-helper.d/config.hcl
#   auth optional pam_unix.so not_set_pass use_first_pass nodelay
#
# (with "@include common-auth" commented out), and sshd_config gets
# "UsePAM yes", "KbdInteractiveAuthentication yes" and
# "PasswordAuthentication no". Check a new file with
#   vault-ssh-helper -verify-only -config=/etc/vault-ssh-helper.d/config.hcl
#
# This file is the helper's only source of settings: VAULT_ADDR, VAULT_CACERT,
# VAULT_SKIP_VERIFY, proxy variables and the rest of the environment are
# ignored. It must not be writable by group or others (the package installs
# it root:root 0640), and upgrades never overwrite your edits. The format is
# HCL (JSON works too); an unknown key is an error that names its line.

# Address of the Vault server, with scheme and port. Required. Must be
# https:// (http:// is accepted only with -dev, which is for testing).
# Several addresses, separated by commas, are tried in order (see the README).
vault_addr = "https://vault.example.com:8200"

# Path where Vault's SSH secrets engine is mounted; the OTP is checked at
# <vault_addr>/v1/<ssh_mount_point>/verify. Default "ssh".
ssh_mount_point = "ssh"

# Vault Enterprise namespace holding the SSH mount, sent as the
# X-Vault-Namespace header. Leave unset on Vault without namespaces.
# namespace = "ns1/"

# Roles of the SSH secrets engine whose OTPs may log in to this host. Required.
# A comma-separated list of role names, or "*" for any role of the mount.
allowed_roles = "otp_key_role"

# By default an OTP is accepted only if the IP it was issued for is exactly
# one of this host's own interface addresses. Behind NAT or a load balancer,
# list the extra addresses here as comma-separated CIDR blocks; each entry is
# checked when the file is loaded.
# allowed_cidr_list = "10.0.0.0/8,192.168.1.0/24"

# PEM file with the CA certificate(s) that signed Vault's TLS certificate.
# Leave unset to use the system's trusted CAs. Ignored with -dev. Like this
# file, it must not be writable by group or others.
# ca_cert = "/etc/vault-ssh-helper.d/vault-ca.pem"

# Directory of PEM files to trust instead of a single ca_cert file.
# ca_path = "/etc/vault-ssh-helper.d/ca"

# Name to expect in Vault's certificate (and to send as SNI) when it differs
# from the host in vault_addr, e.g. when Vault is reached through a proxy.
# tls_server_name = "vault.internal.example.com"

# Skip verification of Vault's TLS certificate. Never in production: anyone
# able to intercept the connection could then let logins in.
tls_skip_verify = false

# Upper bound on one run of the helper, as a Go duration ("5s", "30s",
# "1m"), between 1s and 60s; default 10s. When Vault does not answer in time
# the login is denied instead of hanging until sshd's LoginGraceTime.
timeout = "10s"

# Also send one summary line per login (user, client, the OTP's IP, outcome,
# reason, Vault's request_id; never the password) to the local syslog, with
# this facility, tagged vault-ssh-helper: next to sshd's own lines, for the
# journal and fail2ban. Unset: no syslog.
# syslog_facility = "authpriv"
