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
// The same file records the codes Vault accepted, refused until they can no
// longer be valid (totp_code_lifetime): Vault's engine remembers a used code
// only in the active node's memory, which a leader change, a restart or a
// seal forgets. It holds HMAC-SHA256 under a random host key in state_dir: a
// plain or salted hash of a 6-digit code is reversed in milliseconds, and a
// slow KDF only multiplies that by a cost a GPU pays faster than a login.
//
// The file is empty, or a line of the failures' unix times separated by
// single spaces (empty when there are none but some codes), then one line
// per accepted code:
//
//	used <unix time> <HMAC-SHA256 in 64 lowercase hex digits>
//
// Each line ends with a newline written last, so a write cut short leaves
// a file the parser refuses: a damaged file denies instead of counting zero.
package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
	// MaxUsedCodes bounds the codes a user's file holds within the lifetime; a
	// user who logs in more often is refused rather than a live code forgotten.
	MaxUsedCodes = 100
	// hostKeyName cannot collide with a user's totp-<64 hex digits>.
	hostKeyName = filePrefix + "hostkey"
	hostKeySize = 32
	sumHexLen   = 2 * sha256.Size
	usedTag     = "used "
	// maxStampDigits allows times up to the year 33658 and keeps every
	// value far from int64 overflow.
	maxStampDigits = 12
	maxStamp       = 999_999_999_999
	// maxFileSize is the longest failures line; maxStateSize adds
	// MaxUsedCodes used lines at their longest.
	maxFileSize  = MaxFailures * (maxStampDigits + 1)
	maxStateSize = maxFileSize + MaxUsedCodes*(len(usedTag)+maxStampDigits+1+sumHexLen+1)
)

// lockedHook runs while Begin holds the lock between reading and writing;
// the concurrency test widens that gap with it, so that a missing lock shows.
var lockedHook = func() {}

// Sentinels callers tell apart: every error wraps one. Any error means: deny.
var (
	ErrLimited = errors.New("too many failed codes")
	ErrState   = errors.New("rate-limit state unusable")
	ErrUser    = errors.New("user name cannot be rate-limited")
	// ErrUsed: the code was accepted for this user on this host within the lifetime.
	ErrUsed = errors.New("code already accepted")
)

// Limiter counts failed codes per user in dir and remembers accepted codes.
type Limiter struct {
	dir              string
	max              int
	window, lifetime time.Duration
	hostKey          []byte
}

