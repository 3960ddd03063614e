package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testToken = "hvs.CAESIJ-test-token-value"

// totpConfig is a TOTP config with a token file in a fresh directory, then extra lines.
func totpConfig(t *testing.T, extra ...string) string {
	t.Helper()
	token := writeFile(t, t.TempDir(), "token", testToken+"\n", 0o600)
	return totpConfigWith(`vault_token_file = "`+token+`"`, extra...)
}

func totpConfigWith(credentials string, extra ...string) string {
	lines := append([]string{`vault_addr = "https://vault.example.com:8200"`, `totp_mount_point = "totp"`, credentials}, extra...)
	return strings.Join(lines, "\n") + "\n"
}

func TestTOTPConfigGetsDefaults(t *testing.T) {
	cfg := mustParse(t, totpConfig(t), Options{})
	got := cfg.TOTP
	if got == nil {
		t.Fatal("a config with totp_mount_point is not a TOTP config")
	}
	if got.MountPoint != "totp" || got.KeyTemplate != (KeyTemplate{}) || got.KeyTemplate.String() != "{{username}}" ||
		got.MaxFailures != 3 || got.FailureWindow != 30*time.Second || got.StateDir != "/var/lib/vault-ssh-helper" ||
		got.AppRole != nil || got.Token.Reveal() != testToken {
		t.Errorf("defaults wrong: %+v", got)
	}
	if cfg.MountPoint != "" || cfg.AnyRole || cfg.AllowedRoles != nil || cfg.Timeout != DefaultTimeout {
		t.Errorf("a TOTP config carries SSH OTP settings: %+v", cfg)
	}
}

func TestSSHOTPConfigHasNoTOTPPart(t *testing.T) {
	if cfg := mustParse(t, minimal, Options{}); cfg.TOTP != nil {
		t.Errorf("an SSH OTP config has a TOTP part: %+v", cfg.TOTP)
	}
}

func TestTOTPConfigKeysAreRead(t *testing.T) {
	cfg := mustParse(t, totpConfig(t,
		`totp_key_template = " ssh-{{username}}@host1 "`,
		`totp_max_failures = 5`,
		`totp_failure_window = "2m"`,
		`state_dir = "/run/vsh/"`,
		`timeout = "5s"`,
	), Options{})
	got := cfg.TOTP
	if got.KeyTemplate != (KeyTemplate{Prefix: "ssh-", Suffix: "@host1"}) || got.MaxFailures != 5 ||
		got.FailureWindow != 2*time.Minute || got.StateDir != "/run/vsh" || cfg.Timeout != 5*time.Second {
		t.Errorf("got %+v", got)
	}
	if cfg := mustParse(t, totpConfig(t, `totp_max_failures = "7"`), Options{}); cfg.TOTP.MaxFailures != 7 {
		t.Errorf("totp_max_failures as a string = %d", cfg.TOTP.MaxFailures)
	}
}

