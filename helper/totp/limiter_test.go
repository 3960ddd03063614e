package totp

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestTheFileLimiterCountsFailuresAndRefusesPastTheLimit: the mode's limiter
// is ratelimit's, on disk: a failure counts, and past max the refusal
// matches ErrLimited with no Attempt beside it.
func TestTheFileLimiterCountsFailuresAndRefusesPastTheLimit(t *testing.T) {
	l, err := openLimiter(filepath.Join(t.TempDir(), "state"), 1, 30*time.Second)
	if err != nil {
		t.Fatalf("openLimiter: %v", err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if a, err := l.Begin(context.Background(), "alice", now); a == nil || err != nil {
		t.Fatalf("first attempt: %v, %v", a, err)
	}
	a, err := l.Begin(context.Background(), "alice", now.Add(time.Second))
	if a != nil || !errors.Is(err, ErrLimited) {
		t.Errorf("second attempt: %v, %v; want ErrLimited", a, err)
	}
}
