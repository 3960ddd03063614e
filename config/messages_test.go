package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/config/configtest"
)

// sentinels are the fixed words of the config's messages (config.go).
var sentinels = []error{
	ErrMissing, ErrEmpty, ErrNotURL, ErrAddrCarries, ErrDevHTTPS, ErrNeedsHTTPS, ErrAddrTwice,
	ErrPathChars, ErrPathSegment, ErrControlChar, ErrNotHostName, ErrEmptyEntry,
	ErrNotDuration, ErrOutside, ErrDuplicateKey, ErrInvalidKey, ErrNotFacility,
	ErrSetBothOrNeither, ErrKeyReadable, ErrSecretReadable, ErrOtherModesKey,
}

const testToken = "hvs.CAESIJ-test-token-value"

// totpConfigWith is a config of the TOTP mode with credentials and extra lines.
func totpConfigWith(credentials string, extra ...string) string {
	lines := append([]string{`vault_addr = "https://vault.example.com:8200"`, `totp_mount_point = "totp"`, credentials}, extra...)
	return strings.Join(lines, "\n") + "\n"
}

// TestMessages is the one place the full text of each message of config's
// own (the shared keys, and a key of a mode the file does not select) is
// written; each mode's are in its package's TestConfigMessages. Every
// other test asks for the sentinel (errors.Is, wantRefusedFor) or, in
// scripts, names it (reason config.ErrX). Each want is one problem of the
// refusal, word for word, and wraps exactly the sentinels whose words it
// holds.
func TestMessages(t *testing.T) {
	token := writeFile(t, t.TempDir(), "token", testToken, 0o600)
	tokenLine := `vault_token_file = "` + token + `"`

	cdir := t.TempDir()
	cert, key := writeClientPair(t, cdir)
	otherCert, _ := writeClientPair(t, t.TempDir())
	openKey := writeFile(t, cdir, "open-key.pem", readAll(t, key), 0o644)
	notKey := writeFile(t, cdir, "not-key.pem", readAll(t, cert), 0o600)

	cases := []struct {
		name, text, want string
		opts             Options
	}{
		{"empty file", ``, `missing config "vault_addr"`, Options{}},
		{"empty addr", `vault_addr = ""` + "\nallowed_roles=\"*\"", `vault_addr is empty`, Options{}},
		{"addr without host", `vault_addr = "https://"` + "\nallowed_roles=\"*\"", `vault_addr "https://" is not an http:// or https:// URL with a host`, Options{}},
		{"addr not a URL", `vault_addr = "vault.example.com:8200"` + "\nallowed_roles=\"*\"", `vault_addr "vault.example.com:8200" is not an http:// or https:// URL with a host`, Options{}},
		{"addr with user", `vault_addr = "https://u:secret@v"` + "\nallowed_roles=\"*\"", `vault_addr "https://` + quote.Hidden + `@v" must not carry a user, a query or a fragment`, Options{}},
		{"addr with query", `vault_addr = "https://v/?x=1"` + "\nallowed_roles=\"*\"", `vault_addr "https://v/?x=` + quote.Hidden + `" must not carry a user, a query or a fragment`, Options{}},
		{"addr with fragment", `vault_addr = "https://v/#frag"` + "\nallowed_roles=\"*\"", `vault_addr "https://v/#` + quote.Hidden + `" must not carry a user, a query or a fragment`, Options{}},
		{"addr with empty query", `vault_addr = "https://v?"` + "\nallowed_roles=\"*\"", `vault_addr "https://v?" must not carry a user, a query or a fragment`, Options{}},
		{"addr with empty fragment", `vault_addr = "https://v/#"` + "\nallowed_roles=\"*\"", `vault_addr "https://v/#" must not carry a user, a query or a fragment`, Options{}},
		{"http without dev", `vault_addr = "http://v"` + "\nallowed_roles=\"*\"", `vault_addr "http://v": unsupported scheme. use 'dev' mode`, Options{}},
		{"https with dev", `vault_addr = "https://v"` + "\nallowed_roles=\"*\"", `vault_addr "https://v": unsupported scheme in 'dev' mode`, Options{Dev: true}},
		{"unknown key", minimal + "\nvault_token = \"x\"", `invalid key "vault_token" on line 5`, Options{}},
		{"duplicate key", minimal + "\nvault_addr = \"https://w\"", `duplicate key "vault_addr" on lines 2 and 5`, Options{}},
		{"block instead of value", minimal + "\nnamespace { a = 1 }", `key "namespace" on line 5 must be assigned a value (namespace = ...)`, Options{}},
		{"bool for string", minimal + "\nnamespace = true", `key "namespace" on line 5: expected a string, got a bool`, Options{}},
		{"string for bool", minimal + "\ntls_skip_verify = \"yes\"", `key "tls_skip_verify" on line 5: expected true or false, got a string`, Options{}},
		{"number for bool", minimal + "\ntls_skip_verify = 1", `key "tls_skip_verify" on line 5: expected true or false, got a number`, Options{}},
		{"list for string", minimal + "\nnamespace = [\"a\"]", `key "namespace" on line 5: expected a string, got a list`, Options{}},
		{"block for string", minimal + "\nnamespace = { a = 1 }", `key "namespace" on line 5: expected a string, got a block`, Options{}},
		{"mount query", minimal + "\nssh_mount_point = \"ssh?x\"", `ssh_mount_point "ssh?x" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount fragment", minimal + "\nssh_mount_point = \"ssh#x\"", `ssh_mount_point "ssh#x" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount percent", minimal + "\nssh_mount_point = \"ssh%2Fx\"", `ssh_mount_point "ssh%2Fx" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount backslash", minimal + "\nssh_mount_point = \"a\\\\b\"", `ssh_mount_point "a\\b" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount space", minimal + "\nssh_mount_point = \"team ssh\"", `ssh_mount_point "team ssh" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount tab", minimal + "\nssh_mount_point = \"a\\tb\"", `ssh_mount_point "a\tb" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount no-break space", minimal + "\nssh_mount_point = \"a\\u00a0b\"", `ssh_mount_point "a\u00a0b" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount control char", minimal + "\nssh_mount_point = \"a\\u0001b\"", `ssh_mount_point "a\x01b" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount empty segment", minimal + "\nssh_mount_point = \"a//b\"", `ssh_mount_point "a//b" has an empty, '.' or '..' path segment`, Options{}},
		{"mount dot segment", minimal + "\nssh_mount_point = \"a/./b\"", `ssh_mount_point "a/./b" has an empty, '.' or '..' path segment`, Options{}},
		{"mount only a dot", minimal + "\nssh_mount_point = \"/./\"", `ssh_mount_point "/./" has an empty, '.' or '..' path segment`, Options{}},
		{"mount only slashes", minimal + "\nssh_mount_point = \"//\"", `ssh_mount_point "//" is empty`, Options{}},
		{"mount dotdot", minimal + "\nssh_mount_point = \"..\"", `ssh_mount_point ".." has an empty, '.' or '..' path segment`, Options{}},
		{"timeout not a duration", minimal + "\ntimeout = \"10\"", `timeout "10" is not a duration like "10s"`, Options{}},
		{"timeout too short", minimal + "\ntimeout = \"500ms\"", `timeout "500ms" is outside 1s to 1m0s`, Options{}},
		{"timeout a bare number", minimal + "\ntimeout = 2.5", `timeout "2.5" is not a duration like "10s"`, Options{}},
		{"server name with port", minimal + "\ntls_server_name = \"v:8200\"", `tls_server_name "v:8200" is not a host name`, Options{}},
		{"server name with a path", minimal + "\ntls_server_name = \"v/x\"", `tls_server_name "v/x" is not a host name`, Options{}},
		{"server name with a space", minimal + "\ntls_server_name = \"v x\"", `tls_server_name "v x" is not a host name`, Options{}},
		{"server name with a control char", minimal + "\ntls_server_name = \"v\\u0007\"", `tls_server_name "v\a" is not a host name`, Options{}},
		{"namespace control char", minimal + "\nnamespace = \"a\\nb\"", `namespace "a\nb" contains a control character`, Options{}},
		{"not HCL", "vault_addr = \"x", `cannot be parsed as HCL or JSON: At 1:16: literal not terminated`, Options{}},
		{"not JSON", `{"vault_addr": "x",,}`, `cannot be parsed as HCL or JSON: invalid JSON: invalid character ',' looking for beginning of object key string`, Options{}},
		{"not a syslog facility", minimal + "syslog_facility = \"kern\"\n",
			`syslog_facility "kern" is not a syslog facility: use authpriv (as sshd and pam_unix do), auth, daemon, user, local0 to local7, or another of syslog(3)'s names except kern`, Options{}},
		{"duplicate key in JSON", `{"vault_addr": "https://v", "allowed_roles": "*", "vault_addr": "https://w"}`, `duplicate key "vault_addr"`, Options{}},
		{"vault_addr list with an empty entry", `vault_addr = "https://a, "` + "\nallowed_roles=\"*\"", `vault_addr entry 2 of 2 is empty`, Options{}},
		{"vault_addr list naming one Vault twice", `vault_addr = "https://a, https://A:443/"` + "\nallowed_roles=\"*\"",
			`vault_addr lists one address twice: "https://a" (entry 1) and "https://A:443/" (entry 2)`, Options{}},
		{"TOTP key in an SSH OTP config", minimal + "vault_token_file = \"x\"\n",
			`vault_token_file belongs to the TOTP mode, which needs totp_mount_point; remove it from an SSH OTP config`, Options{}},
		{"allowed_roles in TOTP", totpConfigWith(tokenLine, `allowed_roles = "*"`),
			`allowed_roles belongs to the SSH OTP mode; remove it from a TOTP config (one with totp_mount_point)`, Options{}},
		{"allowed_cidr_list in TOTP", totpConfigWith(tokenLine, `allowed_cidr_list = "10.0.0.0/8"`),
			`allowed_cidr_list belongs to the SSH OTP mode; remove it from a TOTP config (one with totp_mount_point)`, Options{}},
		{"ssh_mount_point in TOTP", totpConfigWith(tokenLine, `ssh_mount_point = "ssh"`),
			`ssh_mount_point belongs to the SSH OTP mode; remove it from a TOTP config (one with totp_mount_point)`, Options{}},
		{"client cert without key", clientConfig(cert, ""), "client_cert is set but client_key is not: set both or neither", Options{}},
		{"client key without cert", clientConfig("", key), "client_key is set but client_cert is not: set both or neither", Options{}},
		{"client key readable by others", clientConfig(cert, openKey),
			`client_key "` + openKey + `" is readable by others (mode 0644); run: chmod o-r ` + openKey, Options{}},
		{"client key of another certificate", clientConfig(otherCert, key),
			`client_cert "` + otherCert + `" and client_key "` + key + `": tls: private key does not match public key`, Options{}},
		{"client key is not a key", clientConfig(cert, notKey),
			`client_cert "` + cert + `" and client_key "` + notKey + `": tls: found a certificate rather than a key in the PEM for the private key`, Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse([]byte(c.text), c.opts)
			problem := configtest.Named(err, c.want)
			if problem == nil {
				t.Fatalf("no problem reads\n %s\nin\n %v", c.want, err)
			}
			for _, s := range sentinels {
				if holds := strings.Contains(c.want, s.Error()); errors.Is(problem, s) != holds {
					t.Errorf("errors.Is(%q, %q) = %v, want %v", problem, s, !holds, holds)
				}
			}
		})
	}
}
