package sshotp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/config/configtest"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp"
)

const minimal = `
vault_addr = "https://vault.example.com:8200"
allowed_roles = "*"
`

// settings parses text with the binary's modes and returns this mode's settings.
func settings(t *testing.T, text string) *Settings {
	t.Helper()
	cfg, err := config.Parse([]byte(text), config.Options{Modes: helper.Registry{Plugin, totp.Plugin}.Modes()})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s, ok := cfg.ModeSettings.(*Settings)
	if !ok {
		t.Fatalf("config of the %s mode", cfg.Mode)
	}
	return s
}

func TestMinimalConfigGetsDefaults(t *testing.T) {
	if s := settings(t, minimal); s.MountPoint != "ssh" || !s.AnyRole || s.AllowedRoles != nil || s.AllowedCIDRs != nil {
		t.Errorf("defaults wrong: %+v", s)
	}
}

func TestOriginalsFullConfigStillLoads(t *testing.T) {
	s := settings(t, `vault_addr = "https://vault.example.com:8200"
ssh_mount_point = "ssh"
namespace = "team/a"
tls_skip_verify = false
tls_server_name = "vault.internal"
allowed_roles = "dev, ops ,admin"
allowed_cidr_list = "10.0.0.0/8, 192.168.1.0/24,2001:db8::/32"
`)
	if got := strings.Join(s.AllowedRoles, "|"); got != "dev|ops|admin" || s.AnyRole {
		t.Errorf("roles = %q any=%v", got, s.AnyRole)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	if len(s.AllowedCIDRs) != 3 {
		t.Fatalf("cidrs = %v", s.AllowedCIDRs)
	}
	for i := range want {
		if s.AllowedCIDRs[i] != want[i] {
			t.Errorf("cidr %d = %v, want %v", i, s.AllowedCIDRs[i], want[i])
		}
	}
}

func TestJSONConfigLoads(t *testing.T) {
	if s := settings(t, `{"vault_addr": "https://v:8200", "allowed_roles": "a", "timeout": "3s"}`); s.AllowedRoles[0] != "a" {
		t.Errorf("got %+v", s)
	}
}

func TestMountPointIsTrimmedAndNestedMountsWork(t *testing.T) {
	for in, want := range map[string]string{"/ssh/": "ssh", "team/ssh": "team/ssh", "  ": "ssh", "": "ssh", "/a/b/c/": "a/b/c"} {
		if s := settings(t, minimal+"ssh_mount_point = \""+in+"\"\n"); s.MountPoint != want {
			t.Errorf("ssh_mount_point %q -> %q, want %q", in, s.MountPoint, want)
		}
	}
}

func TestNumberIsAcceptedWhereAStringIsExpected(t *testing.T) {
	if s := settings(t, minimal+"ssh_mount_point = 42\n"); s.MountPoint != "42" {
		t.Errorf("mount = %q", s.MountPoint)
	}
}

func TestCIDRsAreMaskedAndIPv6Accepted(t *testing.T) {
	s := settings(t, minimal+`allowed_cidr_list = " 10.1.2.3/8 ,::1/128"`+"\n")
	if s.AllowedCIDRs[0] != netip.MustParsePrefix("10.0.0.0/8") || s.AllowedCIDRs[1] != netip.MustParsePrefix("::1/128") {
		t.Errorf("cidrs = %v", s.AllowedCIDRs)
	}
}

func TestIPv4MappedCIDRIsItsIPv4Block(t *testing.T) {
	s := settings(t, minimal+`allowed_cidr_list = "::ffff:192.0.2.0/120, ::ffff:0:0/95"`+"\n")
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("::fffe:0:0/95")}
	if len(s.AllowedCIDRs) != 2 || s.AllowedCIDRs[0] != want[0] || s.AllowedCIDRs[1] != want[1] {
		t.Errorf("cidrs = %v, want %v", s.AllowedCIDRs, want)
	}
}

// TestConfigMessages is the one place the full text of each of this mode's
// config messages is written (config's TestMessages holds the shared ones):
// each want is one problem of the refusal, word for word, and wraps exactly
// the sentinels whose words it holds.
func TestConfigMessages(t *testing.T) {
	sentinels := []error{config.ErrMissing, config.ErrEmptyEntry, ErrStarAlone, ErrNotCIDR}
	for _, c := range []struct{ name, text, want string }{
		{"missing roles", `vault_addr = "https://v"`, `missing config "allowed_roles"`},
		{"empty roles", `vault_addr = "https://v"` + "\n" + `allowed_roles = " "`, `missing config "allowed_roles"`},
		{"empty role entry", `vault_addr = "https://v"` + "\n" + `allowed_roles = "a,,b"`, `allowed_roles "a,,b" has an empty entry`},
		{"star in list", `vault_addr = "https://v"` + "\n" + `allowed_roles = "a,*"`, `allowed_roles "a,*": "*" allows any role and must stand alone`},
		{"CIDR entry not a block", minimal + "\nallowed_cidr_list = \"10.0.0.0/8, 10.0.0.1\"", `allowed_cidr_list entry "10.0.0.1" is not a CIDR block like 192.0.2.0/24 or 2001:db8::/32`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse([]byte(c.text), config.Options{Modes: helper.Registry{Plugin, totp.Plugin}.Modes()})
			problem := configtest.Named(err, c.want)
			if problem == nil {
				t.Fatalf("no problem reads\n %s\nin\n %v", c.want, err)
			}
			for _, s := range sentinels {
				if holds := strings.Contains(c.want, s.Error()); errors.Is(problem, s) != holds {
					t.Errorf("errors.Is(%q, %q) = %v, want %v", problem, s, !holds, holds)
				}
			}
		})
	}
}

// TestEveryProblemIsReportedAtOnce: config's problems and this mode's come
// in one refusal.
func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	_, err := config.Parse([]byte(`
vault_addr = "ftp://x"
bogus = 1
ssh_mount_point = "a/../b"
allowed_cidr_list = "10.0.0.0/8, nonsense, 1.2.3.4"
timeout = "1h"
`), config.Options{Modes: helper.Registry{Plugin, totp.Plugin}.Modes()})
	for _, c := range []struct {
		reason  error
		subject string
	}{
		{config.ErrNotURL, `vault_addr "ftp://x"`},
		{config.ErrInvalidKey, config.ErrInvalidKey.Error() + ` "bogus"`},
		{config.ErrPathSegment, `ssh_mount_point "a/../b"`},
		{ErrNotCIDR, `allowed_cidr_list entry "nonsense"`},
		{ErrNotCIDR, `allowed_cidr_list entry "1.2.3.4"`},
		{config.ErrOutside, `timeout "1h"`},
		{config.ErrMissing, config.ErrMissing.Error() + ` "allowed_roles"`},
	} {
		if !configtest.Refuses(err, c.subject, c.reason) {
			t.Errorf("error %v: no problem naming %s for %q", err, c.subject, c.reason)
		}
	}
}
