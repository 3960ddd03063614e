//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const code = "287082"

func beginCode(t *testing.T, l *Limiter, user, code string, now time.Time) (*Attempt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return l.BeginCode(ctx, user, code, now)
}

// accept is a login Vault said yes to: Begin, then Succeeded.
func accept(t *testing.T, l *Limiter, user, code string, now time.Time) {
	t.Helper()
	a, err := beginCode(t, l, user, code, now)
	if err != nil {
		t.Fatalf("BeginCode(%q) at %s: %v", user, now.UTC().Format(time.RFC3339), err)
	}
	if err := a.Succeeded(); err != nil {
		t.Fatalf("Succeeded(%q) at %s: %v", user, now.UTC().Format(time.RFC3339), err)
	}
}

func mustBeUsed(t *testing.T, l *Limiter, user, code string, now time.Time) {
	t.Helper()
	a, err := beginCode(t, l, user, code, now)
	if !errors.Is(err, ErrUsed) || a != nil {
		t.Fatalf("BeginCode(%q) at %s = %v, %v; want ErrUsed", user, now.UTC().Format(time.RFC3339), a, err)
	}
}

// An accepted code is refused for its user for exactly the lifetime
// (counted from the second after it was accepted), and only for that
// user and that code.
func TestAcceptedCodeRefusedForTheLifetime(t *testing.T) {
	l := newLimiter(t, 100, 30*time.Second) // lifetime 5m
	accept(t, l, "alice", code, at(0.5))
	mustBeUsed(t, l, "alice", code, at(1))
	mustBeUsed(t, l, "alice", code, at(300.9)) // accepted at 1 (rounded up); live until 301
	accept(t, l, "bob", code, at(2))
	accept(t, l, "alice", "123456", at(3))
	mustBeUsed(t, l, "alice", "123456", at(4))
	accept(t, l, "alice", code, at(301))
}

// A refused replay is counted as a failure, like a wrong code.
func TestReplayCountsAsAFailure(t *testing.T) {
	l := newLimiter(t, 2, 30*time.Second)
	accept(t, l, "alice", code, at(0))
	mustBeUsed(t, l, "alice", code, at(1))
	mustBeUsed(t, l, "alice", code, at(2))
	mustBeLimited(t, l, "alice", at(3))
}

