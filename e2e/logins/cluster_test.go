package logins

import (
	"fmt"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

func TestVerifyAgainstAStandbyNodeIsForwardedToTheActiveNode(t *testing.T) {
	c := vaulttest.StartCluster(t)
	active := c.Active(t)
	standbys := c.Standbys(t)
	if len(standbys) < 2 {
		t.Fatalf("want 2 standby nodes, have %d", len(standbys))
	}
	active.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	otp := active.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")

	cfgFor := func(s *vaulttest.Server) string {
		return vaulttest.WriteConfig(t, "", config(s.Addr, `allowed_roles = "*"`, fmt.Sprintf("ca_cert = %q", c.CACertFile)))
	}
	expect(t, tlsLogin(t, cfgFor(standbys[0]), user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
	// The active node consumed it for the whole cluster: the other standby
	// and the active node both answer "OTP not found".
	expect(t, tlsLogin(t, cfgFor(standbys[1]), user, otp), 1, vaulttest.Reason("sshotp.ErrOTPNotFound"))
	expect(t, tlsLogin(t, cfgFor(active), user, otp), 1, vaulttest.Reason("sshotp.ErrOTPNotFound"))
	expect(t, verifyOnly(t, cfgFor(standbys[1])), 0, vaulttest.Reason("main.verified"))
}