// Attempt is one code being checked, counted as a failure until Succeeded.
type Attempt struct {
	l             *Limiter
	user, path    string
	deadline, now time.Time
	sum           string // the code's HMAC, empty without a code
	done          bool
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
	live := state{
		failures: within(stored.failures, failureStamp, stamp, now, l.window),
		used:     within(stored.used, codeStamp, stamp, now, l.lifetime),
	}
	slices.Sort(live.failures)
	if n := len(live.failures); n >= l.max {
		if !slices.Equal(live.failures, stored.failures) || len(live.used) != len(stored.used) {
			if err := storeState(f, path, live, false); err != nil {
				return nil, err
			}
		}
		// user is refused until enough of the oldest live failures have
		// left the window that fewer than max remain.
		until := time.Unix(live.failures[n-l.max], 0).Add(l.window).UTC()
		return nil, fmt.Errorf("%w for user %q (%d within %s); refused until %s; to lift it now: rm %s",
			ErrLimited, user, n, l.window, until.Format(time.RFC3339), path)
	}
	live.failures = append(live.failures, stamp)
	if err := storeState(f, path, live, false); err != nil {
		return nil, err
	}
	a := &Attempt{l: l, user: user, path: path, deadline: deadline, now: now}
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
	stamp := Stamp(a.now)
	live := state{used: within(stored.used, codeStamp, stamp, a.now, a.l.lifetime)}
	if a.sum != "" {
		if u, ok := Find(live.used, a.sum); ok {
			return a.l.usedErr(a.user, a.path, u)
		}
		if len(live.used) >= MaxUsedCodes {
			return stateErr(nil, "state file %q already holds %d codes accepted for user %q within %s, as many as it can; refusing rather than forgetting one",
				a.path, len(live.used), a.user, a.l.lifetime)
		}
		live.used = append(live.used, Code{Stamp: stamp, Sum: a.sum})
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
	return now.Add(time.Second - time.Nanosecond).Unix()
}

// within keeps the entries of stored stamped (at) within d before now. A
// stamp later than now (the clock was set back) is taken as made now: it
// counts for one full d from now instead of until the clock catches up.
func within[T any](stored []T, at func(*T) *int64, stamp int64, now time.Time, d time.Duration) []T {
	keep := make([]T, 0, len(stored)+1)
	for _, e := range stored {
		s := at(&e)
		*s = min(*s, stamp)
		if now.Before(time.Unix(*s, 0).Add(d)) {
			keep = append(keep, e)
		}
	}
	return keep
}

func failureStamp(s *int64) *int64 { return s }
func codeStamp(c *Code) *int64     { return &c.Stamp }

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

// errText drops a *PathError's "op path:" prefix: the messages name the path.
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
		// dir is made only under a parent that nobody but root can change:
		// under any other, someone could swap it after the check.
		if _, err := os.Stat(filepath.Dir(dir)); err != nil {
			return stateErr(err, "state_dir %q does not exist and its parent cannot be used: %v", dir, errText(err))
		}
		if _, err := trust.Parent("state_dir", dir); err != nil {
			return stateErr(err, "%s", err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return stateErr(err, "state_dir %q cannot be created: %v", dir, errText(err))
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
		select {
		case <-ctx.Done():
			return stateErr(ctx.Err(), "state file %q stayed locked by another login until the time budget ran out", path)
		case <-time.After(min(wait, lockRetry)):
		}
	}
}

// Code is one accepted code: when (unix seconds, rounded up) and its HMAC.
type Code struct {
	Stamp int64
	Sum   string
}

// state is a user's whole file: failures and accepted codes.
type state struct {
	failures []int64
	used     []Code
}

// parseState reads a state file; the error does not name the path.
func parseState(data []byte) (state, error) {
	if len(data) == 0 {
		return state{}, nil
	}
	if len(data) > maxStateSize {
		return state{}, fmt.Errorf("it is larger than %d bytes", maxStateSize)
	}
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return state{}, fmt.Errorf("it does not end with a newline")
	}
	head, body, hasUsed := strings.Cut(text, "\n")
	var st state
	if head != "" || !hasUsed {
		stamps, err := parseStamps(head)
		if err != nil {
			return state{}, err
		}
		st.failures = stamps
	}
	if !hasUsed {
		return st, nil
	}
	lines := strings.Split(body, "\n")
	if len(lines) > MaxUsedCodes {
		return state{}, fmt.Errorf("it holds more than %d used codes", MaxUsedCodes)
	}
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, usedTag)
		u, err := ParseCode(rest)
		if !ok {
			err = fmt.Errorf("does not start with %q", usedTag)
		}
		if err != nil {
			return state{}, fmt.Errorf("line %d %q %v", i+2, clip(line), err)
		}
		st.used = append(st.used, u)
	}
	return st, nil
}

// parseStamps reads the failures' line, its newline cut off.
func parseStamps(line string) ([]int64, error) {
	if len(line) >= maxFileSize {
		return nil, fmt.Errorf("it is larger than %d bytes", maxFileSize)
	}
	fields := strings.Split(line, " ")
	if len(fields) > MaxFailures {
		return nil, fmt.Errorf("it holds more than %d times", MaxFailures)
	}
	stamps := make([]int64, 0, len(fields))
	for i, f := range fields {
		s, err := parseStamp(f)
		if err != nil {
			return nil, fmt.Errorf("field %d %q %v", i+1, clip(f), err)
		}
		stamps = append(stamps, s)
	}
	return stamps, nil
}

func parseStamp(f string) (int64, error) {
	switch {
	case f == "":
		return 0, fmt.Errorf("is empty")
	case len(f) > maxStampDigits:
		return 0, fmt.Errorf("has more than %d digits", maxStampDigits)
	case strings.Trim(f, "0123456789") != "":
		return 0, fmt.Errorf("is not a unix time in decimal digits")
	case len(f) > 1 && f[0] == '0':
		return 0, fmt.Errorf("has a leading zero")
	}
	return strconv.ParseInt(f, 10, 64)
}

