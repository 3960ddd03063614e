package totp

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAdaptKeepsTheLimitersOwnWords: a limited refusal matches ErrLimited
// and the limiter's sentinel with its text unchanged; other errors pass
// as they are; a refusal never comes with a non-nil Attempt.
func TestAdaptKeepsTheLimitersOwnWords(t *testing.T) {
	mem := &memLimiter{max: 1, failures: map[string]int{"alice": 1}}
	l := Adapt[*memAttempt](mem, errMemLimited)
	attempt, err := l.Begin(context.Background(), "alice", time.Now())
	want := `too many failed codes for user "alice" (1 within 30s); refused until 2026-11-30T12:00:30Z`
	if attempt != nil || err == nil || err.Error() != want || !errors.Is(err, ErrLimited) || !errors.Is(err, errMemLimited) {
		t.Errorf("limited: %v, %v", attempt, err)
	}
	state := errors.New("state file is a symlink")
	mem.beginErr = state
	attempt, err = l.Begin(context.Background(), "bob", time.Now())
	if attempt != nil || err != state || errors.Is(err, ErrLimited) {
		t.Errorf("state problem: %v, %v", attempt, err)
	}
	mem.beginErr = nil
	if attempt, err = l.Begin(context.Background(), "bob", time.Now()); attempt == nil || err != nil {
		t.Errorf("allowed: %v, %v", attempt, err)
	}
}

func TestWithoutTheRateLimiterEveryLoginDenies(t *testing.T) {
	l, err := openLimiter(t.TempDir(), 3, 30*time.Second)
	if l != nil || err == nil || err.Error() != "the rate limiter (helper/totp/ratelimit) is not built into this binary" {
		t.Errorf("openLimiter = %v, %v", l, err)
	}
}
