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
	"strconv"
	"strings"
	"time"
)

// Used codes. Vault's TOTP engine remembers a used code only in the active
// node's memory, so a leader change, a restart or a seal forgets it and the
// same code is accepted again within its period. So each code Vault
// accepted is recorded in the user's state file, under the failures' lock,
// and refused until it can no longer be valid (totp_code_lifetime).
//
// What is written is HMAC-SHA256 under a random host key in state_dir: a
// plain or salted hash of a 6-digit code is reversed in milliseconds, and
// a slow KDF only multiplies that by a cost a GPU pays faster than a login.
// Whoever can read the host key can change every state file anyway.
//
// The file is empty, or a line of the failures' unix times separated by
// single spaces (empty when there are none but some codes), then one line
// per accepted code:
//
//	used <unix time> <HMAC-SHA256 in 64 lowercase hex digits>
//
// Each line ends with a newline written last, so a write cut short leaves
// a file the parser refuses instead of fewer failures: a damaged file
// denies instead of silently counting zero.

// MaxUsedCodes bounds the codes a user's file holds within the lifetime; a
// user who logs in more often is refused rather than a live code forgotten.
const MaxUsedCodes = 100

const (
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

// ErrUsed: the code was accepted for this user on this host within the lifetime.
var ErrUsed = errors.New("code already accepted")

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
		u, err := parseUsed(line)
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

func parseUsed(line string) (Code, error) {
	rest, ok := strings.CutPrefix(line, usedTag)
	if !ok {
		return Code{}, fmt.Errorf("does not start with %q", usedTag)
	}
	return ParseCode(rest)
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

// liveUsed keeps the codes still inside the lifetime. A stamp later than
// now (the clock was set back) is taken as made now, as failures are.
func (l *Limiter) liveUsed(stored []Code, stamp int64, now time.Time) []Code {
	live := make([]Code, 0, len(stored)+1)
	for _, u := range stored {
		u.Stamp = min(u.Stamp, stamp)
		if now.Before(time.Unix(u.Stamp, 0).Add(l.lifetime)) {
			live = append(live, u)
		}
	}
	return live
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
	m.Write([]byte("vault-ssh-helper used TOTP code\x00"))
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(code))
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
		return createHostKey(f, path)
	}
	text, ok := strings.CutSuffix(string(data), "\n")
	key, err := hex.DecodeString(text)
	if !ok || err != nil || len(key) != hostKeySize || hex.EncodeToString(key) != text {
		return nil, stateErr(err, "host key %q is corrupt: it is not %d lowercase hex digits and a newline; remove it (every user's used codes are then forgotten): rm %s",
			path, 2*hostKeySize, path)
	}
	return key, nil
}

func createHostKey(f *os.File, path string) ([]byte, error) {
	key := make([]byte, hostKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, stateErr(err, "host key %q cannot be made: %v", path, err)
	}
	_, err := f.WriteAt([]byte(hex.EncodeToString(key)+"\n"), 0)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return nil, stateErr(err, "host key %q cannot be written: %v", path, errText(err))
	}
	return key, nil
}
