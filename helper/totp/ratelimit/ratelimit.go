// Package ratelimit counts failed TOTP codes per user on the host, so that
// once a user has too many failures within a window the helper denies without
// asking Vault, like pam_google_authenticator's RATE_LIMIT: Vault's TOTP
// engine has no limit of its own.
//
// Every attempt is written down as a failure before Vault is asked and only
// taken back by Succeeded, so concurrent logins cannot race past the limit
// and a helper that dies mid-login leaves a failure behind. A success clears
// the user's failures, as pam_faillock does: they were the same person's
// typos, and a guesser gains max guesses (each about 3 in a million) per
// successful login of that user.
//
// The same file records the codes Vault accepted, so that none is accepted
// twice on this host (used.go).
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

const (
	// MaxFailures bounds max, which bounds the state file's size.
	MaxFailures = 100
	// maxLockWait bounds the wait for a user's lock when ctx has no deadline.
	maxLockWait = 2 * time.Second
	// lockRetry: the lock is held for a read and a write of a few bytes.
	lockRetry  = 5 * time.Millisecond
	filePrefix = "totp-"
)

// lockedHook runs while Begin holds the lock between reading and writing;
// the concurrency test widens that gap with it, so that a missing lock shows.
var lockedHook = func() {}

// Sentinels callers tell apart: every error wraps one. Any error means: deny.
var (
	ErrLimited = errors.New("too many failed codes")
	ErrState   = errors.New("rate-limit state unusable")
	ErrUser    = errors.New("user name cannot be rate-limited")
)

// Limiter counts failed codes per user in dir and remembers accepted codes.
type Limiter struct {
	dir      string
	max      int
	window   time.Duration
	lifetime time.Duration
	hostKey  []byte
}

// Attempt is one code being checked, counted as a failure until Succeeded.
type Attempt struct {
	l        *Limiter
	user     string
	path     string
	deadline time.Time
	now      time.Time
	stamp    int64
	sum      string // the code's HMAC, empty without a code
	done     bool
}

// Open uses dir (creating it 0700 if missing and its parent is safe), which
// must be root's and private, and reads the host key, creating it on first
// use. max is within 1..MaxFailures; window and lifetime are positive.
func Open(dir string, max int, window, lifetime time.Duration) (*Limiter, error) {
	switch {
	case max < 1 || max > MaxFailures:
		return nil, fmt.Errorf("max failures %d is outside 1..%d", max, MaxFailures)
	case window <= 0:
		return nil, fmt.Errorf("failure window %s is not positive", window)
	case lifetime <= 0:
		return nil, fmt.Errorf("code lifetime %s is not positive", lifetime)
	}
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	key, err := loadHostKey(dir)
	if err != nil {
		return nil, err
	}
	return &Limiter{dir: dir, max: max, window: window, lifetime: lifetime, hostKey: key}, nil
}

// Begin is BeginCode without a code: it counts the attempt only.
func (l *Limiter) Begin(ctx context.Context, user string, now time.Time) (*Attempt, error) {
	return l.BeginCode(ctx, user, "", now)
}

// BeginCode records an attempt for user, or refuses it (ErrLimited) when
// user already has max failures within the window. A code accepted for
// user within the lifetime is counted and refused (ErrUsed). It waits for
// the user's lock until ctx's deadline (maxLockWait without one).
func (l *Limiter) BeginCode(ctx context.Context, user, code string, now time.Time) (*Attempt, error) {
	if user == "" {
		return nil, fmt.Errorf("empty user name: %w", ErrUser)
	}
	path := filepath.Join(l.dir, fileName(user))
	deadline := time.Now().Add(maxLockWait)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	f, err := openLocked(ctx, path, deadline, true)
	if err != nil {
		return nil, err
	}
	defer f.Close() // closing the file releases the lock

	stored, err := readState(f, path)
	if err != nil {
		return nil, err
	}
	lockedHook()
	stamp := Stamp(now)
	if stamp < 0 || stamp > maxStamp {
		return nil, stateErr(nil, "the clock says %s, which state file %q cannot hold", now.UTC().Format(time.RFC3339), path)
	}
	live := state{failures: l.liveStamps(stored.failures, stamp, now), used: l.liveUsed(stored.used, stamp, now)}
	if len(live.failures) >= l.max {
		if !slices.Equal(live.failures, stored.failures) || len(live.used) != len(stored.used) {
			if err := storeState(f, path, live, false); err != nil {
				return nil, err
			}
		}
		return nil, l.limited(user, path, live.failures)
	}
	live.failures = append(live.failures, stamp)
	if err := storeState(f, path, live, false); err != nil {
		return nil, err
	}
	a := &Attempt{l: l, user: user, path: path, deadline: deadline, now: now, stamp: stamp}
	if code != "" {
		a.sum = CodeSum(l.hostKey, user, code)
		if u, ok := Find(live.used, a.sum); ok {
			return nil, l.usedErr(user, path, u)
		}
	}
	return a, nil
}

