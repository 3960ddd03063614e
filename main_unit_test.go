package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
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

func TestWatchdogWaitsForABudgetLongerThanTheDefault(t *testing.T) {
	t.Parallel()
	// Vault answers after the default budget plus the watchdog's grace; with
	// timeout = "30s" the run must still end in Vault's answer.
	slow := config.DefaultTimeout + plumbing.WatchdogGrace + 500*time.Millisecond
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
	var stderr plumbingtest.SyncBuffer
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
	var stderr plumbingtest.SyncBuffer
	getenv := func(k string) string { return map[string]string{"PAM_TYPE": "auth", "PAM_USER": "alice"}[k] }
	code := run([]string{"-dev", "-config=" + cfg}, r, io.Discard, &stderr, getenv, func(int) {})
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if want := "[ERROR] timed out waiting for the password on stdin (timeout = 1s)\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("log = %q, want a line ending %q", stderr.String(), want)
	}
}

// runStalled runs run in-process with stdout and stderr on a stalled sink
// and returns its exit code, failing the test if run has not returned within
// plumbingtest.HangDetector.
func runStalled(t *testing.T, args []string, stdin string, env map[string]string) int {
	t.Helper()
	sink := plumbingtest.StalledSink(t)
	done := make(chan int, 1)
	go func() {
		done <- run(args, strings.NewReader(stdin), sink, sink, func(k string) string { return env[k] }, func(int) {})
	}()
	select {
	case code := <-done:
		return code
	case <-time.After(plumbingtest.HangDetector):
		t.Fatalf("run %q hung: not done after %s with its output stalled", args, plumbingtest.HangDetector)
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
