package totp

import (
	"context"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
)

// Limiter is what the mode needs of helper/totp/ratelimit: Begin records an
// attempt for user with code, counted as a failure until Succeeded, or
// refuses one when user already has too many failures within the window
// or had code accepted on this host within its lifetime. Succeeded records
// code as accepted and clears the failures. Tests put an in-memory one in
// its place.
type Limiter interface {
	Begin(ctx context.Context, user, code string, now time.Time) (Attempt, error)
}

// Attempt is one recorded attempt.
type Attempt interface {
	Succeeded() error
}

// ErrLimited: the user has too many failed codes within the window; the
// attempt is refused before Vault is asked.
var ErrLimited = ratelimit.ErrLimited

// ErrUsedHere: the code was accepted for the user on this host within its
// lifetime; it is refused before Vault is asked.
var ErrUsedHere = ratelimit.ErrUsed

// Limits is what opening the limiter takes from the config.
type Limits struct {
	Dir          string
	MaxFailures  int
	Window       time.Duration
	CodeLifetime time.Duration
}

// openLimiter opens the failure counts and accepted codes under dir.
func openLimiter(lim Limits) (Limiter, error) {
	l, err := ratelimit.Open(lim.Dir, lim.MaxFailures, lim.Window, lim.CodeLifetime)
	if err != nil {
		return nil, err
	}
	return fileLimiter{l}, nil
}

// fileLimiter gives ratelimit's concrete attempt type the mode's interface.
type fileLimiter struct{ l *ratelimit.Limiter }

func (f fileLimiter) Begin(ctx context.Context, user, code string, now time.Time) (Attempt, error) {
	a, err := f.l.BeginCode(ctx, user, code, now)
	if err != nil {
		return nil, err
	}
	return a, nil
}