// Succeeded clears the user's failures and records the attempt's code,
// durably, refusing it (ErrUsed) when another login recorded it since
// Begin. It waits for the lock until Begin's deadline; on an error the
// failure stays and the code is unrecorded: the caller must deny. Calling
// it again does nothing.
func (a *Attempt) Succeeded() error {
	if a.done {
		return nil
	}
	f, err := openLocked(context.Background(), a.path, a.deadline, a.sum != "")
	if a.sum == "" && errors.Is(err, os.ErrNotExist) {
		a.done = true // removed by hand: nothing left to clear
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	stored, err := readState(f, a.path)
	if err != nil {
		return err
	}
	live := state{used: a.l.liveUsed(stored.used, a.stamp, a.now)}
	if a.sum != "" {
		if u, ok := Find(live.used, a.sum); ok {
			return a.l.usedErr(a.user, a.path, u)
		}
		if len(live.used) >= MaxUsedCodes {
			return stateErr(nil, "state file %q already holds %d codes accepted for user %q within %s, as many as it can; refusing rather than forgetting one",
				a.path, len(live.used), a.user, a.l.lifetime)
		}
		live.used = append(live.used, Code{Stamp: a.stamp, Sum: a.sum})
	}
	if err := storeState(f, a.path, live, true); err != nil {
		return err
	}
	a.done = true
	return nil
}

// fileName is the hex SHA-256 of the user name, so that no name steers out
// of the directory or past NAME_MAX: alice's file is
// totp-<the output of printf %s alice | sha256sum>.
func fileName(user string) string {
	sum := sha256.Sum256([]byte(user))
	return filePrefix + hex.EncodeToString(sum[:])
}

// Stamp rounds now up to the second, so that a failure or a code never
// counts for less than its window.
func Stamp(now time.Time) int64 {
	s := now.Unix()
	if now.Nanosecond() != 0 {
		s++
	}
	return s
}

// liveStamps keeps the failures still inside the window, sorted. A stamp
// later than now (the clock was set back) is taken as made now: it counts
// for one full window from now instead of until the clock catches up.
func (l *Limiter) liveStamps(stored []int64, stamp int64, now time.Time) []int64 {
	live := make([]int64, 0, len(stored)+1)
	for _, s := range stored {
		s = min(s, stamp)
		if now.Before(time.Unix(s, 0).Add(l.window)) {
			live = append(live, s)
		}
	}
	slices.Sort(live)
	return live
}

// limited says until when user is refused: until enough of the oldest live
// failures have left the window that fewer than max remain.
func (l *Limiter) limited(user, path string, live []int64) error {
	until := time.Unix(live[len(live)-l.max], 0).Add(l.window).UTC()
	return fmt.Errorf("%w for user %q (%d within %s); refused until %s; to lift it now: rm %s",
		ErrLimited, user, len(live), l.window, until.Format(time.RFC3339), path)
}

// stateError matches ErrState without its words, so each message reads as
// one line in the operator's terms.
type stateError struct {
	msg   string
	cause error
}

func (e *stateError) Error() string { return e.msg }

func (e *stateError) Unwrap() []error { return []error{ErrState, e.cause} }

func stateErr(cause error, format string, args ...any) error {
	return &stateError{msg: fmt.Sprintf(format, args...), cause: cause}
}

// errText drops the "op path:" prefix of a *PathError: the messages already
// name the path.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ensureDir makes sure dir is a private directory of root's, creating it
// when it is missing. Others able to write it could plant or remove a
// user's failures; able to read it, they learn who has been failing. Every
// directory from "/" down to dir is held to package trust's rule too:
// whoever can write one can swap dir for a fresh one, resetting every count.
func ensureDir(dir string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := createDir(dir); err != nil {
			return err
		}
		info, err = os.Stat(dir)
	}
	if err != nil {
		return stateErr(err, "state_dir %q cannot be used: %v", dir, errText(err))
	}
	if !info.IsDir() {
		return stateErr(nil, "state_dir %q is not a directory", dir)
	}
	if err := checkPrivate("state_dir", dir, info, 0o700); err != nil {
		return err
	}
	if _, err := trust.Directory("state_dir", dir); err != nil {
		return stateErr(err, "%s", err)
	}
	return nil
}