// Two logins with the same code that both passed Begin (Vault forgot the
// code between them): the second one's Succeeded refuses.
func TestSecondRecordOfTheSameCodeRefused(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	first, err := beginCode(t, l, "alice", code, at(0))
	if err != nil {
		t.Fatal(err)
	}
	second, err := beginCode(t, l, "alice", code, at(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Succeeded(); err != nil {
		t.Fatal(err)
	}
	if err := second.Succeeded(); !errors.Is(err, ErrUsed) {
		t.Fatalf("second Succeeded = %v, want ErrUsed", err)
	}
}

// A record that cannot be written (a full disk) fails Succeeded with
// ErrState, and the code is not taken as recorded: the caller denies, and
// the attempt stays a failure.
func TestRecordThatCannotBeWrittenFails(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	a, err := beginCode(t, l, "alice", code, at(0))
	if err != nil {
		t.Fatal(err)
	}
	real := storeState
	t.Cleanup(func() { storeState = real })
	storeState = func(f *os.File, path string, st state, durable bool) error {
		_, err := f.WriteAt(nil, 0)
		return stateErr(errors.Join(err, syscall.ENOSPC), "state file %q cannot be written: %v", path, syscall.ENOSPC)
	}
	if err := a.Succeeded(); !errors.Is(err, ErrState) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Succeeded on a full disk = %v, want ErrState", err)
	}
	storeState = real
	if got := stateOf(t, l, "alice"); got != "1764470000\n" {
		t.Errorf("state after the failed record = %q, want the failure alone", got)
	}
}

// A file of the format before used codes (failures only) is read as it
// is; the first success clears the failures and adds the code.
func TestOldStateFileUpgrades(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	path := filepath.Join(l.dir, fileName("alice"))
	if err := os.WriteFile(path, []byte("1764469990 1764469995\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	accept(t, l, "alice", code, at(0))
	got := stateOf(t, l, "alice")
	if !regexp.MustCompile(`^\nused 1764470000 [0-9a-f]{64}\n$`).MatchString(got) {
		t.Fatalf("upgraded state = %q", got)
	}
	mustBeUsed(t, l, "alice", code, at(1))
	// An old helper's file with failures keeps them next to the codes.
	mustBegin(t, l, "alice", at(2))
	if got := stateOf(t, l, "alice"); !strings.HasPrefix(got, "1764470001 1764470002\nused 1764470000 ") {
		t.Errorf("state = %q", got)
	}
}

// The file holds neither the code nor a cheap hash of it: the sum is
// keyed with the host key.
func TestRecordHoldsNoCheapFormOfTheCode(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	accept(t, l, "alice", code, at(0))
	got := stateOf(t, l, "alice")
	for _, cheap := range []string{code, sha(code), sha("alice" + code), sha("alice\x00" + code), sha(code + "alice")} {
		if strings.Contains(got, cheap) {
			t.Errorf("state %q holds %q", got, cheap)
		}
	}
	if strings.Contains(got, CodeSum(make([]byte, hostKeySize), "alice", code)) || !strings.Contains(got, CodeSum(l.hostKey, "alice", code)) {
		t.Errorf("the sum does not depend on the host key: %q", got)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// The host key is made once, root-only, and read back by every Open; a
// removed key is made anew, which forgets every recorded code.
func TestHostKey(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	path := filepath.Join(l.dir, hostKeyName)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %04o", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(data) {
		t.Errorf("host key file %q", data)
	}
	again, err := Open(l.dir, 3, 30*time.Second, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.hostKey) != string(l.hostKey) {
		t.Error("a second Open made another key")
	}
	accept(t, l, "alice", code, at(0))
	os.Remove(path)
	fresh, err := Open(l.dir, 3, 30*time.Second, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	accept(t, fresh, "alice", code, at(1))
}

// Concurrent first logins agree on one host key.
func TestHostKeyMadeOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 10)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l, err := Open(dir, 3, time.Second, time.Minute); err == nil {
				keys[i] = string(l.hostKey)
			}
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if k == "" || k != keys[0] {
			t.Fatalf("keys differ or missing: %q", keys)
		}
	}
}

// A user who had MaxUsedCodes codes accepted within the lifetime is
// refused: forgetting one would let it in again.
func TestFullRecordRefuses(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	for i := range MaxUsedCodes {
		accept(t, l, "alice", strings.Repeat(string(rune('0'+i%10)), 4)+string(rune('0'+i/10%10))+"0", at(float64(i)))
	}
	a, err := beginCode(t, l, "alice", "999999", at(200))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Succeeded(); !errors.Is(err, ErrState) {
		t.Fatalf("Succeeded with a full record = %v, want ErrState", err)
	}
	// Once the oldest is out of the lifetime, there is room again.
	accept(t, l, "alice", "999999", at(301))
}

// Twenty logins with the same code at once, all told yes by Vault (as
// after a leader change): exactly one is recorded.
func TestConcurrentSameCodeOneWins(t *testing.T) {
	widenLockedGap(t)
	l := newLimiter(t, 100, 30*time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, used := 0, 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			a, err := l.BeginCode(ctx, "alice", code, t0)
			if err == nil {
				err = a.Succeeded()
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrUsed):
				used++
			default:
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || used != 19 {
		t.Errorf("%d let in, %d refused as used; want 1 and 19", wins, used)
	}
}

// The record of an accepted code is synced to disk before Succeeded
// returns; a counted failure is not (a dead helper's write survives in the
// page cache).
func TestAcceptedCodeIsSyncedBeforeSucceededReturns(t *testing.T) {
	l := newLimiter(t, 3, 30*time.Second)
	real := storeState
	t.Cleanup(func() { storeState = real })
	var durable []bool
	storeState = func(f *os.File, path string, st state, d bool) error {
		durable = append(durable, d)
		return real(f, path, st, d)
	}
	accept(t, l, "alice", code, at(0))
	if len(durable) != 2 || durable[0] || !durable[1] {
		t.Errorf("writes durable = %v, want [false true] (Begin, then Succeeded)", durable)
	}
}

// CodeSum's bytes are a format: state files outlive upgrades and hosts of
// two releases share the KV record, so a change would let a used code in
// again. The value is Python's hmac.new(key, msg, sha256) of the same input.
func TestCodeSumIsAFixedFormat(t *testing.T) {
	key := []byte("0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f")
	const want = "4db32e0b0f0340660b30df6c5d79abba3633b59fc9e2919e18c2043472d95259"
	if got := CodeSum(key, "alice", "123456"); got != want {
		t.Errorf("CodeSum = %s, want %s", got, want)
	}
}
