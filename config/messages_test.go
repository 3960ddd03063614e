package config

import (
	"errors"
	"fmt"
	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"strings"
	"testing"
)

// sentinels are the fixed words of the config's messages (messages.go).
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

// TestMessages is the one place the full text of each config message is
// written: every other test asks for the sentinel (errors.Is, wantRefusedFor)
// or, in scripts, names it (reason config.ErrX). Each want is one problem of
// the refusal, word for word, and wraps exactly the sentinels whose words it
// holds.
func TestMessages(t *testing.T) {
	dir := t.TempDir()
	token := writeFile(t, dir, "token", testToken, 0o600)
	role := writeFile(t, dir, "role", "r", 0o600)
	secret := writeFile(t, dir, "secret", "s", 0o600)
	tokenLine := `vault_token_file = "` + token + `"`
	hmacKey := writeFile(t, dir, "hmac", strings.Repeat("ab", 32)+"\n", 0o600)
	roleLine, secretLine := `approle_role_id_file = "`+role+`"`, `approle_secret_id_file = "`+secret+`"`

	const content = "hvs.secret-content"
	groupReadable := writeFile(t, dir, "group", content, 0o640)
	othersReadable := writeFile(t, dir, "others", content, 0o604)
	empty := writeFile(t, dir, "empty", " \n\t", 0o600)
	twoLines := writeFile(t, dir, "two", content+"\n"+content+"\n", 0o600)
	spaced := writeFile(t, dir, "spaced", content+" x", 0o600)
	nonASCII := writeFile(t, dir, "nonascii", content+"é", 0o600)
	long := writeFile(t, dir, "long", strings.Repeat("a", 4097), 0o600)
	tokenFile := func(path string) string { return totpConfigWith(`vault_token_file = "` + path + `"`) }
	appRole := func(roleID, secretID string) string {
		return totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", roleID, secretID))
	}

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
		{"missing roles", `vault_addr = "https://v"`, `missing config "allowed_roles"`, Options{}},
		{"empty roles", `vault_addr = "https://v"` + "\n" + `allowed_roles = " "`, `missing config "allowed_roles"`, Options{}},
		{"empty role entry", `vault_addr = "https://v"` + "\n" + `allowed_roles = "a,,b"`, `allowed_roles "a,,b" has an empty entry`, Options{}},
		{"star in list", `vault_addr = "https://v"` + "\n" + `allowed_roles = "a,*"`, `allowed_roles "a,*": "*" allows any role and must stand alone`, Options{}},
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
		{"server name with port", minimal + "\ntls_server_name = \"v:8200\"", `tls_server_name "v:8200" is not a host name`, Options{}},
		{"server name with a path", minimal + "\ntls_server_name = \"v/x\"", `tls_server_name "v/x" is not a host name`, Options{}},
		{"server name with a space", minimal + "\ntls_server_name = \"v x\"", `tls_server_name "v x" is not a host name`, Options{}},
		{"server name with a control char", minimal + "\ntls_server_name = \"v\\u0007\"", `tls_server_name "v\a" is not a host name`, Options{}},
		{"CIDR entry not a block", minimal + "\nallowed_cidr_list = \"10.0.0.0/8, 10.0.0.1\"", `allowed_cidr_list entry "10.0.0.1" is not a CIDR block like 192.0.2.0/24 or 2001:db8::/32`, Options{}},
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
		{"empty mount", strings.Replace(totpConfigWith(tokenLine), `"totp"`, `" / "`, 1), `totp_mount_point " / " is empty`, Options{}},
		{"mount with a query", strings.Replace(totpConfigWith(tokenLine), `"totp"`, `"totp?x"`, 1),
			`totp_mount_point "totp?x" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"mount with dot-dot", strings.Replace(totpConfigWith(tokenLine), `"totp"`, `"a/../totp"`, 1),
			`totp_mount_point "a/../totp" has an empty, '.' or '..' path segment`, Options{}},
		{"template without username", totpConfigWith(tokenLine, `totp_key_template = "shared"`),
			`totp_key_template "shared" must contain {{username}} exactly once`, Options{}},
		{"template with username twice", totpConfigWith(tokenLine, `totp_key_template = "{{username}}-{{username}}"`),
			`totp_key_template "{{username}}-{{username}}" must contain {{username}} exactly once`, Options{}},
		{"template with a slash", totpConfigWith(tokenLine, `totp_key_template = "ssh/{{username}}"`),
			`totp_key_template "ssh/{{username}}" would give names Vault refuses: around {{username}} only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'`, Options{}},
		{"template starting with a dash", totpConfigWith(tokenLine, `totp_key_template = "-{{username}}"`),
			`totp_key_template "-{{username}}" would give names Vault refuses: around {{username}} only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'`, Options{}},
		{"template ending with a dot", totpConfigWith(tokenLine, `totp_key_template = "{{username}}."`),
			`totp_key_template "{{username}}." would give names Vault refuses: around {{username}} only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'`, Options{}},
		{"template with another placeholder", totpConfigWith(tokenLine, `totp_key_template = "{{host}}-{{username}}"`),
			`totp_key_template "{{host}}-{{username}}" would give names Vault refuses: around {{username}} only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'`, Options{}},
		{"token and AppRole", totpConfigWith(tokenLine, roleLine, secretLine),
			`vault_token_file and approle_role_id_file/approle_secret_id_file are both set: use one way to get a token`, Options{}},
		{"role_id without secret_id", totpConfigWith(roleLine),
			`approle_role_id_file is set but approle_secret_id_file is not: set both`, Options{}},
		{"secret_id without role_id", totpConfigWith(secretLine),
			`approle_secret_id_file is set but approle_role_id_file is not: set both`, Options{}},
		{"no credentials", totpConfigWith(""),
			`a TOTP config needs vault_token_file, or approle_role_id_file and approle_secret_id_file`, Options{}},
		{"AppRole mount alone", totpConfigWith(`approle_mount_point = "approle"`),
			`approle_mount_point is set but approle_role_id_file and approle_secret_id_file are not: set both`, Options{}},
		{"AppRole mount with a token", totpConfigWith(tokenLine, `approle_mount_point = "approle"`),
			`approle_mount_point is set but AppRole is not used (vault_token_file is): remove it`, Options{}},
		{"AppRole mount with a space", totpConfigWith(roleLine, secretLine, `approle_mount_point = "app role"`),
			`approle_mount_point "app role" must not contain '?', '#', '%', '\' or white space`, Options{}},
		{"max failures zero", totpConfigWith(tokenLine, `totp_max_failures = 0`),
			`totp_max_failures "0" is not a whole number from 1 to 100`, Options{}},
		{"max failures too many", totpConfigWith(tokenLine, `totp_max_failures = "101"`),
			`totp_max_failures "101" is not a whole number from 1 to 100`, Options{}},
		{"max failures a fraction", totpConfigWith(tokenLine, `totp_max_failures = 2.5`),
			`totp_max_failures "2.5" is not a whole number from 1 to 100`, Options{}},
		{"max failures a word", totpConfigWith(tokenLine, `totp_max_failures = "three"`),
			`totp_max_failures "three" is not a whole number from 1 to 100`, Options{}},
		{"window not a duration", totpConfigWith(tokenLine, `totp_failure_window = "30"`),
			`totp_failure_window "30" is not a duration like "30s"`, Options{}},
		{"window too short", totpConfigWith(tokenLine, `totp_failure_window = "500ms"`),
			`totp_failure_window "500ms" is outside 1s to 24h0m0s`, Options{}},
		{"window too long", totpConfigWith(tokenLine, `totp_failure_window = "25h"`),
			`totp_failure_window "25h" is outside 1s to 24h0m0s`, Options{}},
		{"lifetime not a duration", totpConfigWith(tokenLine, `totp_code_lifetime = "300"`),
			`totp_code_lifetime "300" is not a duration like "5m"`, Options{}},
		{"lifetime too short", totpConfigWith(tokenLine, `totp_code_lifetime = "500ms"`),
			`totp_code_lifetime "500ms" is outside 1s to 24h0m0s`, Options{}},
		{"lifetime too long", totpConfigWith(tokenLine, `totp_code_lifetime = "25h"`),
			`totp_code_lifetime "25h" is outside 1s to 24h0m0s`, Options{}},
		{"used codes path without key", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/vsh"`),
			`totp_used_codes_path is set but totp_used_codes_key_file is not: set both or neither`, Options{}},
		{"used codes key without path", totpConfigWith(tokenLine, `totp_used_codes_key_file = "`+hmacKey+`"`),
			`totp_used_codes_key_file is set but totp_used_codes_path is not: set both or neither`, Options{}},
		{"used codes path without prefix", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/"`, `totp_used_codes_key_file = "`+hmacKey+`"`),
			`totp_used_codes_path "kv/" must be a KV v2 mount and a prefix under it, like "kv/vault-ssh-helper/used"`, Options{}},
		{"used codes path with a bad segment", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/../x"`, `totp_used_codes_key_file = "`+hmacKey+`"`),
			`totp_used_codes_path "kv/../x" has an empty, '.' or '..' path segment`, Options{}},
		{"used codes key short", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/vsh"`, `totp_used_codes_key_file = "`+token+`"`),
			`totp_used_codes_key_file "` + token + `" must hold at least 32 characters: make it with openssl rand -hex 32`, Options{}},
		{"used codes key readable", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/vsh"`, `totp_used_codes_key_file = "`+groupReadable+`"`),
			`totp_used_codes_key_file "` + groupReadable + `" is readable by group or others (mode 0640); run: chmod go-r ` + groupReadable, Options{}},
		{"relative state_dir", totpConfigWith(tokenLine, `state_dir = "var/lib/vsh"`),
			`state_dir "var/lib/vsh" is not an absolute path`, Options{}},
		{"empty state_dir", totpConfigWith(tokenLine, `state_dir = ""`),
			`state_dir "" is not an absolute path`, Options{}},
		{"state_dir with a newline", totpConfigWith(tokenLine, `state_dir = "/var/lib/a\nb"`),
			`state_dir "/var/lib/a\nb" is not an absolute path`, Options{}},
		{"token file readable by group", tokenFile(groupReadable),
			`vault_token_file "` + groupReadable + `" is readable by group or others (mode 0640); run: chmod go-r ` + groupReadable, Options{}},
		{"token file readable by others", tokenFile(othersReadable),
			`vault_token_file "` + othersReadable + `" is readable by group or others (mode 0604); run: chmod go-r ` + othersReadable, Options{}},
		{"token file only white space", tokenFile(empty), `vault_token_file "` + empty + `" is empty`, Options{}},
		{"token file of two lines", tokenFile(twoLines), `vault_token_file "` + twoLines + `" must hold the token alone, on one line of printable ASCII`, Options{}},
		{"token file with a space inside", tokenFile(spaced), `vault_token_file "` + spaced + `" must hold the token alone, on one line of printable ASCII`, Options{}},
		{"token file not ASCII", tokenFile(nonASCII), `vault_token_file "` + nonASCII + `" must hold the token alone, on one line of printable ASCII`, Options{}},
		{"token file too long", tokenFile(long), `vault_token_file "` + long + `" is longer than 4096 bytes`, Options{}},
		{"token file without a path", tokenFile(" "), `vault_token_file is empty`, Options{}},
		{"role_id file of two lines", appRole(twoLines, secret),
			`approle_role_id_file "` + twoLines + `" must hold the role_id alone, on one line of printable ASCII`, Options{}},
		{"secret_id file readable by group", appRole(role, groupReadable),
			`approle_secret_id_file "` + groupReadable + `" is readable by group or others (mode 0640); run: chmod go-r ` + groupReadable, Options{}},
		{"secret_id file with a space inside", appRole(role, spaced),
			`approle_secret_id_file "` + spaced + `" must hold the secret_id alone, on one line of printable ASCII`, Options{}},
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
			problem := problemNamed(err, c.want)
			if problem == nil {
				t.Fatalf("no problem reads\n %s\nin\n %v", c.want, err)
			}
			if strings.Contains(problem.Error(), content) {
				t.Errorf("message quotes a secret file's content: %s", problem)
			}
			all := append([]error{}, sentinels...)
			for _, s := range modeSentinels {
				all = append(all, s)
			}
			for _, s := range all {
				if holds := strings.Contains(c.want, s.Error()); errors.Is(problem, s) != holds {
					t.Errorf("errors.Is(%q, %q) = %v, want %v", problem, s, !holds, holds)
				}
			}
		})
	}
}

// problemNamed is the problem of err whose text is want, or nil.
func problemNamed(err error, want string) error {
	for _, p := range problemsOf(err) {
		if p.Error() == want {
			return p
		}
	}
	return nil
}