func TestAppRoleConfigReadsBothFiles(t *testing.T) {
	dir := t.TempDir()
	role := writeFile(t, dir, "role", " 5ebabd19-63d3-36bb-af4d-0047ced3bcd6\n", 0o400)
	secret := writeFile(t, dir, "secret", "30ad4838-8230-737c-4c39-87c639197a41", 0o600)
	text := totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", role, secret))
	a := mustParse(t, text, Options{}).TOTP.AppRole
	if a == nil || a.MountPoint != "approle" || a.RoleID.Reveal() != "5ebabd19-63d3-36bb-af4d-0047ced3bcd6" ||
		a.SecretID.Reveal() != "30ad4838-8230-737c-4c39-87c639197a41" || a.RoleIDFile != role || a.SecretIDFile != secret {
		t.Errorf("AppRole = %+v", a)
	}
	a = mustParse(t, text+`approle_mount_point = "/hosts/approle/"`+"\n", Options{}).TOTP.AppRole
	if a.MountPoint != "hosts/approle" {
		t.Errorf("approle_mount_point = %q", a.MountPoint)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	dir := t.TempDir()
	role := writeFile(t, dir, "role", "role-id-value", 0o600)
	secret := writeFile(t, dir, "secret", "secret-id-value", 0o600)
	for _, cfg := range []*Config{
		mustParse(t, totpConfig(t), Options{}),
		mustParse(t, totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", role, secret)), Options{}),
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			out := fmt.Sprintf(verb, cfg.TOTP) + fmt.Sprintf(verb, cfg.TOTP.AppRole) + fmt.Sprintf(verb, cfg.TOTP.Token)
			for _, s := range []string{testToken, "role-id-value", "secret-id-value"} {
				if strings.Contains(out, s) {
					t.Errorf("%s prints a secret: %s", verb, out)
				}
			}
		}
	}
}

// TestTOTPConfigErrors pins the full text of every TOTP config message.
func TestTOTPConfigErrors(t *testing.T) {
	dir := t.TempDir()
	token := writeFile(t, dir, "token", testToken, 0o600)
	role := writeFile(t, dir, "role", "r", 0o600)
	secret := writeFile(t, dir, "secret", "s", 0o600)
	tokenLine := `vault_token_file = "` + token + `"`
	roleLine, secretLine := `approle_role_id_file = "`+role+`"`, `approle_secret_id_file = "`+secret+`"`
	cases := []struct{ name, text, want string }{
		{"allowed_roles in TOTP", totpConfigWith(tokenLine, `allowed_roles = "*"`),
			`allowed_roles belongs to the SSH OTP mode; remove it from a TOTP config (one with totp_mount_point)`},
		{"allowed_cidr_list in TOTP", totpConfigWith(tokenLine, `allowed_cidr_list = "10.0.0.0/8"`),
			`allowed_cidr_list belongs to the SSH OTP mode; remove it from a TOTP config (one with totp_mount_point)`},
		{"ssh_mount_point in TOTP", totpConfigWith(tokenLine, `ssh_mount_point = "ssh"`),
			`ssh_mount_point belongs to the SSH OTP mode; remove it from a TOTP config (one with totp_mount_point)`},
		{"empty mount", strings.Replace(totpConfigWith(tokenLine), `"totp"`, `" / "`, 1), `totp_mount_point " / " is empty`},
		{"mount with a query", strings.Replace(totpConfigWith(tokenLine), `"totp"`, `"totp?x"`, 1),
			`totp_mount_point "totp?x" must not contain '?', '#', '%', '\' or white space`},
		{"mount with dot-dot", strings.Replace(totpConfigWith(tokenLine), `"totp"`, `"a/../totp"`, 1),
			`totp_mount_point "a/../totp" has an empty, '.' or '..' path segment`},
		{"template without username", totpConfigWith(tokenLine, `totp_key_template = "shared"`),
			`totp_key_template "shared" must contain {{username}} exactly once`},
		{"template with username twice", totpConfigWith(tokenLine, `totp_key_template = "{{username}}-{{username}}"`),
			`totp_key_template "{{username}}-{{username}}" must contain {{username}} exactly once`},
		{"template with a slash", totpConfigWith(tokenLine, `totp_key_template = "ssh/{{username}}"`),
			`totp_key_template "ssh/{{username}}" would give names Vault refuses: around {{username}} only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'`},
		{"template starting with a dash", totpConfigWith(tokenLine, `totp_key_template = "-{{username}}"`),
			`totp_key_template "-{{username}}" would give names Vault refuses: around {{username}} only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'`},
		{"template ending with a dot", totpConfigWith(tokenLine, `totp_key_template = "{{username}}."`),
			`totp_key_template "{{username}}." would give names Vault refuses: around {{username}} only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'`},
		{"template with another placeholder", totpConfigWith(tokenLine, `totp_key_template = "{{host}}-{{username}}"`),
			`totp_key_template "{{host}}-{{username}}" would give names Vault refuses: around {{username}} only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'`},
		{"token and AppRole", totpConfigWith(tokenLine, roleLine, secretLine),
			`vault_token_file and approle_role_id_file/approle_secret_id_file are both set: use one way to get a token`},
		{"role_id without secret_id", totpConfigWith(roleLine),
			`approle_role_id_file is set but approle_secret_id_file is not: set both`},
		{"secret_id without role_id", totpConfigWith(secretLine),
			`approle_secret_id_file is set but approle_role_id_file is not: set both`},
		{"no credentials", totpConfigWith(""),
			`a TOTP config needs vault_token_file, or approle_role_id_file and approle_secret_id_file`},
		{"AppRole mount alone", totpConfigWith(`approle_mount_point = "approle"`),
			`approle_mount_point is set but approle_role_id_file and approle_secret_id_file are not: set both`},
		{"AppRole mount with a token", totpConfigWith(tokenLine, `approle_mount_point = "approle"`),
			`approle_mount_point is set but AppRole is not used (vault_token_file is): remove it`},
		{"AppRole mount with a space", totpConfigWith(roleLine, secretLine, `approle_mount_point = "app role"`),
			`approle_mount_point "app role" must not contain '?', '#', '%', '\' or white space`},
		{"max failures zero", totpConfigWith(tokenLine, `totp_max_failures = 0`),
			`totp_max_failures "0" is not a whole number from 1 to 100`},
		{"max failures too many", totpConfigWith(tokenLine, `totp_max_failures = "101"`),
			`totp_max_failures "101" is not a whole number from 1 to 100`},
		{"max failures a fraction", totpConfigWith(tokenLine, `totp_max_failures = 2.5`),
			`totp_max_failures "2.5" is not a whole number from 1 to 100`},
		{"max failures a word", totpConfigWith(tokenLine, `totp_max_failures = "three"`),
			`totp_max_failures "three" is not a whole number from 1 to 100`},
		{"window not a duration", totpConfigWith(tokenLine, `totp_failure_window = "30"`),
			`totp_failure_window "30" is not a duration like "30s"`},
		{"window too short", totpConfigWith(tokenLine, `totp_failure_window = "500ms"`),
			`totp_failure_window "500ms" is outside 1s to 24h0m0s`},
		{"window too long", totpConfigWith(tokenLine, `totp_failure_window = "25h"`),
			`totp_failure_window "25h" is outside 1s to 24h0m0s`},
		{"relative state_dir", totpConfigWith(tokenLine, `state_dir = "var/lib/vsh"`),
			`state_dir "var/lib/vsh" is not an absolute path`},
		{"empty state_dir", totpConfigWith(tokenLine, `state_dir = ""`),
			`state_dir "" is not an absolute path`},
		{"state_dir with a newline", totpConfigWith(tokenLine, `state_dir = "/var/lib/a\nb"`),
			`state_dir "/var/lib/a\nb" is not an absolute path`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg := parseError(t, c.text, Options{}); msg != c.want {
				t.Errorf("error:\n got  %s\n want %s", msg, c.want)
			}
		})
	}
}

