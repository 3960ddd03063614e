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
		got.AppRole != nil || got.Token.Reveal() != testToken || got.CodeLifetime != 5*time.Minute || got.UsedCodes != nil {
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

func TestUsedCodesKeysAreRead(t *testing.T) {
	key := writeFile(t, t.TempDir(), "hmac", strings.Repeat("0f", 32)+"\n", 0o400)
	cfg := mustParse(t, totpConfig(t,
		`totp_code_lifetime = "10m"`,
		`totp_used_codes_path = "/kv/vault-ssh-helper/used/"`,
		`totp_used_codes_key_file = "`+key+`"`,
	), Options{})
	got := cfg.TOTP
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
		wantRefusedFor(t, minimal+key+" = "+value+"\n", Options{}, ErrTOTPKeyInSSHOTP, key)
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
		{ErrNotURL, `vault_addr "ftp://v"`},
		{ErrSSHOTPKeyInTOTP, `allowed_roles`},
		{ErrTemplateUser, `totp_key_template "x"`},
		{ErrNotWholeNumber, `totp_max_failures "0"`},
		{ErrNoCredentials, `a TOTP config`},
	} {
		wantRefusedFor(t, text, Options{}, c.reason, c.subject)
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
		{"readable by group", groupReadable, ErrSecretReadable},
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
	// Both AppRole files are read, and each problem named by its key.
	text := totpConfigWith(fmt.Sprintf("approle_role_id_file = %q\napprole_secret_id_file = %q", twoLines, groupReadable))
	_, err := Parse([]byte(text), Options{})
	if n := len(problemsOf(err)); n != 2 {
		t.Errorf("%d problems, want one for each file: %v", n, err)
	}
	wantRefusedFor(t, text, Options{}, ErrSecretReadable, `approle_secret_id_file "`+groupReadable+`"`)
	if msg := parseError(t, text, Options{}); !strings.HasPrefix(msg, `approle_role_id_file "`+twoLines+`" `) || strings.Contains(msg, content) {
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
	wantRefusedFor(t, totpConfigWith(`vault_token_file = "`+path+`"`), Options{}, ErrUnsafeOwner, `vault_token_file "`+path+`"`)
}

func TestDevModeStillReadsTheTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	text := strings.Replace(totpConfigWith(`vault_token_file = "`+path+`"`), "https://", "http://", 1)
	wantRefusedFor(t, text, Options{Dev: true}, ErrNotExist, `vault_token_file "`+path+`"`)
}
