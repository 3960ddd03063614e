package plumbing

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
)

// useSyslogSocket points the helper at path for one test. The tests that
// use it do not run in parallel; those that do never configure syslog.
func useSyslogSocket(t *testing.T, path string) {
	t.Helper()
	old := SyslogSocket
	SyslogSocket = path
	t.Cleanup(func() { SyslogSocket = old })
}

const summaryRHost = "203.0.113.7"

// The watchdog's denial is a login's end too: its summary line goes out
// before the exit, once.
func TestWatchdogSendsTheDenialsSummary(t *testing.T) {
	path, received := plumbingtest.Listen(t)
	useSyslogSocket(t, path)
	var stderr plumbingtest.SyncBuffer
	exited := make(chan int, 1)
	r := Start(time.Now(), io.Discard, &stderr, func(code int) { exited <- code })
	defer r.End()
	r.report.Store(&loginReport{user: "alice", rhost: summaryRHost, fields: []string{"otp_ip"}, facility: 10})
	r.watchdog.Reset(0) // overdue now
	if code := <-exited; code != 1 {
		t.Fatalf("watchdog exit %d", code)
	}
	r.summarize(loginEnd{}) // the run ending late sends nothing more
	got := received()
	want := ` login denied: rhost=203.0.113.7 user=alice otp_ip=- request_id=- reason="timed out after 10s waiting for the start-up; denying"`
	if len(got) != 1 || !strings.HasPrefix(got[0], "<85>") || !strings.HasSuffix(got[0], fmt.Sprintf("vault-ssh-helper[%d]:", os.Getpid())+want) {
		t.Errorf("syslog received %q, want one authpriv.notice line ending %q", got, want)
	}
}

// The bound holds at the writers themselves, not only through the fields
// that are cut before: a line of any origin, and a datagram with its header.
func TestTheWritersCutEveryLine(t *testing.T) {
	long := strings.Repeat("x", 3*quote.MaxLine)
	var out plumbingtest.SyncBuffer
	l := newLogger(io.Discard)
	l.to(&out).Write([]byte("short\n" + long + "\n"))
	if !l.finish(time.Second) {
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

	socket, received := plumbingtest.Listen(t)
	useSyslogSocket(t, socket)
	if err := sendSyslog(10*8+5, long); err != nil {
		t.Fatal(err)
	}
	got := received()
	if len(got) != 1 || len(got[0]) > quote.MaxLine || !strings.HasSuffix(got[0], " bytes in all]") {
		t.Errorf("syslog got %d datagrams, not one cut to %d bytes: %.100q", len(got), quote.MaxLine, got)
	}
}
