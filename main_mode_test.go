package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp"
)

// TestTheConfigChoosesTheMode: through the registry main uses, a file
// without a mode's selector gets the SSH OTP mode, and totp_mount_point
// gets the TOTP mode.
func TestTheConfigChoosesTheMode(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("hvs.x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{
		"vault_addr = \"https://v\"\nallowed_roles = \"*\"\n":                                             sshotp.Plugin.Name,
		"vault_addr = \"https://v\"\ntotp_mount_point = \"totp\"\nvault_token_file = \"" + token + "\"\n": totp.Plugin.Name,
	} {
		cfg, err := config.Parse([]byte(text), config.Options{Modes: modes.Modes()})
		if err != nil {
			t.Fatal(err)
		}
		m, err := modes.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, isSSH := m.(*sshotp.Mode)
		_, isTOTP := m.(*totp.Mode)
		if cfg.Mode != want || isSSH != (want == sshotp.Plugin.Name) || isTOTP != (want == totp.Plugin.Name) {
			t.Errorf("config %q gave mode %q (%T), want %s", text, cfg.Mode, m, want)
		}
	}
}
