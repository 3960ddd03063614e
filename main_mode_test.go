package main

import (
	"net/url"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp"
)

func TestTheConfigChoosesTheMode(t *testing.T) {
	addr, _ := url.Parse("https://vault.example.com")
	if _, ok := newMode(&config.Config{VaultAddr: addr, MountPoint: "ssh"}, nil).(*sshotp.Mode); !ok {
		t.Error("an SSH OTP config did not give the SSH OTP mode")
	}
	cfg := &config.Config{VaultAddr: addr, TOTP: &config.TOTP{MountPoint: "totp"}}
	if _, ok := newMode(cfg, nil).(*totp.Mode); !ok {
		t.Error("a TOTP config did not give the TOTP mode")
	}
}
