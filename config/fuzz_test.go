package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input makes the parser panic, and an accepted config always
// carries what the rest of the program relies on, in the mode it asks for.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(`{"vault_addr": "https://v", "allowed_roles": "a,b"}`))
	// TOTP configs need a token file that passes the file checks; the seeds
	// name one made for this run.
	dir := f.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("hvs.fuzz\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("vault_addr = \"https://v\"\ntotp_mount_point = \"totp\"\nvault_token_file = \"" + token + "\"\n"))
	f.Add([]byte("vault_addr = \"https://v\"\ntotp_mount_point = \"a/totp\"\ntotp_key_template = \"ssh-{{username}}@h\"\n" +
		"approle_role_id_file = \"" + token + "\"\napprole_secret_id_file = \"" + token + "\"\napprole_mount_point = \"hosts\"\n" +
		"totp_max_failures = 5\ntotp_failure_window = \"1m\"\nstate_dir = \"/run/x\"\n"))
	f.Add([]byte(`{"vault_addr": "https://v", "totp_mount_point": "totp", "vault_token_file": "` + token + `", "totp_max_failures": "3"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dev := range []bool{false, true} {
			cfg, err := Parse(data, Options{Dev: dev})
			if err != nil {
				continue
			}
			if cfg.VaultAddr == nil || cfg.VaultAddr.Host == "" {
				t.Fatalf("accepted config without a Vault host: %q", data)
			}
			if cfg.Timeout < MinTimeout || cfg.Timeout > MaxTimeout {
				t.Fatalf("accepted config with timeout %v: %q", cfg.Timeout, data)
			}
			if want := map[bool]string{true: "http", false: "https"}[dev]; cfg.VaultAddr.Scheme != want {
				t.Fatalf("dev=%v accepted scheme %q", dev, cfg.VaultAddr.Scheme)
			}
			if cfg.TOTP != nil {
				checkTOTPConfig(t, cfg, data)
				continue
			}
			if !cfg.AnyRole && len(cfg.AllowedRoles) == 0 {
				t.Fatalf("accepted config without roles: %q", data)
			}
			if cfg.MountPoint == "" {
				t.Fatalf("accepted config without a mount: %q", data)
			}
		}
	})
}

// checkTOTPConfig: a TOTP config has a mount, exactly one way to a token, a
// template that gives Vault key names, and counts within bounds.
func checkTOTPConfig(t *testing.T, cfg *Config, data []byte) {
	t.Helper()
	c := cfg.TOTP
	if cfg.MountPoint != "" || cfg.AnyRole || len(cfg.AllowedRoles) > 0 || len(cfg.AllowedCIDRs) > 0 {
		t.Fatalf("TOTP config with SSH OTP settings: %q", data)
	}
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
