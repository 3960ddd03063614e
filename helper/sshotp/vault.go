package sshotp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// Verified is what Vault says an OTP was issued for.
type Verified struct {
	Username string
	IP       netip.Addr
	RoleName string
}

// The SSH engine's own answers, told apart with errors.Is. Both deny.
var (
	ErrOTPNotFound = errors.New("OTP not found or already used")
	ErrBadEcho     = errors.New("Vault did not echo verify-echo-response")
)

// EchoRequest and EchoResponse are Vault's fixed -verify-only exchange.
const (
	EchoRequest  = "verify-echo-request"
	EchoResponse = "verify-echo-response"
)

// Client asks the SSH secrets engine at one mount about OTPs.
type Client struct {
	vault *agent.Client
	path  string
}

// NewClient talks to the engine mounted at mount through vault.
func NewClient(vault *agent.Client, mount string) *Client {
	return &Client{vault: vault, path: "/v1/" + mount + "/verify"}
}

// Verify asks Vault whether otp is valid. Vault consumes the OTP as it answers.
func (c *Client) Verify(ctx context.Context, otp string) (Verified, error) {
	var v Verified
	body, err := c.put(ctx, otp)
	if err == nil {
		v, err = decodeVerify(ctx, body)
	}
	if err != nil {
		return Verified{}, fmt.Errorf("verify at %s: %w", c.vault.URL(c.path), err)
	}
	return v, nil
}

// Echo is -verify-only: it proves the address, TLS and mount are right
// without an OTP.
func (c *Client) Echo(ctx context.Context) error {
	body, err := c.put(ctx, EchoRequest)
	if err == nil {
		err = decodeEcho(body)
	}
	if err != nil {
		return fmt.Errorf("verify-only at %s: %w", c.vault.URL(c.path), err)
	}
	return nil
}

// put sends {"otp": otp} to <mount>/verify. Vault answers an unknown, used
// or empty OTP with 400 "OTP not found".
func (c *Client) put(ctx context.Context, otp string) ([]byte, error) {
	body, err := c.vault.Put(ctx, c.path, map[string]string{"otp": otp})
	var ve *agent.VaultError
	if errors.As(err, &ve) && ve.Says(400, "OTP not found") {
		return nil, ErrOTPNotFound
	}
	return body, err
}

// verifyData is the part of Vault's data we read; pointers tell "absent"
// from "empty".
type verifyData struct {
	Username *string `json:"username"`
	IP       *string `json:"ip"`
	RoleName *string `json:"role_name"`
	Message  *string `json:"message"`
}

// decodeVerify reads a 2xx verify answer; it never returns a zero Verified
// with a nil error.
func decodeVerify(ctx context.Context, body []byte) (Verified, error) {
	var d verifyData
	if err := agent.DecodeData(body, &d); err != nil {
		return Verified{}, err
	}
	if d.Username == nil || *d.Username == "" {
		return Verified{}, fmt.Errorf("%w: data.username is missing or empty", agent.ErrMalformed)
	}
	if d.IP == nil {
		return Verified{}, fmt.Errorf("%w: data.ip is missing", agent.ErrMalformed)
	}
	ip, err := netip.ParseAddr(*d.IP)
	if err != nil || ip.Zone() != "" {
		return Verified{}, fmt.Errorf("%w: data.ip %q is not an IP address", agent.ErrMalformed, agent.Quote(ctx, *d.IP))
	}
	if d.RoleName == nil {
		return Verified{}, fmt.Errorf("%w: data.role_name is missing", agent.ErrMalformed)
	}
	return Verified{Username: *d.Username, IP: ip, RoleName: *d.RoleName}, nil
}

func decodeEcho(body []byte) error {
	var d verifyData
	if err := agent.DecodeData(body, &d); err != nil {
		return err
	}
	if d.Message == nil || *d.Message != EchoResponse {
		return ErrBadEcho
	}
	return nil
}
