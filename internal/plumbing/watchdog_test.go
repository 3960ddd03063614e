package plumbing

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
)

func TestWatchdogSaysTheBudgetAndWhatTheRunWaitedFor(t *testing.T) {
	t.Parallel()
	var stderr plumbingtest.SyncBuffer
	exited := make(chan int, 1)
	r := Start(time.Now(), io.Discard, &stderr, func(code int) { exited <- code })
	defer r.End()
	// The configured budget replaces the default, counted from the start.
	_, cancel := r.Budget(time.Second)
	defer cancel()
	r.WaitingFor("Vault at https://vault.example.com")
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
	var stderr plumbingtest.SyncBuffer
	exited := make(chan int, 1)
	// A run that started the default budget ago is already overdue.
	r := Start(time.Now().Add(-config.DefaultTimeout), io.Discard, &stderr, func(code int) { exited <- code })
	defer r.End()
	r.WaitingFor("the config file /etc/x.hcl")
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the watchdog never fired")
	}
	if want := "[ERROR] timed out after 10s waiting for the config file /etc/x.hcl; denying\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("log = %q, want a line ending %q", stderr.String(), want)
	}
}

func TestWatchdogExitsWhileTheLogIsStalled(t *testing.T) {
	t.Parallel()
	exited := make(chan int, 1)
	sink := plumbingtest.StalledSink(t)
	r := Start(time.Now().Add(-config.DefaultTimeout), sink, sink, func(code int) { exited <- code })
	defer r.End()
	// A line the sink will never take, logged on the side so that, were
	// logging to block its caller, the detector below would still report it.
	go r.Log.Info("a line")
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("watchdog exit code %d, want 1", code)
		}
	case <-time.After(plumbingtest.HangDetector):
		t.Fatal("the watchdog never ended the run: it waited on the log")
	}
}