func TestSSHOTPConfigRefusesEveryTOTPKey(t *testing.T) {
	values := map[string]string{"totp_max_failures": "3", "totp_failure_window": `"30s"`}
	for _, key := range totpOnlyKeys {
		if key == "totp_mount_point" {
			continue // it makes the config a TOTP config
		}
		value := values[key]
		if value == "" {
			value = `"x"`
		}
		want := key + ` belongs to the TOTP mode, which needs totp_mount_point; remove it from an SSH OTP config`
		if msg := parseError(t, minimal+key+" = "+value+"\n", Options{}); msg != want {
			t.Errorf("%s:\n got  %s\n want %s", key, msg, want)
		}
	}
}

func TestTOTPConfigReportsEveryProblemAtOnce(t *testing.T) {
	msg := parseError(t, `vault_addr = "ftp://v"
totp_mount_point = "totp"
allowed_roles = "*"
totp_key_template = "x"
totp_max_failures = 0
`, Options{})
	for _, want := range []string{
		`vault_addr "ftp://v" is not an http:// or https:// URL with a host`,
		`allowed_roles belongs to the SSH OTP mode`,
		`totp_key_template "x" must contain {{username}} exactly once`,
		`totp_max_failures "0" is not a whole number from 1 to 100`,
		`a TOTP config needs vault_token_file`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

// TestSecretFileProblems pins the full text of every refusal of a token,
// role_id or secret_id file; none of them quotes the content.
func TestSecretFileProblems(t *testing.T) {
	dir := t.TempDir()
	const content = "hvs.secret-content"
	groupReadable := writeFile(t, dir, "group", content, 0o640)
	othersReadable := writeFile(t, dir, "others", content, 0o604)
	groupWritable := writeFile(t, dir, "gw", content, 0o620)
	empty := writeFile(t, dir, "empty", " \n\t", 0o600)
	twoLines := writeFile(t, dir, "two", content+"\n"+content+"\n", 0o600)
	spaced := writeFile(t, dir, "spaced", content+" x", 0o600)
	nonASCII := writeFile(t, dir, "nonascii", content+"é", 0o600)
	long := writeFile(t, dir, "long", strings.Repeat("a", 4097), 0o600)
	missing := filepath.Join(dir, "missing")
	cases := []struct{ name, path, want string }{
		{"readable by group", groupReadable, `vault_token_file "` + groupReadable + `" is readable by group or others (mode 0640); run: chmod go-r ` + groupReadable},
		{"readable by others", othersReadable, `vault_token_file "` + othersReadable + `" is readable by group or others (mode 0604); run: chmod go-r ` + othersReadable},
		{"only white space", empty, `vault_token_file "` + empty + `" is empty`},
		{"two lines", twoLines, `vault_token_file "` + twoLines + `" must hold the token alone, on one line of printable ASCII`},
		{"a space inside", spaced, `vault_token_file "` + spaced + `" must hold the token alone, on one line of printable ASCII`},
		{"not ASCII", nonASCII, `vault_token_file "` + nonASCII + `" must hold the token alone, on one line of printable ASCII`},
		{"too long", long, `vault_token_file "` + long + `" is longer than 4096 bytes`},
		{"no path", " ", `vault_token_file is empty`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := parseError(t, totpConfigWith(`vault_token_file = "`+c.path+`"`), Options{})
			if msg != c.want {
				t.Errorf("error:\n got  %s\n want %s", msg, c.want)
			}
			if strings.Contains(msg, content) {
				t.Errorf("error quotes the file's content: %s", msg)
			}
		})
	}
	// The rules every trusted file follows, the token file named by its key.
	for _, c := range []struct {
		name, path string
		reason     error
	}{
		{"writable by group", groupWritable, ErrUnsafePermissions},
		{"missing", missing, ErrNotExist},
		{"a directory", dir, ErrIsDirectory},
		{"a device", "/dev/null", ErrNotRegular},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := totpConfigWith(`vault_token_file = "` + c.path + `"`)
			wantRefusedFor(t, text, Options{}, c.reason, `vault_token_file "`+c.path+`"`)
			if msg := parseError(t, text, Options{}); strings.Contains(msg, content) {
				t.Errorf("error quotes the file's content: %s", msg)
			}
		})
	}
	// The AppRole files are held to the same rules, each named by its key.
	ok := writeFile(t, dir, "ok", "value", 0o600)
	msg := parseError(t, totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", twoLines, groupReadable)), Options{})
	want := `approle_role_id_file "` + twoLines + `" must hold the role_id alone, on one line of printable ASCII` + "\n" +
		`approle_secret_id_file "` + groupReadable + `" is readable by group or others (mode 0640); run: chmod go-r ` + groupReadable
	if msg != want {
		t.Errorf("error:\n got  %s\n want %s", msg, want)
	}
	msg = parseError(t, totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", ok, spaced)), Options{})
	if want := `approle_secret_id_file "` + spaced + `" must hold the secret_id alone, on one line of printable ASCII`; msg != want {
		t.Errorf("error:\n got  %s\n want %s", msg, want)
	}
}

func TestSecretFileOwnedByAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file to another user")
	}
	path := writeFile(t, t.TempDir(), "token", testToken, 0o600)
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	wantRefusedFor(t, totpConfigWith(`vault_token_file = "`+path+`"`), Options{}, ErrUnsafeOwner, `vault_token_file "`+path+`"`)
}

func TestDevModeStillReadsTheTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	text := strings.Replace(totpConfigWith(`vault_token_file = "`+path+`"`), "https://", "http://", 1)
	wantRefusedFor(t, text, Options{Dev: true}, ErrNotExist, `vault_token_file "`+path+`"`)
}
