package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

func TestOnlyAVerifiedLoginExitsZeroUnderPAM(t *testing.T) {
	cases := []struct {
		o        outcome
		underPAM bool
		want     int
	}{
		{denied, false, 1}, {denied, true, 1},
		{loginVerified, false, 0}, {loginVerified, true, 0},
		{echoVerified, false, 0}, {echoVerified, true, 1},
		{versionShown, false, 0}, {versionShown, true, 1},
		{outcome(99), false, 1}, {outcome(99), true, 1},
	}
	for _, c := range cases {
		if got := exitCode(c.o, nil, c.underPAM); got != c.want {
			t.Errorf("exitCode(%d, nil, pam=%v) = %d, want %d", c.o, c.underPAM, got, c.want)
		}
		if got := exitCode(c.o, errors.New("x"), c.underPAM); got != 1 {
			t.Errorf("exitCode(%d, error, pam=%v) = %d, want 1", c.o, c.underPAM, got)
		}
	}
}

func TestStdinThatNeverClosesDeniesAtTheBudget(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := readPassword(ctx, sshotp.New(&config.Config{}, nil), r)
	if !errors.Is(err, agent.ErrTimeout) || !strings.Contains(err.Error(), "waiting for the password on stdin") {
		t.Errorf("err = %v", err)
	}
}

func TestLogLineFormatIsTheOriginals(t *testing.T) {
	var buf syncBuffer
	l := newLogger(newOutbox(), &buf)
	l.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC) }
	l.setLevel(levelTrace)
	l.Info("a")
	l.Warn("b")
	l.Error("c\nd\x1be\u009bf\u2028g")
	l.Debug("f")
	if !l.finish(hangDetector) {
		t.Fatal("the log was not written out")
	}
	want := "2026-01-02T03:04:05.006Z [INFO]  a\n" +
		"2026-01-02T03:04:05.006Z [WARN]  b\n" +
		"2026-01-02T03:04:05.006Z [ERROR] c; d?e?f?g\n" +
		"2026-01-02T03:04:05.006Z [DEBUG] f\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestLogLevelFilters(t *testing.T) {
	for name, wantLines := range map[string]int{"TRACE": 4, "debug": 4, "Info": 3, "warn": 2, "error": 1, "off": 0} {
		lv, err := parseLevel(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf syncBuffer
		l := newLogger(newOutbox(), &buf)
		l.setLevel(lv)
		l.Debug("1")
		l.Info("2")
		l.Warn("3")
		l.Error("4")
		if !l.finish(hangDetector) {
			t.Fatal("the log was not written out")
		}
		if got := strings.Count(buf.String(), "\n"); got != wantLines {
			t.Errorf("level %s printed %d lines, want %d", name, got, wantLines)
		}
	}
}

func TestWatchdogSaysTheBudgetAndWhatTheRunWaitedFor(t *testing.T) {
	t.Parallel()
	var stderr syncBuffer
	exited := make(chan int, 1)
	w := startWatchdog(time.Now(), newLogger(newOutbox(), &stderr), func(code int) { exited <- code })
	defer w.stop()
	// The configured budget replaces the default, counted from the start.
	w.setBudget(time.Second)
	w.waitingFor("Vault at https://vault.example.com")
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("watchdog exit code %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watchdog never fired")
	}
	want := "[ERROR] timed out after 1s waiting for Vault at https://vault.example.com; denying\n"
	if got := stderr.String(); !strings.HasSuffix(got, want) {
		t.Errorf("log = %q, want a line ending %q", got, want)
	}
}

func TestWatchdogBeforeTheConfigUsesTheDefaultBudget(t *testing.T) {
	t.Parallel()
	var stderr syncBuffer
	exited := make(chan int, 1)
	// A run that started the default budget ago is already overdue.
	w := startWatchdog(time.Now().Add(-config.DefaultTimeout), newLogger(newOutbox(), &stderr), func(code int) { exited <- code })
	defer w.stop()
	w.waitingFor("the config file /etc/x.hcl")
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the watchdog never fired")
	}
	if want := "[ERROR] timed out after 10s waiting for the config file /etc/x.hcl; denying\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("log = %q, want a line ending %q", stderr.String(), want)
	}
}

