package vaulttest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RequireTool returns the path of a Debian tool the TOTP tests run. When it is missing the
// test skips with what to install, or fails under CI=true, so that CI cannot pass by skipping.
func RequireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is missing: run scripts/totp-deps.sh as root (apt-get install %s)", name, pkg)
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal("CI: " + msg)
	}
	t.Skip(msg)
	return ""
}

// OathtoolCode computes, with Debian's oathtool and independently of Vault, the 6-digit
// SHA-1 TOTP code of a base32 secret for the period holding at.
func OathtoolCode(t testing.TB, secret string, period int, at time.Time) string {
	t.Helper()
	codes := OathtoolCodes(t, secret, period, at, 1)
	return codes[0]
}

// OathtoolCodes returns n consecutive codes, the first one for the period holding at.
func OathtoolCodes(t testing.TB, secret string, period int, at time.Time, n int) []string {
	t.Helper()
	bin := RequireTool(t, "oathtool", "oathtool")
	cmd := exec.Command(bin, "--totp", "--base32",
		fmt.Sprintf("--time-step-size=%ds", period),
		"--now="+at.UTC().Format("2006-01-02 15:04:05 UTC"),
		fmt.Sprintf("--window=%d", n-1),
		"-") // the secret on stdin, not in argv
	cmd.Stdin = strings.NewReader(secret + "\n")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vaulttest: oathtool: %v", err)
	}
	codes := strings.Fields(string(out))
	if len(codes) != n {
		t.Fatalf("vaulttest: oathtool printed %d codes, want %d", len(codes), n)
	}
	for _, c := range codes {
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("vaulttest: oathtool printed %d characters that are not a 6-digit code", len(c))
		}
	}
	return codes
}

// WrongCodes returns n distinct 6-digit codes none of which Vault would accept for secret
// now or in the next minute (every code from two periods back to two ahead is avoided).
func WrongCodes(t testing.TB, secret string, period int, n int) []string {
	t.Helper()
	near := map[string]bool{}
	for _, c := range OathtoolCodes(t, secret, period, time.Now().Add(-2*time.Duration(period)*time.Second), 5) {
		near[c] = true
	}
	var out []string
	for i := 0; len(out) < n && i < 1000; i++ {
		c := fmt.Sprintf("%06d", (i*7919+123457)%1000000)
		if !near[c] {
			out = append(out, c)
		}
	}
	return out
}

// AwayFromPeriodEnd waits, if fewer than margin remain in the current period, until the
// next one starts: a code used at once then stays valid for a key with skew 0.
func AwayFromPeriodEnd(period int, margin time.Duration) {
	p := time.Duration(period) * time.Second
	left := p - time.Duration(time.Now().UnixNano())%p
	if left < margin {
		time.Sleep(left + 50*time.Millisecond)
	}
}
