package totp

import (
	"context"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
)

// Limiter is what the mode needs of helper/totp/ratelimit: Begin records an
// attempt for user, counted as a failure until Succeeded, or refuses one
// when user already has too many failures within the window. Tests put an
// in-memory one in its place.
type Limiter interface {
	Begin(ctx context.Context, user string, now time.Time) (Attempt, error)
}

// Attempt is one recorded attempt.
type Attempt interface {
	Succeeded() error
}

// ErrLimited: the user has too many failed codes within the window; the
// attempt is refused before Vault is asked.
var ErrLimited = ratelimit.ErrLimited

// openLimiter opens the failure counts under dir.
func openLimiter(dir string, max int, window time.Duration) (Limiter, error) {
	l, err := ratelimit.Open(dir, max, window)
	if err != nil {
		return nil, err
	}
	return fileLimiter{l}, nil
}

// fileLimiter gives ratelimit's concrete attempt type the mode's interface.
type fileLimiter struct{ l *ratelimit.Limiter }

func (f fileLimiter) Begin(ctx context.Context, user string, now time.Time) (Attempt, error) {
	a, err := f.l.Begin(ctx, user, now)
	if err != nil {
		return nil, err
	}
	return a, nil
}
