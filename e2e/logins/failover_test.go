package logins

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// listConfig is a config whose vault_addr lists nodes in order.
func listConfig(t *testing.T, c *vaulttest.Cluster, nodes ...*vaulttest.Server) string {
	t.Helper()
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	return vaulttest.WriteConfig(t, "", config(strings.Join(addrs, ", "), `allowed_roles = "*"`,
		fmt.Sprintf("ca_cert = %q", c.CACertFile), `timeout = "10s"`))
}

// expectSkips fails the test unless the output has exactly one skip line
// per address in skipped, each naming it.
func expectSkips(t *testing.T, res vaulttest.Result, skipped ...*vaulttest.Server) {
	t.Helper()
	if n := strings.Count(res.Output, "[WARN]  skipped Vault at "); n != len(skipped) {
		t.Errorf("%d skip lines, want %d:\n%s", n, len(skipped), res.Output)
	}
	for _, s := range skipped {
		if !res.Contains("skipped Vault at " + s.Addr + ", asking ") {
			t.Errorf("no skip line for %s:\n%s", s.Addr, res.Output)
		}
	}
}

// replayEverywhere sends otp, already used, to every node alone and to
// the whole list: no node may accept it again. A stopped node cannot
// answer, a sealed one says so; every other one must say the OTP is gone.
func replayEverywhere(t *testing.T, c *vaulttest.Cluster, otp string, nodes ...*vaulttest.Server) {
	t.Helper()
	for _, n := range nodes {
		res := tlsLogin(t, listConfig(t, c, n), user, otp)
		if res.Code == 0 || res.Contains(vaulttest.Reason("main.authenticated", "")) { // anyone's
			t.Fatalf("%s accepted a used OTP again:\n%s", n.Addr, res.Output)
		}
		if !res.Contains("OTP not found") && !res.Contains("cannot connect to Vault") && !res.Contains("Vault is sealed") {
			t.Errorf("%s: replay denied for another reason:\n%s", n.Addr, res.Output)
		}
	}
	expect(t, tlsLogin(t, listConfig(t, c, nodes...), user, otp), 1, "OTP not found")
}

