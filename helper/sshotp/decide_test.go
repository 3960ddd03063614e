package sshotp

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var hostAddrs = []netip.Addr{
	netip.MustParseAddr("127.0.0.1"),
	netip.MustParseAddr("::1"),
	netip.MustParseAddr("10.1.2.3"),
	netip.MustParseAddr("2001:db8::5"),
}

func cfg(roles string, cidrs ...string) *Settings {
	c := &Settings{}
	if roles == "*" {
		c.AnyRole = true
	} else if roles != "" {
		for _, r := range strings.Split(roles, ",") {
			c.AllowedRoles = append(c.AllowedRoles, strings.TrimSpace(r))
		}
	}
	for _, p := range cidrs {
		c.AllowedCIDRs = append(c.AllowedCIDRs, netip.MustParsePrefix(p))
	}
	return c
}

func answer(user, ip, role string) Verified {
	return Verified{Username: user, IP: netip.MustParseAddr(ip), RoleName: role}
}

func TestDecideAllows(t *testing.T) {
	cases := map[string]struct {
		v   Verified
		cfg *Settings
	}{
		"local IPv4, any role":           {answer("alice", "10.1.2.3", "dev"), cfg("*")},
		"local IPv6":                     {answer("alice", "2001:db8::5", "dev"), cfg("dev")},
		"IPv4-mapped IPv6 of a local v4": {answer("alice", "::ffff:10.1.2.3", "dev"), cfg("dev")},
		"role listed among others":       {answer("alice", "127.0.0.1", "ops"), cfg("dev,ops")},
		"role with spaces from Vault":    {answer("alice", "127.0.0.1", " ops "), cfg("ops")},
		"IP in allowed_cidr_list":        {answer("alice", "192.0.2.7", "dev"), cfg("dev", "192.0.2.0/24")},
		"IPv6 in allowed_cidr_list":      {answer("alice", "2001:db9::1", "dev"), cfg("dev", "2001:db9::/32")},
		"mapped IP in a v4 CIDR":         {answer("alice", "::ffff:192.0.2.7", "dev"), cfg("dev", "192.0.2.0/24")},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := Decide(context.Background(), c.v, "alice", hostAddrs, c.cfg); err != nil {
				t.Errorf("denied: %v", err)
			}
		})
	}
}

func TestDecideDenies(t *testing.T) {
	cases := []struct {
		name    string
		v       Verified
		pamUser string
		cfg     *Settings
		want    error
		msg     string
	}{
		{"username differs", answer("bob", "127.0.0.1", "dev"), "alice", cfg("*"), ErrUsernameMismatch,
			`username mismatch: the OTP is for "bob", PAM_USER is "alice"`},
		{"username differs in case", answer("Alice", "127.0.0.1", "dev"), "alice", cfg("*"), ErrUsernameMismatch,
			`username mismatch: the OTP is for "Alice", PAM_USER is "alice"`},
		{"empty PAM_USER", answer("alice", "127.0.0.1", "dev"), "", cfg("*"), ErrNoPAMUser, "PAM_USER is empty"},
		{"empty PAM_USER and empty username", Verified{IP: netip.MustParseAddr("127.0.0.1")}, "", cfg("*"), ErrNoPAMUser, "PAM_USER is empty"},
		{"IP in an interface's subnet but not the interface (CVE-2020-24359)", answer("alice", "10.1.2.4", "dev"), "alice", cfg("*"), ErrIPNotLocal,
			"IP did not match any of the network interface addresses. If this was expected, configure the 'allowed_cidr_list' option to allow the IP. (OTP IP 10.1.2.4)"},
		{"IP outside allowed_cidr_list", answer("alice", "198.51.100.1", "dev"), "alice", cfg("*", "192.0.2.0/24"), ErrIPNotAllowed,
			"IP did not match any of the network interface addresses nor any entry of allowed_cidr_list (OTP IP 198.51.100.1)"},
		{"mapped IP outside allowed_cidr_list is shown unmapped", answer("alice", "::ffff:198.51.100.1", "dev"), "alice", cfg("*", "192.0.2.0/24"), ErrIPNotAllowed,
			"IP did not match any of the network interface addresses nor any entry of allowed_cidr_list (OTP IP 198.51.100.1)"},
		{"IPv6 outside allowed_cidr_list", answer("alice", "2001:db9::1", "dev"), "alice", cfg("*", "2001:db8::/32"), ErrIPNotAllowed,
			"IP did not match any of the network interface addresses nor any entry of allowed_cidr_list (OTP IP 2001:db9::1)"},
		{"zero IP", Verified{Username: "alice", RoleName: "dev"}, "alice", cfg("*"), ErrIPNotLocal,
			"IP did not match any of the network interface addresses. If this was expected, configure the 'allowed_cidr_list' option to allow the IP.: the OTP carries no IP"},
		{"zero IP with allowed_cidr_list", Verified{Username: "alice", RoleName: "dev"}, "alice", cfg("*", "0.0.0.0/0", "::/0"), ErrIPNotLocal,
			"IP did not match any of the network interface addresses. If this was expected, configure the 'allowed_cidr_list' option to allow the IP.: the OTP carries no IP"},
		{"role not listed", answer("alice", "127.0.0.1", "admin"), "alice", cfg("dev,ops"), ErrRoleNotAllowed, `role is not in allowed_roles: "admin"`},
		{"role not listed, shown trimmed", answer("alice", "127.0.0.1", " admin\t"), "alice", cfg("dev,ops"), ErrRoleNotAllowed, `role is not in allowed_roles: "admin"`},
		{"empty role", answer("alice", "127.0.0.1", ""), "alice", cfg("dev"), ErrRoleNotAllowed, `role is not in allowed_roles: ""`},
		{"role is a prefix of a listed one", answer("alice", "127.0.0.1", "de"), "alice", cfg("dev"), ErrRoleNotAllowed, `role is not in allowed_roles: "de"`},
		{"no roles configured", answer("alice", "127.0.0.1", "dev"), "alice", cfg(""), ErrNoAllowedRoles, "missing allowed_roles"},
		{"username checked before IP", answer("bob", "198.51.100.1", "x"), "alice", cfg("dev"), ErrUsernameMismatch,
			`username mismatch: the OTP is for "bob", PAM_USER is "alice"`},
		{"IP checked before role", answer("alice", "198.51.100.1", "x"), "alice", cfg("dev"), ErrIPNotLocal,
			"IP did not match any of the network interface addresses. If this was expected, configure the 'allowed_cidr_list' option to allow the IP. (OTP IP 198.51.100.1)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Decide(context.Background(), c.v, c.pamUser, hostAddrs, c.cfg)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err.Error() != c.msg {
				t.Errorf("message = %q\nwant      %q", err.Error(), c.msg)
			}
		})
	}
}

func TestInterfaceAddrsIncludesLoopback(t *testing.T) {
	addrs, err := InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a == netip.MustParseAddr("127.0.0.1") {
			return
		}
	}
	t.Errorf("127.0.0.1 not among %v", addrs)
}
