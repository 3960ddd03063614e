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
	var buf bytes.Buffer
	l := newLogger(&buf)
	l.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC) }
	l.setLevel(levelTrace)
	l.Info("a")
	l.Warn("b")
	l.Error("c\nd\x1be\u009bf\u2028g")
	l.Debug("f")
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
		var buf bytes.Buffer
		l := newLogger(&buf)
		l.setLevel(lv)
		l.Debug("1")
		l.Info("2")
		l.Warn("3")
		l.Error("4")
		if got := strings.Count(buf.String(), "\n"); got != wantLines {
			t.Errorf("level %s printed %d lines, want %d", name, got, wantLines)
		}
	}
}

func TestWatchdogSaysTheBudgetAndWhatTheRunWaitedFor(t *testing.T) {
	t.Parallel()
	var stderr syncBuffer
	exited := make(chan int, 1)
	w := startWatchdog(time.Now(), newLogger(&stderr), func(code int) { exited <- code })
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
	w := startWatchdog(time.Now().Add(-config.DefaultTimeout), newLogger(&stderr), func(code int) { exited <- code })
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
	if !strings.Contains(stderr.String(), "vault-ssh-helper verification successful!") {
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
