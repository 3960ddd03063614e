// Package sshotp is the SSH OTP mode, the original helper's job: the
// password is a one-time password issued by Vault's SSH secrets engine, and
// a login is verified when Vault confirms it was issued for this user
// (PAM_USER), this host and an allowed role.
package sshotp

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// OTPMark stands in for the OTP in a message that would otherwise carry it.
const OTPMark = "<the OTP>"

// Mode is the SSH OTP mode for one config.
type Mode struct {
	cfg    *Settings
	client *Client
	// Local lists this host's addresses; tests replace it.
	Local func() ([]netip.Addr, error)
}

// New is the SSH OTP mode for the settings cfg, asking Vault through vault.
func New(cfg *Settings, vault *agent.Client) *Mode {
	return &Mode{cfg: cfg, client: NewClient(vault, cfg.MountPoint), Local: InterfaceAddrs}
}

// About is what the run's log lines say about this mode.
func (m *Mode) About() helper.About {
	return helper.About{
		Announce:      "using SSH mount point: " + m.cfg.MountPoint,
		Secret:        "the OTP",
		CheckStep:     "sending " + EchoRequest,
		SummaryFields: []string{SummaryOTPIP},
	}
}

// SummaryOTPIP is the summary line's field for the IP Vault said the OTP
// was issued for, whether or not the login was then allowed; "-" when
// Vault did not say (it refused the OTP, or was not asked).
const SummaryOTPIP = "otp_ip"

// ReadPassword reads the OTP from stdin (ReadOTP).
func (m *Mode) ReadPassword(r io.Reader) (string, error) { return ReadOTP(r) }

// Login asks Vault about otp, then decides. Its errors may quote what the
// server said: the OTP travels in ctx as a secret, so every quote leaves
// out any echo of it before it is cut, and the whole message is checked
// once more at the end.
func (m *Mode) Login(ctx context.Context, otp, pamUser string) (r helper.Result, err error) {
	ctx = agent.WithSecrets(ctx, agent.Secret{Value: otp, Mark: OTPMark})
	defer func() { err = agent.WithoutSecrets(ctx, err) }()
	v, err := m.client.Verify(ctx, otp)
	if err != nil {
		return r, err
	}
	if ip := v.IP.Unmap(); ip.IsValid() {
		r.Fields = map[string]string{SummaryOTPIP: ip.String()}
	}
	local, err := m.Local()
	if err != nil {
		return r, err
	}
	if err := Decide(ctx, v, pamUser, local, m.cfg); err != nil {
		return r, err
	}
	r.Who = fmt.Sprintf("%s@%s", v.Username, v.IP)
	return r, nil
}

// Check is -verify-only: Vault's echo proves the address, TLS and mount.
func (m *Mode) Check(ctx context.Context) ([]helper.Finding, error) { return nil, m.client.Echo(ctx) }
