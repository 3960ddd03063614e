package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
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

// TestModesKeysAreTheirsAlone: no key belongs to two modes or is one of
// config's shared keys (which config would read first), each selector is
// among its mode's keys, and exactly one mode (the default) has none.
func TestModesKeysAreTheirsAlone(t *testing.T) {
	owner := map[string]string{}
	defaults := 0
	for _, p := range modes {
		if p.Selector == "" {
			defaults++
		} else if !slices.Contains(p.Keys, p.Selector) {
			t.Errorf("the %s mode's selector %s is not among its keys", p.Name, p.Selector)
		}
		for _, k := range p.Keys {
			if o, taken := owner[k]; taken {
				t.Errorf("key %s belongs to the %s and the %s mode", k, o, p.Name)
			}
			owner[k] = p.Name
			_, err := config.Parse([]byte("vault_addr = \"https://v\"\n"+k+" = \"1\"\n"), config.Options{})
			if !errors.Is(err, config.ErrInvalidKey) {
				t.Errorf("key %s of the %s mode is one of config's own: %v", k, p.Name, err)
			}
		}
	}
	if defaults != 1 {
		t.Errorf("%d modes without a selector, want 1 (the default)", defaults)
	}
}