func TestWatchdogWaitsForABudgetLongerThanTheDefault(t *testing.T) {
	t.Parallel()
	// Vault answers after the default budget plus the watchdog's grace; with
	// timeout = "30s" the run must still end in Vault's answer.
	slow := config.DefaultTimeout + watchdogGrace + 500*time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, `{"data":{"message":"verify-echo-response"}}`)
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "c.hcl")
	text := "vault_addr = \"" + srv.URL + "\"\nallowed_roles = \"*\"\ntimeout = \"30s\"\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	var watchdogCode atomic.Int32
	watchdogCode.Store(-1)
	code := run([]string{"-dev", "-verify-only", "-config=" + cfg}, strings.NewReader(""), io.Discard, &stderr,
		func(string) string { return "" }, func(c int) { watchdogCode.Store(int32(c)) })
	if code != 0 || watchdogCode.Load() != -1 {
		t.Errorf("exit code %d, watchdog exit %d; want 0 and no watchdog\n%s", code, watchdogCode.Load(), stderr.String())
	}
	if !strings.Contains(stderr.String(), reason(t, "main.verified")) {
		t.Errorf("log = %q", stderr.String())
	}
}

func TestStdinThatNeverClosesDeniesWithTheConfiguredBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.hcl")
	text := "vault_addr = \"http://127.0.0.1:1\"\nallowed_roles = \"*\"\ntimeout = \"1s\"\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	defer w.Close()
	var stderr syncBuffer
	getenv := func(k string) string { return map[string]string{"PAM_TYPE": "auth", "PAM_USER": "alice"}[k] }
	code := run([]string{"-dev", "-config=" + cfg}, r, io.Discard, &stderr, getenv, func(int) {})
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if want := "[ERROR] timed out waiting for the password on stdin (timeout = 1s)\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("log = %q, want a line ending %q", stderr.String(), want)
	}
}

// syncBuffer is a bytes.Buffer safe for the watchdog's goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stalledSink returns a writer that blocks every write in write(2), as a
// log= file on a stalled mount does (see fullFIFO); the test's end releases
// any write still blocked.
func stalledSink(t *testing.T) *os.File {
	t.Helper()
	sink, release, err := fullFIFO(filepath.Join(t.TempDir(), "log.fifo"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return sink
}

// runStalled runs run in-process with stdout and stderr on a stalled sink
// and returns its exit code, failing the test if run has not returned within
// hangDetector.
func runStalled(t *testing.T, args []string, stdin string, env map[string]string) int {
	t.Helper()
	sink := stalledSink(t)
	done := make(chan int, 1)
	go func() {
		done <- run(args, strings.NewReader(stdin), sink, sink, func(k string) string { return env[k] }, func(int) {})
	}()
	select {
	case code := <-done:
		return code
	case <-time.After(hangDetector):
		t.Fatalf("run %q hung: not done after %s with its output stalled", args, hangDetector)
		return -1
	}
}

func TestAStalledLogChangesNoOutcome(t *testing.T) {
	t.Parallel()
	answer := func(body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	configFor := func(addr string) string {
		p := filepath.Join(t.TempDir(), "c.hcl")
		text := "vault_addr = \"" + addr + "\"\nallowed_roles = \"*\"\ntimeout = \"1s\"\n"
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alice := configFor(answer(`{"data":{"username":"alice","ip":"127.0.0.1","role_name":"dev"}}`))
	slow := configFor(hang.URL)
	const otp = "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3a"
	pam := map[string]string{"PAM_TYPE": "auth", "PAM_USER": "alice"}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"verified login", []string{"-dev", "-config=" + alice}, pam, 0},
		{"verified login at trace", []string{"-dev", "-log-level=trace", "-config=" + alice}, pam, 0},
		{"denial", []string{"-dev", "-config=" + alice}, map[string]string{"PAM_TYPE": "auth", "PAM_USER": "bob"}, 1},
		{"Vault hangs", []string{"-dev", "-config=" + slow}, pam, 1},
		{"version", []string{"-version"}, nil, 0},
		{"version under PAM", []string{"-version"}, pam, 1},
		{"usage", []string{"-h"}, nil, 1},
		{"unknown flag", []string{"-bogus"}, nil, 1},
		{"stray argument", []string{"-config=" + alice, "extra"}, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := runStalled(t, c.args, otp, c.env); got != c.want {
				t.Errorf("exit code %d, want %d", got, c.want)
			}
		})
	}
}

func TestWatchdogExitsWhileTheLogIsStalled(t *testing.T) {
	t.Parallel()
	exited := make(chan int, 1)
	l := newLogger(newOutbox(), stalledSink(t))
	// A line the sink will never take, logged on the side so that, were
	// logging to block its caller, the detector below would still report it.
	go l.Info("a line")
	w := startWatchdog(time.Now().Add(-config.DefaultTimeout), l, func(code int) { exited <- code })
	defer w.stop()
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("watchdog exit code %d, want 1", code)
		}
	case <-time.After(hangDetector):
		t.Fatal("the watchdog never ended the run: it waited on the log")
	}
}

