//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package ratelimit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A symbolic link planted as the state file is refused and what it points
// to is neither written nor created.
func TestSymlinkRefusedTargetUntouched(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	victim := filepath.Join(t.TempDir(), "victim")
	writeFile(t, victim, "keep me\n", 0o600)
	missing := filepath.Join(t.TempDir(), "missing")
	for user, target := range map[string]string{"alice": victim, "bob": missing} {
		symlink(t, target, filepath.Join(l.dir, fileName(user)))
		if _, err := begin(t, l, user, t0); !errors.Is(err, ErrState) {
			t.Errorf("Begin(%s) through a link to %s: %v, want ErrState", user, target, err)
		}
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me\n" {
		t.Errorf("link target now %q, %v", b, err)
	}
	if _, err := os.Lstat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dangling link's target was created: %v", err)
	}
}

// A link planted after Begin is refused by Succeeded too: it clears nothing
// through it.
func TestSucceededRefusesSymlink(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	a := mustBegin(t, l, "alice", t0)
	victim := filepath.Join(t.TempDir(), "victim")
	writeFile(t, victim, "keep me\n", 0o600)
	path := filepath.Join(l.dir, fileName("alice"))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	symlink(t, victim, path)
	if err := a.Succeeded(); !errors.Is(err, ErrState) {
		t.Errorf("Succeeded through a link: %v, want ErrState", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
		t.Errorf("link target truncated to %q", b)
	}
}

// A damaged file denies and stays as it was for the operator to look at.
func TestCorruptFileDeniesAndIsKept(t *testing.T) {
	for _, content := range []string{"1764470000", "garbage\n", "1764470000\n\n", "\x00\x00\x00", strings.Repeat("9", 2000)} {
		l := newLimiter(t, 3, 30*time.Second)
		path := filepath.Join(l.dir, fileName("alice"))
		writeFile(t, path, content, 0o600)
		if _, err := begin(t, l, "alice", t0); !errors.Is(err, ErrState) {
			t.Errorf("Begin on %q: %v, want ErrState", content, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("corrupt %q rewritten as %q", content, b)
		}
	}
}

// The state written by one limiter is read back by another (another login).
func TestStateSurvivesReopen(t *testing.T) {
	l := newLimiter(t, 2, 30*time.Second)
	mustBegin(t, l, "alice", t0)
	mustBegin(t, l, "alice", t0)
	again, err := Open(l.dir, 2, 30*time.Second, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mustBeLimited(t, again, "alice", at(1))
}

// Succeeded gets no more time than Begin had: with the lock held past that
// deadline it fails, and the failure stays counted.
func TestSucceededLockedPastDeadline(t *testing.T) {
	l := newLimiter(t, 1, 30*time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	a, err := l.Begin(ctx, "alice", t0) // a free lock is taken even past the deadline
	if err != nil {
		t.Fatal(err)
	}
	holdLock(t, filepath.Join(l.dir, fileName("alice")))
	if err := a.Succeeded(); !errors.Is(err, ErrState) {
		t.Fatalf("Succeeded with the lock held: %v, want ErrState", err)
	}
	if got := stateOf(t, l, "alice"); got != "1764470000\n" {
		t.Errorf("state = %q, want the failure kept", got)
	}
}

// A login waiting for the lock gives up when its context ends, before any
// deadline.
func TestLockWaitEndsWithContext(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	writeFile(t, filepath.Join(l.dir, fileName("alice")), "", 0o600)
	holdLock(t, filepath.Join(l.dir, fileName("alice")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Begin(ctx, "alice", t0); !errors.Is(err, ErrState) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want ErrState caused by the context", err)
	}
}
