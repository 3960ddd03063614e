package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
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
	_, err := readOTP(ctx, r)
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

func TestWatchdogDeniesARunStuckBeforeTheBudgetExists(t *testing.T) {
	t.Parallel()
	// A FIFO as config path blocks open(2) until a writer comes: no context
	// can end that wait, only the watchdog.
	fifo := filepath.Join(t.TempDir(), "config.hcl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	var stderr syncBuffer
	exited := make(chan int, 1)
	go run([]string{"-config=" + fifo}, strings.NewReader(""), io.Discard, &stderr,
		func(string) string { return "" }, func(code int) { exited <- code })
	defer func() {
		// Release the stuck open so the goroutine ends with the test.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}()
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("watchdog exit code %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watchdog never fired")
	}
	if !strings.Contains(stderr.String(), "[ERROR] timed out after 10s; denying") {
		t.Errorf("log = %q", stderr.String())
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
