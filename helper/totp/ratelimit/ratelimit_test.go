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

// t0 is a fixed "now"; tests move it by hand, never wait for the clock.
var t0 = time.Unix(1_764_470_000, 0)

func at(seconds float64) time.Time {
	return t0.Add(time.Duration(seconds * float64(time.Second)))
}

// newLimiter opens a limiter on a fresh state_dir that Open itself creates.
func newLimiter(t *testing.T, max int, window time.Duration) *Limiter {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "state"), max, window, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Begin is BeginCode without a code: it counts the attempt only, as the
// failure-counting tests want.
func (l *Limiter) Begin(ctx context.Context, user string, now time.Time) (*Attempt, error) {
	return l.BeginCode(ctx, user, "", now)
}

func begin(t *testing.T, l *Limiter, user string, now time.Time) (*Attempt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return l.Begin(ctx, user, now)
}

func mustBegin(t *testing.T, l *Limiter, user string, now time.Time) *Attempt {
	t.Helper()
	a, err := begin(t, l, user, now)
	if err != nil {
		t.Fatalf("Begin(%q) at %s: %v", user, now.UTC().Format(time.RFC3339Nano), err)
	}
	return a
}

func mustBeLimited(t *testing.T, l *Limiter, user string, now time.Time) {
	t.Helper()
	a, err := begin(t, l, user, now)
	if !errors.Is(err, ErrLimited) || a != nil {
		t.Fatalf("Begin(%q) at %s = %v, %v; want ErrLimited", user, now.UTC().Format(time.RFC3339Nano), a, err)
	}
}

func stateOf(t *testing.T, l *Limiter, user string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.dir, fileName(user)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The third failure within 30s limits; the limit lifts exactly when the
// oldest failure is 30s old, and the next one counts from there.
func TestWindowEdges(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	mustBegin(t, l, "alice", at(0))
	mustBegin(t, l, "alice", at(10))
	mustBegin(t, l, "alice", at(20))
	mustBeLimited(t, l, "alice", at(20))
	mustBeLimited(t, l, "alice", at(29.999999999))
	mustBegin(t, l, "alice", at(30))
	mustBeLimited(t, l, "alice", at(39.999999999))
	mustBegin(t, l, "alice", at(40))
	if got, want := stateOf(t, l, "alice"), "1764470020 1764470030 1764470040\n"; got != want {
		t.Errorf("state = %q, want %q (expired failures pruned)", got, want)
	}
}

// A failure in the middle of a second counts from the next whole second, so
// it never counts for less than the window.
func TestSubSecondRoundsUp(t *testing.T) {
	l := newLimiter(t, 1, 30*time.Second)
	mustBegin(t, l, "alice", at(0.5))
	mustBeLimited(t, l, "alice", at(30.5))
	mustBeLimited(t, l, "alice", at(30.999999999))
	mustBegin(t, l, "alice", at(31))
}

func TestMaxOne(t *testing.T) {
	l := newLimiter(t, 1, time.Minute)
	a := mustBegin(t, l, "alice", at(0))
	mustBeLimited(t, l, "alice", at(0))
	mustBeLimited(t, l, "alice", at(59))
	if err := a.Succeeded(); err != nil {
		t.Fatal(err)
	}
	mustBegin(t, l, "alice", at(59))
}

// An attempt counts while it is being checked, and a success clears every
// failure of the user, the checked ones included.
func TestSuccessClearsAllFailures(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	mustBegin(t, l, "alice", at(0))
	mustBegin(t, l, "alice", at(1))
	a := mustBegin(t, l, "alice", at(2))
	mustBeLimited(t, l, "alice", at(3))
	if err := a.Succeeded(); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, l, "alice"); got != "" {
		t.Errorf("state after success = %q, want empty", got)
	}
	for i := range 3 {
		mustBegin(t, l, "alice", at(4+float64(i)))
	}
	mustBeLimited(t, l, "alice", at(7))
	if err := a.Succeeded(); err != nil {
		t.Fatalf("second Succeeded: %v", err)
	}
	mustBeLimited(t, l, "alice", at(7)) // a second Succeeded clears nothing
}

func TestSucceededAfterStateRemovedByHand(t *testing.T) {
	l := newLimiter(t, 1, 30*time.Second)
	a := mustBegin(t, l, "alice", at(0))
	if err := os.Remove(filepath.Join(l.dir, fileName("alice"))); err != nil {
		t.Fatal(err)
	}
	if err := a.Succeeded(); err != nil {
		t.Fatalf("Succeeded with the file gone: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(l.dir, fileName("alice"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Succeeded recreated the state file: %v", err)
	}
}

func TestUsersCountedApart(t *testing.T) {
	l := newLimiter(t, 1, 30*time.Second)
	mustBegin(t, l, "alice", at(0))
	mustBeLimited(t, l, "alice", at(1))
	mustBegin(t, l, "bob", at(1))
}

// After the clock is set back, a failure stamped in the "future" counts for
// one window from now, not until the clock catches up.
func TestClockSetBack(t *testing.T) {
	l := newLimiter(t, 1, 30*time.Second)
	mustBegin(t, l, "alice", at(3600))
	mustBeLimited(t, l, "alice", at(0))
	if got, want := stateOf(t, l, "alice"), "1764470000\n"; got != want {
		t.Errorf("state = %q, want %q (future stamp brought back to now)", got, want)
	}
	mustBeLimited(t, l, "alice", at(29))
	mustBegin(t, l, "alice", at(30))
}

// A smaller max than the one that wrote the file: the limit lifts when
// fewer than max failures remain.
func TestUntilWithMoreFailuresThanMax(t *testing.T) {
	big := newLimiter(t, 5, 30*time.Second)
	for i := range 5 {
		mustBegin(t, big, "alice", at(float64(i)))
	}
	small := &Limiter{dir: big.dir, max: 3, window: big.window}
	_, err := begin(t, small, "alice", at(5))
	if !errors.Is(err, ErrLimited) || !strings.Contains(err.Error(), "until 2025-11-30T02:33:52Z") {
		t.Fatalf("err = %v, want ErrLimited until the third failure's window ends", err)
	}
	mustBeLimited(t, small, "alice", at(31.999999999))
	mustBegin(t, small, "alice", at(32))
}

// No user name leaves the directory: every file name is the prefix and 64
// hex digits.
func TestFileNameStaysInDir(t *testing.T) {
	for _, user := range []string{"alice", "../../etc/passwd", "/", ".", "..", "a\x00b", "ü", strings.Repeat("z", 4096)} {
		name := fileName(user)
		hexPart := strings.TrimPrefix(name, filePrefix)
		if len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
			t.Errorf("fileName(%q) = %q", user, name)
		}
	}
	// As fileName's comment tells operators: printf %s alice | sha256sum
	if got, want := fileName("alice"), "totp-2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90"; got != want {
		t.Errorf("fileName(alice) = %q, want %q", got, want)
	}
}

func TestOpenCreatesPrivateDirAndFiles(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	mustBegin(t, l, "alice", at(0))
	for _, p := range []string{l.dir, filepath.Join(l.dir, fileName("alice"))} {
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o", p, info.Mode().Perm())
		}
	}
	// An existing safe directory is used as it is.
	if _, err := Open(l.dir, 3, 30*time.Second, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLogin is the limiter's share of one TOTP login: Open, Begin,
// Succeeded.
func BenchmarkLogin(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "state")
	ctx := context.Background()
	for b.Loop() {
		l, err := Open(dir, 3, 30*time.Second, 5*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		a, err := l.Begin(ctx, "alice", t0)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Succeeded(); err != nil {
			b.Fatal(err)
		}
	}
}
