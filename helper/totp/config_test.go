package totp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/config/configtest"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

const minimal = `
vault_addr = "https://vault.example.com:8200"
allowed_roles = "*"
`

// modes are the binary's modes, which config reads this mode's keys through.
var modes = helper.Registry{sshotp.Plugin, Plugin}.Modes()

func parse(text string, opts config.Options) (*config.Config, error) {
	opts.Modes = modes
	return config.Parse([]byte(text), opts)
}

func mustParse(t *testing.T, text string, opts config.Options) *config.Config {
	t.Helper()
	cfg, err := parse(text, opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

// settingsOf is this mode's part of cfg, nil for a config of another mode.
func settingsOf(cfg *config.Config) *Settings {
	s, _ := cfg.ModeSettings.(*Settings)
	return s
}

func parseError(t *testing.T, text string, opts config.Options) string {
	t.Helper()
	_, err := parse(text, opts)
	if err == nil {
		t.Fatalf("Parse accepted:\n%s", text)
	}
	return err.Error()
}

// wantRefusedFor checks that Parse refuses text for reason in the problem
// that names subject (config's test of the same name).
func wantRefusedFor(t *testing.T, text string, opts config.Options, reason error, subject string) {
	t.Helper()
	_, err := parse(text, opts)
	if !configtest.Refuses(err, subject, reason) {
		t.Errorf("error %v: no problem naming %s for %q", err, subject, reason)
	}
}

func writeFile(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

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
	cfg := mustParse(t, totpConfig(t), config.Options{})
	got := settingsOf(cfg)
	if got == nil {
		t.Fatal("a config with totp_mount_point is not a TOTP config")
	}
	if got.MountPoint != "totp" || got.KeyTemplate != (KeyTemplate{}) || got.KeyTemplate.String() != "{{username}}" ||
		got.MaxFailures != 3 || got.FailureWindow != 30*time.Second || got.StateDir != "/var/lib/vault-ssh-helper" ||
		got.AppRole != nil || got.Token.Reveal() != testToken || got.CodeLifetime != 5*time.Minute || got.UsedCodes != nil {
		t.Errorf("defaults wrong: %+v", got)
	}
	if cfg.Mode != "TOTP" || cfg.Timeout != config.DefaultTimeout {
		t.Errorf("a TOTP config carries SSH OTP settings: %+v", cfg)
	}
}

func TestSSHOTPConfigHasNoTOTPPart(t *testing.T) {
	if cfg := mustParse(t, minimal, config.Options{}); settingsOf(cfg) != nil {
		t.Errorf("an SSH OTP config has a TOTP part: %+v", settingsOf(cfg))
	}
}

func TestTOTPConfigKeysAreRead(t *testing.T) {
	cfg := mustParse(t, totpConfig(t,
		`totp_key_template = " ssh-{{username}}@host1 "`,
		`totp_max_failures = 5`,
		`totp_failure_window = "2m"`,
		`state_dir = "/run/vsh/"`,
		`timeout = "5s"`,
	), config.Options{})
	got := settingsOf(cfg)
	if got.KeyTemplate != (KeyTemplate{Prefix: "ssh-", Suffix: "@host1"}) || got.MaxFailures != 5 ||
		got.FailureWindow != 2*time.Minute || got.StateDir != "/run/vsh" || cfg.Timeout != 5*time.Second {
		t.Errorf("got %+v", got)
	}
	if cfg := mustParse(t, totpConfig(t, `totp_max_failures = "7"`), config.Options{}); settingsOf(cfg).MaxFailures != 7 {
		t.Errorf("totp_max_failures as a string = %d", settingsOf(cfg).MaxFailures)
	}
}

func TestUsedCodesKeysAreRead(t *testing.T) {
	key := writeFile(t, t.TempDir(), "hmac", strings.Repeat("0f", 32)+"\n", 0o400)
	cfg := mustParse(t, totpConfig(t,
		`totp_code_lifetime = "10m"`,
		`totp_used_codes_path = "/kv/vault-ssh-helper/used/"`,
		`totp_used_codes_key_file = "`+key+`"`,
	), config.Options{})
	got := settingsOf(cfg)
	u := got.UsedCodes
	if got.CodeLifetime != 10*time.Minute || u == nil || u.Mount != "kv" || u.Prefix != "vault-ssh-helper/used" ||
		u.KeyFile != key || u.Key.Reveal() != strings.Repeat("0f", 32) {
		t.Errorf("got %+v, %+v", got, u)
	}
}

func TestAppRoleConfigReadsBothFiles(t *testing.T) {
	dir := t.TempDir()
	role := writeFile(t, dir, "role", " 5ebabd19-63d3-36bb-af4d-0047ced3bcd6\n", 0o400)
	secret := writeFile(t, dir, "secret", "30ad4838-8230-737c-4c39-87c639197a41", 0o600)
	text := totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", role, secret))
	a := settingsOf(mustParse(t, text, config.Options{})).AppRole
	if a == nil || a.MountPoint != "approle" || a.RoleID.Reveal() != "5ebabd19-63d3-36bb-af4d-0047ced3bcd6" ||
		a.SecretID.Reveal() != "30ad4838-8230-737c-4c39-87c639197a41" || a.RoleIDFile != role || a.SecretIDFile != secret {
		t.Errorf("AppRole = %+v", a)
	}
	a = settingsOf(mustParse(t, text+`approle_mount_point = "/hosts/approle/"`+"\n", config.Options{})).AppRole
	if a.MountPoint != "hosts/approle" {
		t.Errorf("approle_mount_point = %q", a.MountPoint)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	dir := t.TempDir()
	role := writeFile(t, dir, "role", "role-id-value", 0o600)
	secret := writeFile(t, dir, "secret", "secret-id-value", 0o600)
	for _, cfg := range []*config.Config{
		mustParse(t, totpConfig(t), config.Options{}),
		mustParse(t, totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", role, secret)), config.Options{}),
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			out := fmt.Sprintf(verb, settingsOf(cfg)) + fmt.Sprintf(verb, settingsOf(cfg).AppRole) + fmt.Sprintf(verb, settingsOf(cfg).Token)
			for _, s := range []string{testToken, "role-id-value", "secret-id-value"} {
				if strings.Contains(out, s) {
					t.Errorf("%s prints a secret: %s", verb, out)
				}
			}
		}
	}
}

func TestSSHOTPConfigRefusesEveryTOTPKey(t *testing.T) {
	values := map[string]string{"totp_max_failures": "3", "totp_failure_window": `"30s"`}
	for _, key := range Plugin.Keys {
		if key == "totp_mount_point" {
			continue // it makes the config a TOTP config
		}
		value := values[key]
		if value == "" {
			value = `"x"`
		}
		wantRefusedFor(t, minimal+key+" = "+value+"\n", config.Options{}, config.ErrOtherModesKey, key)
	}
}

func TestTOTPConfigReportsEveryProblemAtOnce(t *testing.T) {
	text := `vault_addr = "ftp://v"
totp_mount_point = "totp"
allowed_roles = "*"
totp_key_template = "x"
totp_max_failures = 0
`
	for _, c := range []struct {
		reason  error
		subject string
	}{
		{config.ErrNotURL, `vault_addr "ftp://v"`},
		{config.ErrOtherModesKey, `allowed_roles`},
		{ErrTemplateUser, `totp_key_template "x"`},
		{ErrNotWholeNumber, `totp_max_failures "0"`},
		{ErrNoCredentials, `a TOTP config`},
	} {
		wantRefusedFor(t, text, config.Options{}, c.reason, c.subject)
	}
}

// TestSecretFileProblems: a token, role_id or secret_id file is held to the
// rules every trusted file follows, named by its key, and no refusal quotes
// its content. The messages' own texts are pinned in TestMessages.
func TestSecretFileProblems(t *testing.T) {
	dir := t.TempDir()
	const content = "hvs.secret-content"
	groupReadable := writeFile(t, dir, "group", content, 0o640)
	groupWritable := writeFile(t, dir, "gw", content, 0o620)
	twoLines := writeFile(t, dir, "two", content+"\n"+content+"\n", 0o600)
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		name, path string
		reason     error
	}{
		{"readable by group", groupReadable, config.ErrSecretReadable},
		{"writable by group", groupWritable, trust.ErrUnsafePermissions},
		{"missing", missing, trust.ErrNotExist},
		{"a directory", dir, trust.ErrIsDirectory},
		{"a device", "/dev/null", trust.ErrNotRegular},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := totpConfigWith(`vault_token_file = "` + c.path + `"`)
			wantRefusedFor(t, text, config.Options{}, c.reason, `vault_token_file "`+c.path+`"`)
			if msg := parseError(t, text, config.Options{}); strings.Contains(msg, content) {
				t.Errorf("error quotes the file's content: %s", msg)
			}
		})
	}
	// Both AppRole files are read, and each problem named by its key.
	text := totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", twoLines, groupReadable))
	_, err := parse(text, config.Options{})
	if n := len(configtest.Problems(err)); n != 2 {
		t.Errorf("%d problems, want one for each file: %v", n, err)
	}
	wantRefusedFor(t, text, config.Options{}, config.ErrSecretReadable, `approle_secret_id_file "`+groupReadable+`"`)
	if msg := parseError(t, text, config.Options{}); !strings.HasPrefix(msg, `approle_role_id_file "`+twoLines+`" `) || strings.Contains(msg, content) {
		t.Errorf("error does not name the role_id file first, or quotes its content: %s", msg)
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
	wantRefusedFor(t, totpConfigWith(`vault_token_file = "`+path+`"`), config.Options{}, trust.ErrUnsafeOwner, `vault_token_file "`+path+`"`)
}

func TestDevModeStillReadsTheTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	text := strings.Replace(totpConfigWith(`vault_token_file = "`+path+`"`), "https://", "http://", 1)
	wantRefusedFor(t, text, config.Options{Dev: true}, trust.ErrNotExist, `vault_token_file "`+path+`"`)
}

