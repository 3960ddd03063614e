package sshotp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// DefaultMountPoint is the SSH engine's mount when ssh_mount_point is unset.
const DefaultMountPoint = "ssh"

// The fixed words of this mode's config messages (pinned in config_test.go).
var (
	ErrStarAlone = errors.New(`"*" allows any role and must stand alone`)
	ErrNotCIDR   = errors.New("is not a CIDR block like 192.0.2.0/24 or 2001:db8::/32")
)

// Plugin registers the SSH OTP mode: the default, selected by no key, so
// that every config written for the original keeps working.
var Plugin = helper.NewPlugin(config.Mode{
	Name: "SSH OTP",
	Keys: []string{"ssh_mount_point", "allowed_roles", "allowed_cidr_list"},
	Usage: `vault-ssh-helper reads a Vault SSH one-time password (OTP) from stdin, asks
Vault's SSH secrets engine to verify it, and exits 0 only when Vault confirms
the OTP was issued for this user (PAM_USER), this host and an allowed role;
-verify-only checks vault_addr, TLS and ssh_mount_point, without an OTP.
`,
}, ParseSettings, New)

// Settings are the SSH OTP mode's keys, validated.
type Settings struct {
	// MountPoint is the SSH engine's mount, without leading or trailing slashes.
	MountPoint string
	// AnyRole is set by allowed_roles = "*"; otherwise AllowedRoles lists the
	// trimmed role names.
	AnyRole      bool
	AllowedRoles []string
	// AllowedCIDRs are accepted for OTPs whose IP is not one of this host's.
	AllowedCIDRs []netip.Prefix
}

// ParseSettings validates the mode's keys, joining every problem.
func ParseSettings(k config.Keys) (*Settings, error) {
	// No ssh_mount_point, or an empty one, means the default, as in the original.
	s := &Settings{MountPoint: DefaultMountPoint}
	var mountErr, rolesErr, cidrErr error
	if strings.TrimSpace(k["ssh_mount_point"]) != "" {
		s.MountPoint, mountErr = config.VaultPath("ssh_mount_point", k["ssh_mount_point"])
	}
	s.AnyRole, s.AllowedRoles, rolesErr = parseRoles(k["allowed_roles"])
	s.AllowedCIDRs, cidrErr = parseCIDRList(k["allowed_cidr_list"])
	return s, errors.Join(mountErr, rolesErr, cidrErr)
}

// parseRoles follows the original: the whole value "*" allows any role,
// otherwise it is a comma-separated list of names, each trimmed.
func parseRoles(s string) (anyRole bool, roles []string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return false, nil, fmt.Errorf("%w %q", config.ErrMissing, "allowed_roles")
	}
	if s == "*" {
		return true, nil, nil
	}
	for _, entry := range strings.Split(s, ",") {
		role := strings.TrimSpace(entry)
		switch role {
		case "":
			return false, nil, fmt.Errorf("allowed_roles %q %w", s, config.ErrEmptyEntry)
		case "*":
			return false, nil, fmt.Errorf("allowed_roles %q: %w", s, ErrStarAlone)
		}
		roles = append(roles, role)
	}
	return false, roles, nil
}

// parseCIDRList trims each entry and names every one that does not parse,
// so a typo is found when the file loads rather than at a login.
func parseCIDRList(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var prefixes []netip.Prefix
	var bad []error
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			bad = append(bad, fmt.Errorf("allowed_cidr_list entry %q %w", entry, ErrNotCIDR))
			continue
		}
		// An IPv4-mapped block (::ffff:a.b.c.d/N, N >= 96) is the IPv4
		// block it stands for: the IPs it is checked against are unmapped,
		// and the original's net.IPNet matched such an entry too.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		prefixes = append(prefixes, p.Masked())
	}
	if err := errors.Join(bad...); err != nil {
		return nil, err
	}
	return prefixes, nil
}
