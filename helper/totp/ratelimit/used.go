package ratelimit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// Used codes. Vault's TOTP engine remembers a used code only in the active
// node's memory, so a leader change, a restart or a seal forgets it and the
// same code is accepted again within its period. The helper therefore
// records every code Vault accepted, per user, in the user's state file,
// under the same lock as the failures, and refuses that code for that user
// until it can no longer be valid (the lifetime, totp_code_lifetime),
// before Vault is asked.
//
// What is written is HMAC-SHA256 under a random 32-byte host key kept in
// state_dir (hostKeyName, 0600, root's, created once). A 6-digit code has a
// million values, so a plain or salted SHA-256 of it is recovered in
// milliseconds; a slow KDF only multiplies that by its cost, which a GPU
// pays faster than a login can. Without the host key the HMAC says
// nothing about the code, and whoever can read the host key can read and
// change every state file anyway, the failure counts included: the key is
// trusted exactly like the state, by the same checks.

// MaxUsedCodes bounds how many accepted codes a user's file holds within
// the lifetime; a user who logs in more often than that is refused (the
// record cannot forget a live code without letting it in again).
const MaxUsedCodes = 100

// hostKeyName is the host key's file in state_dir; user files are named
// totp-<64 hex digits>, so no user name reaches it.
const hostKeyName = filePrefix + "hostkey"

const (
	hostKeySize = 32
	sumHexLen   = 2 * sha256.Size
	usedTag     = "used "
	// usedLineLen is the length of one used line: "used <stamp> <sum>\n"
	// at its longest.
	usedLineLen = len(usedTag) + maxStampDigits + 1 + sumHexLen + 1
	// maxStateSize is the longest state file: the failures line (its newline counted in maxFileSize) and
	// MaxUsedCodes used lines.
	maxStateSize = maxFileSize + MaxUsedCodes*usedLineLen
)

// ErrUsed: the code was accepted for this user on this host within the
// lifetime; it is refused before Vault is asked.
var ErrUsed = errors.New("code already accepted")

// usedCode is one accepted code: when (unix seconds, rounded up) and its
// HMAC in hex.
type usedCode struct {
	stamp int64
	sum   string
}

// state is a user's whole file: failures and accepted codes.
type state struct {
	failures []int64
	used     []usedCode
}

// The file, from the version with used codes on: the failures line as
// before (see format.go; an empty line when there are no failures but some
// used codes), then one line per accepted code:
//
//	used <unix time> <HMAC-SHA256 in 64 lowercase hex digits>
//
// An empty file is no failures and no codes; a file of the old format (no
// used lines) reads as it always did, so no upgrade step is needed and the
// first write adds the lines. Every line ends with a newline written last.