// checkTOTPConfig: a TOTP config has a mount, exactly one way to a token, a
// template that gives Vault key names, and counts within bounds.
func checkTOTPConfig(t *testing.T, cfg *config.Config, data []byte) {
	t.Helper()
	c := settingsOf(cfg)
	if c.MountPoint == "" || strings.Contains(c.MountPoint, "..") {
		t.Fatalf("TOTP config with mount %q: %q", c.MountPoint, data)
	}
	if (c.Token.Reveal() == "") == (c.AppRole == nil) {
		t.Fatalf("TOTP config without exactly one way to a token: %q", data)
	}
	if c.AppRole != nil && (c.AppRole.MountPoint == "" || c.AppRole.RoleID.Reveal() == "" || c.AppRole.SecretID.Reveal() == "") {
		t.Fatalf("AppRole without mount or IDs: %q", data)
	}
	if _, err := KeyName(c.KeyTemplate, "u"); err != nil {
		t.Fatalf("template %q accepted: %q", c.KeyTemplate, data)
	}
	if c.MaxFailures < 1 || c.MaxFailures > ratelimit.MaxFailures || c.FailureWindow < time.Second || c.FailureWindow > 24*time.Hour {
		t.Fatalf("TOTP config with limit %d per %v: %q", c.MaxFailures, c.FailureWindow, data)
	}
	if !filepath.IsAbs(c.StateDir) {
		t.Fatalf("TOTP config with state_dir %q: %q", c.StateDir, data)
	}
}

