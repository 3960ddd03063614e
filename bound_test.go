package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
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
			for _, socket := range []string{"", filepath.Join(shortTempDir(t), "missing.sock")} {
				received := func() []string { return nil }
				if socket == "" {
					socket, received = listen(t)
				}
				useSyslogSocket(t, socket)
				env := map[string]string{"PAM_TYPE": "auth", "PAM_USER": c.user, "PAM_RHOST": c.rhost}
				var stderr syncBuffer
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

// The bound holds at the writers themselves, not only through the fields
// that are cut before: a line of any origin, and a datagram with its header.
func TestTheWritersCutEveryLine(t *testing.T) {
	long := strings.Repeat("x", 3*quote.MaxLine)
	var out syncBuffer
	o := newOutbox()
	o.put(&out, []byte("short\n"+long+"\n"))
	if !o.finish(time.Second, nil, nil) {
		t.Fatal("the outbox was not written out")
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if len(line) > quote.MaxLine {
			t.Errorf("the outbox wrote a line of %d bytes", len(line))
		}
	}
	if !strings.HasPrefix(out.String(), "short\n"+long[:100]) {
		t.Errorf("the outbox lost what fits: %.200q", out.String())
	}

	socket, received := listen(t)
	sink := &syslogSink{facility: 10, path: socket, pid: 1, now: time.Now, fallback: func(string) {}}
	if err := sink.send(severityNotice, long); err != nil {
		t.Fatal(err)
	}
	got := received()
	if len(got) != 1 || len(got[0]) > quote.MaxLine || !strings.HasSuffix(got[0], " bytes in all]") {
		t.Errorf("syslog got %d datagrams, not one cut to %d bytes: %.100q", len(got), quote.MaxLine, got)
	}
}
