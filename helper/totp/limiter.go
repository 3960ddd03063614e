package totp

import (
	"context"
	"errors"
	"time"
)

// Limiter is what the mode needs of helper/totp/ratelimit: Begin records an
// attempt for user, counted as a failure until Succeeded, or refuses one
// when user already has too many failures within the window.
type Limiter interface {
	Begin(ctx context.Context, user string, now time.Time) (Attempt, error)
}

// Attempt is one recorded attempt.
type Attempt interface {
	Succeeded() error
}

// ErrLimited: the user has too many failed codes within the window; the
// attempt is refused before Vault is asked.
var ErrLimited = errors.New("too many failed codes")

// errNoLimiter: this build has no rate limiter, so every login denies.
var errNoLimiter = errors.New("the rate limiter (helper/totp/ratelimit) is not built into this binary")

// openLimiter opens the failure counts under dir. Once helper/totp/ratelimit
// is in the tree, its body becomes:
//
//	l, err := ratelimit.Open(dir, max, window)
//	if err != nil {
//		return nil, err
//	}
//	return Adapt[*ratelimit.Attempt](l, ratelimit.ErrLimited), nil
//
// Until then it fails closed: a TOTP login without a rate limit would let
// anyone guess 6-digit codes at the speed of sshd.
func openLimiter(dir string, max int, window time.Duration) (Limiter, error) {
	return nil, errNoLimiter
}

// beginner is any limiter whose Begin returns its own attempt type, as
// ratelimit.Limiter returns *ratelimit.Attempt.
type beginner[A Attempt] interface {
	Begin(ctx context.Context, user string, now time.Time) (A, error)
}

// Adapt makes l a Limiter. An error of l's that is limited also matches
// ErrLimited, its text unchanged.
func Adapt[A Attempt](l beginner[A], limited error) Limiter {
	return adapted[A]{l: l, limited: limited}
}

type adapted[A Attempt] struct {
	l       beginner[A]
	limited error
}

func (a adapted[A]) Begin(ctx context.Context, user string, now time.Time) (Attempt, error) {
	attempt, err := a.l.Begin(ctx, user, now)
	if err != nil {
		if errors.Is(err, a.limited) {
			return nil, limitedError{err}
		}
		return nil, err
	}
	return attempt, nil
}

// limitedError is a limiter's own refusal, which already says "too many
// failed codes" and until when, matched by errors.Is as ErrLimited too.
type limitedError struct{ err error }

func (e limitedError) Error() string        { return e.err.Error() }
func (e limitedError) Unwrap() error        { return e.err }
func (e limitedError) Is(target error) bool { return target == ErrLimited }