// FuzzParseSettings: an accepted config with totp_mount_point is a TOTP
// config that carries what the mode relies on.
func FuzzParseSettings(f *testing.F) {
	token := filepath.Join(f.TempDir(), "token")
	if err := os.WriteFile(token, []byte("hvs.fuzz\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("vault_addr = \"https://v\"\ntotp_mount_point = \"totp\"\nvault_token_file = \"" + token + "\"\n"))
	f.Add([]byte("vault_addr = \"https://v\"\ntotp_mount_point = \"a/totp\"\ntotp_key_template = \"ssh-{{username}}@h\"\n" +
		"approle_role_id_file = \"" + token + "\"\napprole_secret_id_file = \"" + token + "\"\napprole_mount_point = \"hosts\"\n" +
		"totp_max_failures = 5\ntotp_failure_window = \"1m\"\nstate_dir = \"/run/x\"\n"))
	f.Add([]byte(`{"vault_addr": "https://v", "totp_mount_point": "totp", "vault_token_file": "` + token + `", "totp_max_failures": "3"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse(string(data), config.Options{})
		if err != nil || cfg.Mode != Plugin.Name {
			return
		}
		checkTOTPConfig(t, cfg, data)
	})
}

// TestConfigMessages is the one place the full text of each of this mode's
// config messages is written (config's TestMessages holds the shared ones):
// each want is one problem of the refusal, word for word, wraps exactly the
// sentinels whose words it holds, and quotes no secret file's content.
func TestConfigMessages(t *testing.T) {
	sentinels := []error{config.ErrEmpty, config.ErrPathChars, config.ErrPathSegment, config.ErrNotDuration,
		config.ErrOutside, config.ErrSetBothOrNeither, config.ErrSecretReadable, ErrTemplateUser, ErrNotWholeNumber,
		ErrTokenAndAppRole, ErrRoleIDAlone, ErrSecretIDAlone, ErrAppRoleMountAlone, ErrNoCredentials, ErrAppRoleMountUnused,
		ErrUsedCodesNoPrefix, ErrUsedCodesKeyShort}
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
	for _, c := range []struct{ name, text, want string }{
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
		{"lifetime not a duration", totpConfigWith(tokenLine, `totp_code_lifetime = "300"`),
			`totp_code_lifetime "300" is not a duration like "5m"`},
		{"lifetime too short", totpConfigWith(tokenLine, `totp_code_lifetime = "500ms"`),
			`totp_code_lifetime "500ms" is outside 1s to 24h0m0s`},
		{"lifetime too long", totpConfigWith(tokenLine, `totp_code_lifetime = "25h"`),
			`totp_code_lifetime "25h" is outside 1s to 24h0m0s`},
		{"used codes path without key", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/vsh"`),
			`totp_used_codes_path is set but totp_used_codes_key_file is not: set both or neither`},
		{"used codes key without path", totpConfigWith(tokenLine, `totp_used_codes_key_file = "`+hmacKey+`"`),
			`totp_used_codes_key_file is set but totp_used_codes_path is not: set both or neither`},
		{"used codes path without prefix", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/"`, `totp_used_codes_key_file = "`+hmacKey+`"`),
			`totp_used_codes_path "kv/" must be a KV v2 mount and a prefix under it, like "kv/vault-ssh-helper/used"`},
		{"used codes path with a bad segment", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/../x"`, `totp_used_codes_key_file = "`+hmacKey+`"`),
			`totp_used_codes_path "kv/../x" has an empty, '.' or '..' path segment`},
		{"used codes key short", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/vsh"`, `totp_used_codes_key_file = "`+token+`"`),
			`totp_used_codes_key_file "` + token + `" must hold at least 32 characters: make it with openssl rand -hex 32`},
		{"used codes key readable", totpConfigWith(tokenLine, `totp_used_codes_path = "kv/vsh"`, `totp_used_codes_key_file = "`+groupReadable+`"`),
			`totp_used_codes_key_file "` + groupReadable + `" is readable by group or others (mode 0640); run: chmod go-r ` + groupReadable},
		{"relative state_dir", totpConfigWith(tokenLine, `state_dir = "var/lib/vsh"`),
			`state_dir "var/lib/vsh" is not an absolute path`},
		{"empty state_dir", totpConfigWith(tokenLine, `state_dir = ""`),
			`state_dir "" is not an absolute path`},
		{"state_dir with a newline", totpConfigWith(tokenLine, `state_dir = "/var/lib/a\nb"`),
			`state_dir "/var/lib/a\nb" is not an absolute path`},
		{"token file readable by group", tokenFile(groupReadable),
			`vault_token_file "` + groupReadable + `" is readable by group or others (mode 0640); run: chmod go-r ` + groupReadable},
		{"token file readable by others", tokenFile(othersReadable),
			`vault_token_file "` + othersReadable + `" is readable by group or others (mode 0604); run: chmod go-r ` + othersReadable},
		{"token file only white space", tokenFile(empty), `vault_token_file "` + empty + `" is empty`},
		{"token file of two lines", tokenFile(twoLines), `vault_token_file "` + twoLines + `" must hold the token alone, on one line of printable ASCII`},
		{"token file with a space inside", tokenFile(spaced), `vault_token_file "` + spaced + `" must hold the token alone, on one line of printable ASCII`},
		{"token file not ASCII", tokenFile(nonASCII), `vault_token_file "` + nonASCII + `" must hold the token alone, on one line of printable ASCII`},
		{"token file too long", tokenFile(long), `vault_token_file "` + long + `" is longer than 4096 bytes`},
		{"token file without a path", tokenFile(" "), `vault_token_file is empty`},
		{"role_id file of two lines", appRole(twoLines, secret),
			`approle_role_id_file "` + twoLines + `" must hold the role_id alone, on one line of printable ASCII`},
		{"secret_id file readable by group", appRole(role, groupReadable),
			`approle_secret_id_file "` + groupReadable + `" is readable by group or others (mode 0640); run: chmod go-r ` + groupReadable},
		{"secret_id file with a space inside", appRole(role, spaced),
			`approle_secret_id_file "` + spaced + `" must hold the secret_id alone, on one line of printable ASCII`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(c.text, config.Options{})
			problem := configtest.Named(err, c.want)
			if problem == nil {
				t.Fatalf("no problem reads\n %s\nin\n %v", c.want, err)
			}
			if strings.Contains(problem.Error(), content) {
				t.Errorf("message quotes a secret file's content: %s", problem)
			}
			for _, s := range sentinels {
				if holds := strings.Contains(c.want, s.Error()); errors.Is(problem, s) != holds {
					t.Errorf("errors.Is(%q, %q) = %v, want %v", problem, s, !holds, holds)
				}
			}
		})
	}
}
