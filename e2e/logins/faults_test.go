package logins

import (
	"fmt"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

func TestNamespaceIsIgnoredByOpenSourceVault(t *testing.T) {
	// The helper sends X-Vault-Namespace; the open-source server ignores the
	// header, so the OTP from the root namespace verifies.
	s := otpRole(t)
	cfg := devConfig(t, s, `namespace = "team-a/"`)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, login(t, cfg, user, otp), 0, vaulttest.Reason("main.namespace", "team-a/"), vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestSealedVaultDenies(t *testing.T) {
	s := otpRole(t)
	cfg := devConfig(t, s)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	s.Seal(t)
	res := login(t, cfg, user, otp)
	expect(t, res, 1, "Vault is sealed")
	if res.Contains(success) {
		t.Fatalf("a sealed Vault let a login through:\n%s", res.Output)
	}
	expect(t, verifyOnly(t, cfg, "-dev"), 1, "Vault is sealed")
}

func TestStoppedVaultDeniesWithinOneSecond(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *vaulttest.Server
		args  []string
	}{
		{"http", vaulttest.Start, []string{"-dev"}},
		{"https", vaulttest.StartTLS, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			s.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
			extra := []string{}
			if s.CACertFile != "" {
				extra = append(extra, fmt.Sprintf("ca_cert = %q", s.CACertFile))
			}
			cfg := vaulttest.WriteConfig(t, "", config(s.Addr, `allowed_roles = "*"`, extra...))
			otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
			s.Stop()
			res := run(t, vaulttest.Run{Config: cfg, Args: tc.args, User: user, Stdin: otp, Timeout: 20 * time.Second})
			expect(t, res, 1, vaulttest.Reason("agent.ErrUnreachable"))
			if res.Elapsed > time.Second {
				t.Fatalf("denied after %s; want within 1s", res.Elapsed)
			}
		})
	}
}