// parseState reads a whole state file; the error says what is wrong,
// without the path.
func parseState(data []byte) (state, error) {
	if len(data) == 0 {
		return state{}, nil
	}
	if len(data) > maxStateSize {
		return state{}, fmt.Errorf("it is larger than %d bytes", maxStateSize)
	}
	head, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return state{}, fmt.Errorf("it does not end with a newline")
	}
	var st state
	if len(head) > 0 || len(rest) == 0 {
		stamps, err := parseStamps(data[:len(head)+1])
		if err != nil {
			return state{}, err
		}
		st.failures = stamps
	}
	if len(rest) == 0 {
		return st, nil
	}
	body, ok := strings.CutSuffix(string(rest), "\n")
	if !ok {
		return state{}, fmt.Errorf("it does not end with a newline")
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

func parseUsed(line string) (usedCode, error) {
	rest, ok := strings.CutPrefix(line, usedTag)
	if !ok {
		return usedCode{}, fmt.Errorf("does not start with %q", usedTag)
	}
	field, sum, ok := strings.Cut(rest, " ")
	if !ok {
		return usedCode{}, fmt.Errorf("has no code hash")
	}
	stamp, err := parseStamp(field)
	if err != nil {
		return usedCode{}, fmt.Errorf("has a time that %v", err)
	}
	if len(sum) != sumHexLen || strings.Trim(sum, "0123456789abcdef") != "" {
		return usedCode{}, fmt.Errorf("has a code hash that is not %d lowercase hex digits", sumHexLen)
	}
	return usedCode{stamp: stamp, sum: sum}, nil
}

// formatState is parseState's inverse.
func formatState(st state) []byte {
	b := formatStamps(st.failures)
	if len(st.used) == 0 {
		return b
	}
	if len(b) == 0 {
		b = []byte("\n")
	}
	for _, u := range st.used {
		b = fmt.Appendf(b, "%s%d %s\n", usedTag, u.stamp, u.sum)
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

// storeState replaces the content in one write, then cuts what an older,
// longer content left behind. With durable it then syncs: a code counts as
// recorded only once it is on disk, so that a power cut after the helper
// said yes cannot forget it. (A failure needs no sync: a helper that dies
// leaves its write in the page cache, and only a power cut loses it.)
var storeState = func(f fileWriter, path string, st state, durable bool) error {
	data := formatState(st)
	if _, err := f.WriteAt(data, 0); err != nil {
		return stateErr(err, "state file %q cannot be written: %v", path, errText(err))
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		return stateErr(err, "state file %q cannot be written: %v", path, errText(err))
	}
	if !durable {
		return nil
	}
	if err := f.Sync(); err != nil {
		return stateErr(err, "state file %q cannot be written: %v", path, errText(err))
	}
	return nil
}

// fileWriter is what storeState needs of an *os.File; tests replace
// storeState to make it fail as a full disk does.
type fileWriter interface {
	WriteAt([]byte, int64) (int, error)
	Truncate(int64) error
	Sync() error
}

// liveUsed keeps the codes still inside the lifetime. A stamp later than
// now (the clock was set back) is taken as made now, as failures are.
func (l *Limiter) liveUsed(stored []usedCode, stamp int64, now time.Time) []usedCode {
	live := make([]usedCode, 0, len(stored)+1)
	for _, u := range stored {
		u.stamp = min(u.stamp, stamp)
		if now.Before(time.Unix(u.stamp, 0).Add(l.lifetime)) {
			live = append(live, u)
		}
	}
	return live
}

func findUsed(used []usedCode, sum string) (usedCode, bool) {
	for _, u := range used {
		if hmac.Equal([]byte(u.sum), []byte(sum)) {
			return u, true
		}
	}
	return usedCode{}, false
}

// codeSum is what the file holds for user's code: the user is part of it,
// so two users' equal codes are two different records.
func (l *Limiter) codeSum(user, code string) string {
	m := hmac.New(sha256.New, l.hostKey)
	m.Write([]byte("vault-ssh-helper used TOTP code\x00"))
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// usedErr says when the code was accepted and until when it stays refused.
func (l *Limiter) usedErr(user, path string, u usedCode) error {
	accepted := time.Unix(u.stamp, 0).UTC()
	return fmt.Errorf("%w for user %q on this host at %s; it stays refused until %s (totp_code_lifetime %s); state file %s",
		ErrUsed, user, accepted.Format(time.RFC3339), accepted.Add(l.lifetime).Format(time.RFC3339), l.lifetime, path)
}

// loadHostKey reads the host key, creating it on first use. It is created
// under its own file's lock, so two first logins agree on one key; a
// creation cut short leaves a file that is refused, not a weaker key.
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

func createHostKey(f fileWriter, path string) ([]byte, error) {
	key := make([]byte, hostKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, stateErr(err, "host key %q cannot be made: %v", path, err)
	}
	data := []byte(hex.EncodeToString(key) + "\n")
	if _, err := f.WriteAt(data, 0); err != nil {
		return nil, stateErr(err, "host key %q cannot be written: %v", path, errText(err))
	}
	if err := f.Sync(); err != nil {
		return nil, stateErr(err, "host key %q cannot be written: %v", path, errText(err))
	}
	return key, nil
}