// createDir makes dir only under a parent that nobody but root can change:
// under any other, someone could swap it after the check.
func createDir(dir string) error {
	if _, err := os.Stat(filepath.Dir(dir)); err != nil {
		return stateErr(err, "state_dir %q does not exist and its parent cannot be used: %v", dir, errText(err))
	}
	if _, err := trust.Parent("state_dir", dir); err != nil {
		return stateErr(err, "%s", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return stateErr(err, "state_dir %q cannot be created: %v", dir, errText(err))
	}
	return nil
}

// checkPrivate: stricter than trust, not even readable by group or others.
func checkPrivate(what, path string, info os.FileInfo, want os.FileMode) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		var cause error
		if perm&0o022 != 0 {
			cause = trust.ErrUnsafePermissions
		}
		return stateErr(cause, "%s %q is accessible by group or others (mode %04o); run: chmod %04o %s", what, path, perm, want, path)
	}
	if uid, ok := trust.Owner(info); ok && !trust.TrustedOwner(uid) {
		return stateErr(trust.ErrUnsafeOwner, "%s %q is owned by uid %d, not by root; run: chown root %s", what, path, uid, path)
	}
	return nil
}

// openLocked opens the state file at path and takes its exclusive lock,
// trying until deadline or ctx's end but at least once. It follows no
// symbolic link (someone able to plant one could point it at any file we
// would then truncate) and does not block (a FIFO in its place would wait
// for a writer forever).
func openLocked(ctx context.Context, path string, deadline time.Time, create bool) (*os.File, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := trust.OpenNoFollow(path, flags, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, stateErr(err, "state file %q is a symbolic link; remove it: rm %s", path, path)
	} else if err != nil {
		return nil, stateErr(err, "state file %q cannot be opened: %v", path, errText(err))
	}
	err = checkStateFile(f, path)
	if err == nil {
		err = lockUntil(ctx, f, path, deadline)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkStateFile refuses a file that is not ours alone: only root can put
// one in the directory, so any of these means the state was tampered with.
func checkStateFile(f *os.File, path string) error {
	info, err := f.Stat()
	if err != nil {
		return stateErr(err, "state file %q cannot be examined: %v", path, errText(err))
	}
	if !info.Mode().IsRegular() {
		return stateErr(nil, "state file %q is %s, not a regular file; remove it: rm %s", path, trust.FileKind(info.Mode()), path)
	}
	if err := checkPrivate("state file", path, info, 0o600); err != nil {
		return err
	}
	if n, ok := trust.Links(info); ok && n != 1 {
		return stateErr(nil, "state file %q has %d hard links; remove it: rm %s", path, n, path)
	}
	return nil
}

// lockUntil retries a non-blocking flock(2) of f's open file description
// instead of blocking in it: a blocked call cannot be given up when the
// login's budget runs out.
func lockUntil(ctx context.Context, f *os.File, path string, deadline time.Time) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return stateErr(err, "state file %q cannot be locked: %v", path, err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return stateErr(err, "state file %q stayed locked by another login until the time budget ran out", path)
		}
		t := time.NewTimer(min(wait, lockRetry))
		select {
		case <-ctx.Done():
			t.Stop()
			return stateErr(ctx.Err(), "state file %q stayed locked by another login until the time budget ran out", path)
		case <-t.C:
		}
	}
}
