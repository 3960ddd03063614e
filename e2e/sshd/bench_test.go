package sshd

import (
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// BenchmarkLogin is the wall time of one successful login, with one Vault for all of them.
//
// "sshd": each iteration logs in twice through the same private sshd (ssh client, key
// exchange, keyboard-interactive, PAM, remote `true`, disconnect), alternating so that load
// on the machine weighs on both alike:
//   - ms/exit0-login: pam_exec runs a stand-in that reads the password and exits 0 at once;
//   - ms/vsh-login: pam_exec runs the product with the README's config (https, ca_cert)
//     against real Vault, with a fresh OTP issued outside the measured time;
//   - ms/vsh-cost: their difference, the helper's own cost with Vault's verify round trip.
//
// "alone": the product run as pam_exec runs it, without sshd or PAM (ms/vsh-alone).
//
// Run with scripts/bench-sshd.sh; a figure for the closing note, never an assertion.
func BenchmarkLogin(b *testing.B) {
	e := setup(b, true)
	exit0 := e.svc.StandIn(b, 0)
	product := e.bin + " -config=" + e.config
	ms := func(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

	b.Run("sshd", func(b *testing.B) {
		var stand, ours time.Duration
		for i := 0; i < b.N; i++ {
			e.svc.SetHelper(b, exit0)
			r := e.srv.SSH(b, "not-checked", "true")
			if r.Code != 0 {
				b.Fatalf("login through the stand-in: %v", r)
			}
			stand += r.Elapsed

			b.StopTimer()
			otp := e.issue(b, e.user.Name)
			e.svc.SetHelper(b, product)
			b.StartTimer()
			r = e.srv.SSH(b, otp, "true")
			if r.Code != 0 {
				b.Fatalf("login through vault-ssh-helper: %v\n%s", r, e.svc.LogSince(b, 0))
			}
			ours += r.Elapsed
		}
		b.ReportMetric(ms(stand, b.N), "ms/exit0-login")
		b.ReportMetric(ms(ours, b.N), "ms/vsh-login")
		b.ReportMetric(ms(ours-stand, b.N), "ms/vsh-cost")
	})
	b.Run("alone", func(b *testing.B) {
		var ours time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			otp := e.issue(b, e.user.Name)
			b.StartTimer()
			r := vaulttest.RunHelper(b, vaulttest.Run{Binary: e.bin, Config: e.config, User: e.user.Name, Stdin: otp})
			if r.Code != 0 {
				b.Fatalf("helper: exit %d\n%s", r.Code, r.Output)
			}
			ours += r.Elapsed
		}
		b.ReportMetric(ms(ours, b.N), "ms/vsh-alone")
	})
}
