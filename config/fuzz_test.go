package config

import "testing"

// FuzzParse: no input makes the parser panic, and an accepted config always
// carries what the rest of the program relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(`{"vault_addr": "https://v", "allowed_roles": "a,b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dev := range []bool{false, true} {
			cfg, err := Parse(data, Options{Dev: dev})
			if err != nil {
				continue
			}
			if cfg.VaultAddr == nil || cfg.VaultAddr.Host == "" {
				t.Fatalf("accepted config without a Vault host: %q", data)
			}
			if !cfg.AnyRole && len(cfg.AllowedRoles) == 0 {
				t.Fatalf("accepted config without roles: %q", data)
			}
			if cfg.MountPoint == "" || cfg.Timeout < MinTimeout || cfg.Timeout > MaxTimeout {
				t.Fatalf("accepted config with mount %q timeout %v: %q", cfg.MountPoint, cfg.Timeout, data)
			}
			if want := map[bool]string{true: "http", false: "https"}[dev]; cfg.VaultAddr.Scheme != want {
				t.Fatalf("dev=%v accepted scheme %q", dev, cfg.VaultAddr.Scheme)
			}
		}
	})
}
