package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
)

// No line leaves the process longer than quote.MaxLine, whatever PAM_USER,
// PAM_RHOST or Vault hold: pam_exec passes a user name of up to about
// 128 KiB, typed before any authentication, and a server can answer
// anything. Both the datagram syslog gets and every line on stderr (the
// summary's fallback included) are held to it.
func TestNoLineExceedsTheBoundWhateverComesIn(t *testing.T) {
	huge := strings.Repeat("a", 100_000)
	controls := strings.Repeat("\x01", 100_000) // each one quoted as 6 bytes
	hugeAnswer := `{"errors":["` + strings.Repeat("no such OTP ", 20_000) + `"]}`
	cases := []struct {
		name, user, rhost, answer string
		status                    int
	}{
		{"huge user", huge, summaryRHost, allowedAnswer("alice"), 200},
		{"user of control characters", controls, summaryRHost, allowedAnswer("alice"), 200},
		{"huge rhost", "alice", huge, allowedAnswer("alice"), 200},
		{"huge user, rhost and answer", huge, controls, hugeAnswer, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := syslogConfig(t, verifyVault(t, c.status, c.answer), `syslog_facility = "authpriv"`)
			for _, socket := range []string{"", filepath.Join(plumbingtest.ShortTempDir(t), "missing.sock")} {
				received := func() []string { return nil }
				if socket == "" {
					socket, received = plumbingtest.Listen(t)
				}
				useSyslogSocket(t, socket)
				env := map[string]string{"PAM_TYPE": "auth", "PAM_USER": c.user, "PAM_RHOST": c.rhost}
				var stderr plumbingtest.SyncBuffer
				run([]string{"-dev", "-config=" + cfg}, strings.NewReader(summaryOTP), io.Discard, &stderr,
					func(k string) string { return env[k] }, func(int) {})
				lines := append(received(), strings.Split(stderr.String(), "\n")...)
				summaries := 0
				for _, line := range lines {
					if len(line) > quote.MaxLine {
						t.Errorf("a line of %d bytes (bound %d): %.200s...", len(line), quote.MaxLine, line)
					}
					if strings.Contains(line, "login ") && strings.Contains(line, " rhost=") {
						summaries++
					}
				}
				if summaries == 0 {
					t.Errorf("no summary line, to syslog or as its fallback:\n%.2000s", strings.Join(lines, "\n"))
				}
			}
		})
	}
}
