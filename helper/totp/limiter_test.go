package totp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
)

// TestTheFileLimiterCountsFailuresAndRefusesPastTheLimit: the mode's limiter
// is ratelimit's, on disk: a failure counts, and past max the refusal
// matches ErrLimited with no Attempt beside it.
func TestTheFileLimiterCountsFailuresAndRefusesPastTheLimit(t *testing.T) {
	l, err := openLimiter(&Settings{StateDir: filepath.Join(t.TempDir(), "state"), MaxFailures: 1, FailureWindow: 30 * time.Second, CodeLifetime: time.Minute})
	if err != nil {
		t.Fatalf("openLimiter: %v", err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if a, err := l.Begin(context.Background(), "alice", goodCode, now); a == nil || err != nil {
		t.Fatalf("first attempt: %v, %v", a, err)
	}
	a, err := l.Begin(context.Background(), "alice", goodCode, now.Add(time.Second))
	if a != nil || !errors.Is(err, ErrLimited) {
		t.Errorf("second attempt: %v, %v; want ErrLimited", a, err)
	}
}

// TestAValidCodeIsLetInOnceOnThisHost: Vault says yes to the same code
// twice (as it does after a leader change); the mode, with the file
// limiter, lets it in once and refuses the replay before asking Vault.
func TestAValidCodeIsLetInOnceOnThisHost(t *testing.T) {
	stub := newStubVault(t)
	m, _ := testMode(t, stub, false)
	m.OpenLimiter = openLimiter
	m.cfg.StateDir = filepath.Join(t.TempDir(), "state")
	if _, err := login(m, goodCode, "alice"); err != nil {
		t.Fatalf("first login: %v", err)
	}
	asked := len(stub.seen())
	if _, err := login(m, goodCode, "alice"); !errors.Is(err, ErrUsedHere) {
		t.Fatalf("replay: %v, want ErrUsedHere", err)
	}
	if n := len(stub.seen()); n != asked {
		t.Errorf("the replay asked Vault (%d requests after %d)", n, asked)
	}
}

// TestARecordThatFailsAfterVaultSaidYesDenies: with the file limiter, the
// user's state file is replaced (here by a symbolic link, which the
// limiter refuses) while Vault validates; Vault said yes, the record
// cannot be written, and the login is denied.
func TestARecordThatFailsAfterVaultSaidYesDenies(t *testing.T) {
	stub := newStubVault(t)
	m, _ := testMode(t, stub, false)
	m.OpenLimiter = openLimiter
	m.cfg.StateDir = filepath.Join(t.TempDir(), "state")
	stub.setFault(func(w http.ResponseWriter, r request) {
		entries, _ := os.ReadDir(m.cfg.StateDir)
		for _, e := range entries {
			if e.Name() != "totp-hostkey" {
				p := filepath.Join(m.cfg.StateDir, e.Name())
				os.Remove(p)
				os.Symlink("/dev/null", p)
			}
		}
		status, body := stub.answer(r)
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	_, err := login(m, goodCode, "alice")
	if err == nil || !strings.HasPrefix(err.Error(), `the code is valid, but recording it as used for "alice" failed, so denying: `) || !errors.Is(err, ratelimit.ErrState) {
		t.Fatalf("err = %v, want a denial for the record", err)
	}
}