// gateWriter blocks every Write until release is closed, and says when the
// first Write has begun.
type gateWriter struct {
	began   chan struct{}
	once    sync.Once
	release chan struct{}
	buf     syncBuffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.once.Do(func() { close(g.began) })
	<-g.release
	return g.buf.Write(p)
}

// stallAndDrop returns a logger whose writer is held in its first Write
// until g.release is closed, with the queue full behind it and four writes
// dropped: three log lines and one write to stdout.
func stallAndDrop(t *testing.T) (*logger, *gateWriter) {
	t.Helper()
	g := &gateWriter{began: make(chan struct{}), release: make(chan struct{})}
	out := newOutbox()
	l := newLogger(out, g)
	l.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC) }
	l.Info("first")
	select {
	case <-g.began:
	case <-time.After(hangDetector):
		t.Fatal("the first line was never written")
	}
	within(t, "logging behind a held write", func() {
		for i := 0; i < outboxLines+3; i++ {
			l.Info("line %d", i)
		}
		out.to(g).Write([]byte("usage text\n"))
	})
	return l, g
}

// within runs f and fails the test if it has not returned by hangDetector.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hangDetector):
		t.Fatalf("%s hung: not done after %s", what, hangDetector)
	}
}

func TestLoggingNeverWaitsForAStalledSink(t *testing.T) {
	t.Parallel()
	sink := stalledSink(t)
	out := newOutbox()
	l := newLogger(out, sink)
	l.setLevel(levelTrace)
	within(t, "logging to a stalled sink", func() {
		for i := 0; i < 10*outboxLines; i++ {
			l.Debug("line %d", i)
			out.to(sink).Write([]byte("usage text\n"))
		}
		if l.finish(flushGrace) {
			t.Error("finish says a stalled sink took the log")
		}
	})
}

// checkWritten expects g to have taken the first line and the outboxLines
// queued behind it, in order, then rest.
func checkWritten(t *testing.T, g *gateWriter, rest ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(g.buf.String(), "\n"), "\n")
	if len(lines) != 1+outboxLines+len(rest) {
		t.Fatalf("%d lines written, want %d:\n%s", len(lines), 1+outboxLines+len(rest), g.buf.String())
	}
	if want := "2026-01-02T03:04:05.006Z [INFO]  line 63"; lines[outboxLines] != want {
		t.Errorf("last queued line %q, want %q", lines[outboxLines], want)
	}
	for i, want := range rest {
		if got := lines[1+outboxLines+i]; got != want {
			t.Errorf("line %d is %q, want %q", 1+outboxLines+i, got, want)
		}
	}
}

const droppedFour = "2026-01-02T03:04:05.006Z [WARN]  dropped 4 writes to stdout or stderr: the log was not taking them"

func TestDroppedWritesAreSaidAtTheEnd(t *testing.T) {
	t.Parallel()
	l, g := stallAndDrop(t)
	close(g.release)
	if !l.finish(hangDetector) {
		t.Fatal("the log was not written out")
	}
	checkWritten(t, g, droppedFour)
}

func TestDroppedWritesAreSaidBeforeTheNextLine(t *testing.T) {
	t.Parallel()
	l, g := stallAndDrop(t)
	close(g.release)
	// Once the sink has taken the queue, the next line has room for the
	// notice ahead of it.
	for i := 0; len(l.out.queue) > 0; i++ {
		if i == int(hangDetector/time.Millisecond) {
			t.Fatal("the queue was never written out")
		}
		time.Sleep(time.Millisecond)
	}
	l.Info("after")
	if !l.finish(hangDetector) {
		t.Fatal("the log was not written out")
	}
	checkWritten(t, g, droppedFour, "2026-01-02T03:04:05.006Z [INFO]  after")
}

func TestNoDropNoticeWhenTheLogIsOff(t *testing.T) {
	t.Parallel()
	g := &gateWriter{began: make(chan struct{}), release: make(chan struct{})}
	out := newOutbox()
	l := newLogger(out, g)
	out.to(g).Write([]byte("held\n"))
	select {
	case <-g.began:
	case <-time.After(hangDetector):
		t.Fatal("the first write never began")
	}
	for i := 0; i < outboxLines+1; i++ {
		out.to(g).Write([]byte("x\n"))
	}
	l.setLevel(levelOff)
	close(g.release)
	if !l.finish(hangDetector) {
		t.Fatal("the output was not written out")
	}
	if strings.Contains(g.buf.String(), "dropped") {
		t.Errorf("-log-level=off printed a drop notice:\n%s", g.buf.String())
	}
}
