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
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
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
	for _, p := range problemsOf(err) {
		named := p.Error() == subject || strings.HasPrefix(p.Error(), subject+" ")
		if named && errors.Is(p, reason) {
			return
		}
	}
	t.Errorf("error %v: no problem naming %s for %q", err, subject, reason)
}

func problemsOf(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, problemsOf(e)...)
	}
	return out
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
		u.Path() != "kv/vault-ssh-helper/used" || u.KeyFile != key || u.Key.Reveal() != strings.Repeat("0f", 32) {
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
		{"writable by group", groupWritable, config.ErrUnsafePermissions},
		{"missing", missing, config.ErrNotExist},
		{"a directory", dir, config.ErrIsDirectory},
		{"a device", "/dev/null", config.ErrNotRegular},
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
	if n := len(problemsOf(err)); n != 2 {
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
	wantRefusedFor(t, totpConfigWith(`vault_token_file = "`+path+`"`), config.Options{}, config.ErrUnsafeOwner, `vault_token_file "`+path+`"`)
}

func TestDevModeStillReadsTheTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	text := strings.Replace(totpConfigWith(`vault_token_file = "`+path+`"`), "https://", "http://", 1)
	wantRefusedFor(t, text, config.Options{Dev: true}, config.ErrNotExist, `vault_token_file "`+path+`"`)
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
	if !isKeyPrefix(c.KeyTemplate.Prefix) || !isKeySuffix(c.KeyTemplate.Suffix) {
		t.Fatalf("template %q accepted: %q", c.KeyTemplate, data)
	}
	if c.MaxFailures < 1 || c.MaxFailures > MaxMaxFailures || c.FailureWindow < MinFailureWindow || c.FailureWindow > MaxFailureWindow {
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
