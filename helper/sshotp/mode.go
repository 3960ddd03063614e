// Package sshotp is the SSH OTP mode, the original helper's job: the
// password is a one-time password issued by Vault's SSH secrets engine, and
// a login is verified when Vault confirms it was issued for this user
// (PAM_USER), this host and an allowed role.
package sshotp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// OTPMark stands in for the OTP in a message that would otherwise carry it.
const OTPMark = "<the OTP>"

// SummaryOTPIP is the summary line's field for the IP Vault said the OTP
// was issued for, whether or not the login was then allowed; "-" when
// Vault did not say (it refused the OTP, or was not asked).
const SummaryOTPIP = "otp_ip"

// The reasons the mode denies. The messages are the original's where it
// had one, so existing runbooks still match the log.
var (
	ErrNotOTPShape      = errors.New("password is not an OTP (a UUID: 8-4-4-4-12 hexadecimal digits)")
	ErrNoPAMUser        = errors.New("PAM_USER is empty")
	ErrUsernameMismatch = errors.New("username mismatch")
	ErrIPNotLocal       = errors.New("IP did not match any of the network interface addresses. " +
		"If this was expected, configure the 'allowed_cidr_list' option to allow the IP.")
	ErrIPNotAllowed = errors.New("IP did not match any of the network interface addresses " +
		"nor any entry of allowed_cidr_list")
	ErrNoAllowedRoles = errors.New("missing allowed_roles")
	ErrRoleNotAllowed = errors.New("role is not in allowed_roles")
	// The SSH engine's own answers.
	ErrOTPNotFound = errors.New("OTP not found or already used")
	ErrBadEcho     = errors.New("Vault did not echo verify-echo-response")
)

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

func (m *Mode) About() helper.About {
	return helper.About{
		Announce:      "using SSH mount point: " + m.cfg.MountPoint,
		Secret:        "the OTP",
		CheckStep:     "sending " + EchoRequest,
		SummaryFields: []string{SummaryOTPIP},
	}
}

// ReadPassword returns the typed password if it has a Vault OTP's shape,
// before any network traffic: no other password ever leaves the host.
func (*Mode) ReadPassword(r io.Reader) (string, error) {
	pw, err := helper.ReadPassword(r)
	if err != nil {
		return "", err
	}
	if !isUUID(pw) {
		return "", ErrNotOTPShape
	}
	return string(pw), nil
}

// isUUID accepts 8-4-4-4-12 hexadecimal digits, either case.
func isUUID(b []byte) bool {
	const shape = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
	if len(b) != len(shape) {
		return false
	}
	for i, c := range b {
		isHex := strings.IndexByte("0123456789abcdefABCDEF", c) >= 0
		if (shape[i] == '-') != (c == '-') || shape[i] == 'x' && !isHex {
			return false
		}
	}
	return true
}

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

// Decide checks Vault's answer against who is logging in and where, in the
// original's order: username, IP, role. nil is the only answer that allows.
// What it quotes goes through agent.Quote with ctx's secrets.
func Decide(ctx context.Context, v Verified, pamUser string, local []netip.Addr, s *Settings) error {
	switch {
	case pamUser == "":
		return ErrNoPAMUser
	case v.Username != pamUser:
		return fmt.Errorf("%w: the OTP is for %q, PAM_USER is %q", ErrUsernameMismatch,
			agent.Quote(ctx, v.Username), agent.Quote(ctx, pamUser))
	}
	if err := checkIP(v.IP, local, s.AllowedCIDRs); err != nil {
		return err
	}
	role := strings.TrimSpace(v.RoleName)
	switch {
	case s.AnyRole || slices.Contains(s.AllowedRoles, role):
		return nil
	case len(s.AllowedRoles) == 0:
		return ErrNoAllowedRoles
	}
	return fmt.Errorf("%w: %q", ErrRoleNotAllowed, agent.Quote(ctx, role))
}

// checkIP wants the OTP's IP to be one of this host's addresses exactly
// (CVE-2020-24359: not merely inside an interface's subnet), or inside one
// of the operator's allowed CIDR blocks.
func checkIP(ip netip.Addr, local []netip.Addr, allowed []netip.Prefix) error {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return fmt.Errorf("%w: the OTP carries no IP", ErrIPNotLocal)
	case slices.ContainsFunc(local, func(a netip.Addr) bool { return a.Unmap() == ip }),
		slices.ContainsFunc(allowed, func(p netip.Prefix) bool { return p.Contains(ip) }):
		return nil
	case len(allowed) == 0:
		return fmt.Errorf("%w (OTP IP %s)", ErrIPNotLocal, ip)
	}
	return fmt.Errorf("%w (OTP IP %s)", ErrIPNotAllowed, ip)
}

// InterfaceAddrs lists this host's addresses, IPv4-mapped ones unmapped.
func InterfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list network interface addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipnet.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}

// Verified is what Vault says an OTP was issued for.
type Verified struct {
	Username string
	IP       netip.Addr
	RoleName string
}

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

// Echo is -verify-only: it proves the address, TLS and mount without an OTP.
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

// verifyData is what we read of Vault's data; pointers tell absent from empty.
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
