package config

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"

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
			cfg, err := parse(data, Options{Dev: dev})
			if err != nil {
				continue
			}
			if len(cfg.VaultAddrs) == 0 || slices.ContainsFunc(cfg.VaultAddrs, func(u *url.URL) bool { return u.Host == "" }) {
				t.Fatalf("accepted config without a Vault host: %q", data)
			}
			if cfg.Timeout < MinTimeout || cfg.Timeout > MaxTimeout {
				t.Fatalf("accepted config with timeout %v: %q", cfg.Timeout, data)
			}
			if want := map[bool]string{true: "http", false: "https"}[dev]; cfg.VaultAddrs[0].Scheme != want {
				t.Fatalf("dev=%v accepted scheme %q", dev, cfg.VaultAddrs[0].Scheme)
			}
			if cfg.Mode == "" || cfg.ModeSettings == nil {
				t.Fatalf("accepted config without a mode: %q", data)
			}
		}
	})
}