// ParseCode reads "<unix time> <64 lowercase hex digits>", as strictly as
// a state file's used line.
func ParseCode(s string) (Code, error) {
	field, sum, ok := strings.Cut(s, " ")
	if !ok {
		return Code{}, fmt.Errorf("has no code hash")
	}
	stamp, err := parseStamp(field)
	if err != nil {
		return Code{}, fmt.Errorf("has a time that %v", err)
	}
	if len(sum) != sumHexLen || strings.Trim(sum, "0123456789abcdef") != "" {
		return Code{}, fmt.Errorf("has a code hash that is not %d lowercase hex digits", sumHexLen)
	}
	return Code{Stamp: stamp, Sum: sum}, nil
}

func clip(f string) string {
	if len(f) > 16 {
		return f[:16] + "..."
	}
	return f
}

// formatState is parseState's inverse.
func formatState(st state) []byte {
	var b []byte
	for i, s := range st.failures {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, s, 10)
	}
	if len(st.failures) > 0 || len(st.used) > 0 {
		b = append(b, '\n')
	}
	for _, u := range st.used {
		b = fmt.Appendf(b, "%s%d %s\n", usedTag, u.Stamp, u.Sum)
	}
	return b
}

func readState(r io.ReaderAt, path string) (state, error) {
	data, err := io.ReadAll(io.NewSectionReader(r, 0, int64(maxStateSize)+1))
	if err != nil {
		return state{}, stateErr(err, "state file %q cannot be read: %v", path, errText(err))
	}
	st, err := parseState(data)
	if err != nil {
		return state{}, stateErr(err, "state file %q is corrupt: %v; remove it to reset the user's failures and used codes: rm %s", path, err, path)
	}
	return st, nil
}

// storeState replaces the content in one write. With durable it syncs: a
// code counts as recorded only once on disk, so a power cut after the
// helper said yes cannot forget it; a failure left in the page cache
// survives a helper that dies. Tests replace it to fail as a full disk does.
var storeState = func(f *os.File, path string, st state, durable bool) error {
	data := formatState(st)
	_, err := f.WriteAt(data, 0)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if err == nil && durable {
		err = f.Sync()
	}
	if err != nil {
		return stateErr(err, "state file %q cannot be written: %v", path, errText(err))
	}
	return nil
}

// Find is the code among used whose sum is sum, compared in constant time.
func Find(used []Code, sum string) (Code, bool) {
	for _, u := range used {
		if hmac.Equal([]byte(u.Sum), []byte(sum)) {
			return u, true
		}
	}
	return Code{}, false
}

// CodeSum is what a record holds for code under key, for name (a user or
// a Vault key), so that two names' equal codes are two records.
func CodeSum(key []byte, name, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("vault-ssh-helper used TOTP code\x00" + name + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

func (l *Limiter) usedErr(user, path string, u Code) error {
	accepted := time.Unix(u.Stamp, 0).UTC()
	return fmt.Errorf("%w for user %q on this host at %s; it stays refused until %s (totp_code_lifetime %s); state file %s",
		ErrUsed, user, accepted.Format(time.RFC3339), accepted.Add(l.lifetime).Format(time.RFC3339), l.lifetime, path)
}

// loadHostKey reads the host key, creating it under its file's lock, so two
// first logins agree on one key; a creation cut short is refused.
func loadHostKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, hostKeyName)
	f, err := openLocked(context.Background(), path, time.Now().Add(maxLockWait), true)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, 0, int64(2*hostKeySize+2)))
	if err != nil {
		return nil, stateErr(err, "host key %q cannot be read: %v", path, errText(err))
	}
	if len(data) == 0 {
		key := make([]byte, hostKeySize)
		rand.Read(key) // crypto/rand's Read never fails
		_, err := f.WriteAt([]byte(hex.EncodeToString(key)+"\n"), 0)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			return nil, stateErr(err, "host key %q cannot be written: %v", path, errText(err))
		}
		return key, nil
	}
	text, ok := strings.CutSuffix(string(data), "\n")
	key, err := hex.DecodeString(text)
	if !ok || err != nil || len(key) != hostKeySize || hex.EncodeToString(key) != text {
		return nil, stateErr(err, "host key %q is corrupt: it is not %d lowercase hex digits and a newline; remove it (every user's used codes are then forgotten): rm %s",
			path, 2*hostKeySize, path)
	}
	return key, nil
}
