package main

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
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

// findingMode is a mode whose Check reports fixed findings.
type findingMode struct {
	found []helper.Finding
	err   error
}

func (findingMode) Announce() string                                      { return "" }
func (findingMode) Secret() string                                        { return "" }
func (findingMode) ReadPassword(io.Reader) (string, error)                { return "", nil }
func (findingMode) Login(context.Context, string, string) (string, error) { return "", nil }
func (findingMode) CheckStep() string                                     { return "checking" }
func (m findingMode) Check(context.Context) ([]helper.Finding, error)     { return m.found, m.err }

func TestVerifyOnlyLogsWhatItFoundWarningsAtWarn(t *testing.T) {
	addr, _ := url.Parse("https://vault.example.com")
	cfg := &config.Config{VaultAddr: addr, Timeout: time.Second}
	// Stand-in findings: the modes' own are pinned in their packages.
	found := []helper.Finding{{Text: "finding one"}, {Warning: true, Text: "finding two"}}
	for _, failure := range []error{nil, errors.New("a stand-in failure")} {
		var buf syncBuffer
		log := newLogger(newOutbox(), &buf)
		o, err := check(context.Background(), findingMode{found: found, err: failure}, cfg, log)
		if !log.finish(hangDetector) {
			t.Fatal("the log was not written out")
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if failure != nil {
			if o != denied || err != failure || len(lines) != 2 {
				t.Errorf("failed check: outcome %v, err %v, log:\n%s", o, err, buf.String())
			}
		} else if o != echoVerified || err != nil || len(lines) != 3 || !strings.HasSuffix(lines[2], "[INFO]  "+reason(t, "main.verified")) {
			t.Errorf("check: outcome %v, err %v, log:\n%s", o, err, buf.String())
		}
		if !strings.HasSuffix(lines[0], "[INFO]  finding one") || !strings.HasSuffix(lines[1], "[WARN]  finding two") {
			t.Errorf("findings logged as:\n%s", buf.String())
		}
	}
}
