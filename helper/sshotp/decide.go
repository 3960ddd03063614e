package sshotp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// The reasons Decide denies. The messages are the original's where it had
// one, so existing runbooks still match the log.
var (
	ErrNoPAMUser        = errors.New("PAM_USER is empty")
	ErrUsernameMismatch = errors.New("username mismatch")
	ErrIPNotLocal       = errors.New("IP did not match any of the network interface addresses. " +
		"If this was expected, configure the 'allowed_cidr_list' option to allow the IP.")
	ErrIPNotAllowed = errors.New("IP did not match any of the network interface addresses " +
		"nor any entry of allowed_cidr_list")
	ErrNoAllowedRoles = errors.New("missing allowed_roles")
	ErrRoleNotAllowed = errors.New("role is not in allowed_roles")
)

// Decide checks Vault's answer against who is logging in and where, in the
// original's order: username, IP, role. nil is the only answer that allows.
// What it quotes goes through agent.Quote with ctx's secrets.
func Decide(ctx context.Context, v Verified, pamUser string, local []netip.Addr, s *Settings) error {
	if err := checkUsername(ctx, v.Username, pamUser); err != nil {
		return err
	}
	if err := checkIP(v.IP, local, s.AllowedCIDRs); err != nil {
		return err
	}
	return checkRole(ctx, v.RoleName, s)
}

func checkUsername(ctx context.Context, otpUser, pamUser string) error {
	if pamUser == "" {
		return ErrNoPAMUser
	}
	if otpUser != pamUser {
		return fmt.Errorf("%w: the OTP is for %q, PAM_USER is %q", ErrUsernameMismatch,
			agent.Quote(ctx, otpUser), agent.Quote(ctx, pamUser))
	}
	return nil
}

// checkIP wants the OTP's IP to be one of this host's addresses exactly
// (CVE-2020-24359: not merely inside an interface's subnet), or inside one
// of the operator's allowed CIDR blocks.
func checkIP(ip netip.Addr, local []netip.Addr, allowed []netip.Prefix) error {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return fmt.Errorf("%w: the OTP carries no IP", ErrIPNotLocal)
	}
	if slices.ContainsFunc(local, func(a netip.Addr) bool { return a.Unmap() == ip }) ||
		slices.ContainsFunc(allowed, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		return nil
	}
	if len(allowed) == 0 {
		return fmt.Errorf("%w (OTP IP %s)", ErrIPNotLocal, ip)
	}
	return fmt.Errorf("%w (OTP IP %s)", ErrIPNotAllowed, ip)
}

func checkRole(ctx context.Context, role string, s *Settings) error {
	if s.AnyRole {
		return nil
	}
	if len(s.AllowedRoles) == 0 {
		return ErrNoAllowedRoles
	}
	role = strings.TrimSpace(role)
	if slices.Contains(s.AllowedRoles, role) {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrRoleNotAllowed, agent.Quote(ctx, role))
}

// InterfaceAddrs lists this host's addresses, IPv4-mapped ones unmapped.
func InterfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list network interface addresses: %w", err)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(ipnet.IP); ok {
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}