func TestAStoppedFirstNodeIsSkippedForAHealthyOne(t *testing.T) {
	c := vaulttest.StartCluster(t)
	active, standbys := c.Active(t), c.Standbys(t)
	active.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	otp := active.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	stopped := standbys[0]
	c.StopNode(t, stopped)

	res := tlsLogin(t, listConfig(t, c, stopped, standbys[1], active), user, otp)
	expect(t, res, 0, "cannot connect to Vault", vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
	expectSkips(t, res, stopped)
	t.Logf("measured: a stopped first node, login took %s", res.Elapsed.Round(time.Millisecond))
	replayEverywhere(t, c, otp, stopped, standbys[1], active)

	ver := verifyOnly(t, listConfig(t, c, stopped, standbys[1], active))
	expect(t, ver, 1, "Vault at "+stopped.Addr+": not healthy: ", "cannot connect to Vault",
		"Vault at "+standbys[1].Addr+": healthy", "Vault at "+active.Addr+": healthy", "2 of 3 Vault addresses are healthy")
}

func TestASealedFirstNodeIsSkippedAndTheOTPItRefusedStillWorks(t *testing.T) {
	c := vaulttest.StartCluster(t)
	active, standbys := c.Active(t), c.Standbys(t)
	active.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	otp := active.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	sealed := standbys[0]
	c.SealNode(t, sealed)

	// The sealed node alone refuses the OTP without using it up ...
	expect(t, tlsLogin(t, listConfig(t, c, sealed), user, otp), 1, "Vault answered 503: Vault is sealed")
	// ... so the same OTP logs in when a healthy node follows it in the list.
	res := tlsLogin(t, listConfig(t, c, sealed, active), user, otp)
	expect(t, res, 0, "Vault answered 503: Vault is sealed", vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
	expectSkips(t, res, sealed)
	t.Logf("measured: a sealed first node, login took %s", res.Elapsed.Round(time.Millisecond))
	replayEverywhere(t, c, otp, sealed, standbys[1], active)

	ver := verifyOnly(t, listConfig(t, c, sealed, standbys[1]))
	expect(t, ver, 1, "Vault at "+sealed.Addr+": not healthy: ", "Vault is sealed",
		"Vault at "+standbys[1].Addr+": healthy", "1 of 2 Vault addresses are healthy")
	if ver.Contains(vaulttest.Reason("main.verified")) {
		t.Fatalf("-verify-only succeeded with a sealed node:\n%s", ver.Output)
	}
}

// leaderChangeAttempts bounds the logins tried while the standbys elect a
// new active node, one fresh OTP each.
const leaderChangeAttempts = 60

func TestLoginsFollowALeaderChangeAndNoOTPIsUsedTwice(t *testing.T) {
	c := vaulttest.StartCluster(t)
	active, standbys := c.Active(t), c.Standbys(t)
	active.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	// Issued before the active node stops: no node can issue one until a
	// new one is elected.
	otps := make([]string, leaderChangeAttempts)
	for i := range otps {
		otps[i] = active.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	}
	nodes := []*vaulttest.Server{active, standbys[0], standbys[1]}
	cfg := listConfig(t, c, nodes...)
	expect(t, verifyOnly(t, cfg), 0, "Vault at "+active.Addr+": healthy", vaulttest.Reason("main.verified"))

	// The address goes first, as in a crash; the core then steps down,
	// and the helper is run all the while.
	stopped := time.Now()
	active.Stop()
	shutdown := make(chan time.Duration, 1)
	go func() {
		_ = active.Core.Shutdown()
		shutdown <- time.Since(stopped)
	}()
	used := ""
	var denied []string
	for i, otp := range otps {
		res := tlsLogin(t, cfg, user, otp)
		lines := strings.Split(strings.TrimSpace(res.Output), "\n")
		t.Logf("measured: attempt %d, %s after the active node's address closed: exit %d in %s: %s",
			i+1, time.Since(stopped).Round(time.Millisecond), res.Code, res.Elapsed.Round(time.Millisecond), strings.Join(lines[1:], " | "))
		if res.TimedOut {
			t.Fatalf("the helper did not end by itself:\n%s", res.Output)
		}
		if res.Code == 0 {
			used = otp
			break
		}
		denied = append(denied, otp)
		time.Sleep(100 * time.Millisecond)
	}
	if used == "" {
		t.Fatalf("no login succeeded in %d attempts over %s after the active node stopped", leaderChangeAttempts, time.Since(stopped).Round(time.Second))
	}
	t.Logf("measured: first login through the new active node %s after the old one's address closed; its core took %s to step down",
		time.Since(stopped).Round(time.Millisecond), (<-shutdown).Round(time.Millisecond))
	// What the OTPs denied meanwhile became: "OTP not found" would mean a
	// denial used one up. Either way none of them logs in twice.
	for i, otp := range denied {
		res := tlsLogin(t, cfg, user, otp)
		t.Logf("measured: OTP of attempt %d afterwards: exit %d", i+1, res.Code)
	}
	replayEverywhere(t, c, used, nodes...)

	expect(t, verifyOnly(t, listConfig(t, c, standbys...)), 0, vaulttest.Reason("main.verified"))
	expect(t, verifyOnly(t, cfg), 1, "Vault at "+active.Addr+": not healthy: ", "2 of 3 Vault addresses are healthy")
}

// In the TOTP mode the AppRole login walks the list; the code then goes to
// the node that issued the token, without walking it again. Vault's audit
// log counts one login and one validation.
func TestTOTPLoginAndValidationGoToTheOneAddressThatAnswered(t *testing.T) {
	c := vaulttest.StartCluster(t)
	active, standbys := c.Active(t), c.Standbys(t)
	m := active.EnableTOTP(t, totpMount)
	audit := active.EnableFileAudit(t)
	active.EnableAppRole(t, "approle")
	role := active.CreateAppRole(t, "approle", "ssh-host", m.Validate)
	m.GenerateKey(t, user)
	dir := filepath.Join(t.TempDir(), "creds")
	sealed := standbys[0]
	c.SealNode(t, sealed)
	cfg := vaulttest.WriteConfig(t, "", strings.Join([]string{
		fmt.Sprintf("vault_addr = %q", sealed.Addr+","+standbys[1].Addr),
		fmt.Sprintf("ca_cert = %q", c.CACertFile),
		fmt.Sprintf("totp_mount_point = %q", totpMount),
		fmt.Sprintf("state_dir = %q", filepath.Join(t.TempDir(), "state")),
		fmt.Sprintf("approle_role_id_file = %q", vaulttest.WriteSecretFile(t, dir, "role_id", role.RoleID+"\n")),
		fmt.Sprintf("approle_secret_id_file = %q", vaulttest.WriteSecretFile(t, dir, "secret_id", role.SecretID+"\n")),
	}, "\n")+"\n")

	res := run(t, vaulttest.Run{Config: cfg, Args: []string{"-log-level=trace"}, User: user, Stdin: m.Code(t, user)})
	expectLoggedIn(t, res, user)
	expectSkips(t, res, sealed)
	for _, secret := range []string{role.RoleID, role.SecretID} {
		if res.Contains(secret) {
			t.Errorf("the output holds the role_id or the secret_id")
		}
	}
	if n := audit.Requests(t, "update", "auth/approle/login"); n != 1 {
		t.Errorf("%d AppRole logins, want 1", n)
	}
	if n := audit.Requests(t, "update", totpMount+"/code/"+user); n != 1 {
		t.Errorf("%d validations, want 1", n)
	}

	// -verify-only checks the token, its policy and the mount at each
	// address, and says which are healthy.
	ver := verifyOnly(t, cfg)
	expect(t, ver, 1, "Vault at "+sealed.Addr+": not healthy: AppRole login at "+sealed.Addr, "Vault is sealed",
		"Vault at "+standbys[1].Addr+": AppRole login at auth/approle: OK", "Vault at "+standbys[1].Addr+": healthy",
		"1 of 2 Vault addresses are healthy")
	healthy := strings.Replace(string(mustRead(t, cfg)), sealed.Addr+",", active.Addr+",", 1)
	expect(t, verifyOnly(t, vaulttest.WriteConfig(t, "", healthy)), 0,
		"Vault at "+active.Addr+": healthy", "Vault at "+standbys[1].Addr+": healthy", vaulttest.Reason("main.verified"))
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A node whose certificate does not verify ends the TLS handshake before
// the OTP is written: it is passed over, and never sees a request.
func TestANodeWhoseCertificateDoesNotVerifyIsSkipped(t *testing.T) {
	c := vaulttest.StartCluster(t)
	active := c.Active(t)
	active.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	otp := active.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	stranger := vaulttest.StartTLS(t) // signed by a CA of its own, not the cluster's
	audit := stranger.EnableFileAudit(t)

	res := tlsLogin(t, listConfig(t, c, stranger, active), user, otp)
	expect(t, res, 0, "certificate signed by unknown authority", vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
	expectSkips(t, res, stranger)
	if n := audit.Requests(t, "update", "ssh/verify"); n != 0 {
		t.Errorf("the node with the untrusted certificate received %d verify requests", n)
	}
	replayEverywhere(t, c, otp, c.Nodes...)
}
