// Package helper holds what every mode shares about the typed password:
// reading it from stdin within PAM's limits and removing what PAM or a
// terminal adds around it. Each mode (helper/sshotp, helper/totp) decides
// what a password of its kind looks like and what Vault's answer means.
package helper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxPasswordInput is the most we read from stdin. PAM hands over at most
// 511 bytes (PAM_MAX_RESP_SIZE - 1) plus, before Linux-PAM 1.4.0, one NUL.
const MaxPasswordInput = 512

// The reasons ReadPassword refuses input. None of them carries the input.
var (
	ErrPasswordTooLong = fmt.Errorf("password is longer than %d bytes", MaxPasswordInput)
	ErrPasswordEmpty   = errors.New("password is empty")
)

// Bracketed-paste markers a terminal may wrap around a pasted password
// (upstream #84).
var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

// ReadPassword reads the typed password and returns it without what PAM or
// a terminal added around it. The mode checks its shape before any network
// traffic, so no other password ever leaves the host.
func ReadPassword(r io.Reader) ([]byte, error) {
	buf, err := io.ReadAll(io.LimitReader(r, MaxPasswordInput+1))
	if err != nil {
		return nil, fmt.Errorf("read password from stdin: %w", err)
	}
	if len(buf) > MaxPasswordInput {
		return nil, ErrPasswordTooLong
	}
	pw := shape(buf)
	if len(pw) == 0 {
		return nil, ErrPasswordEmpty
	}
	return pw, nil
}

// shape removes one trailing NUL (Linux-PAM before 1.4.0), bracketed-paste
// markers and surrounding white space.
func shape(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{0})
	b = bytes.TrimSpace(b)
	if bytes.HasPrefix(b, pasteStart) && bytes.HasSuffix(b[len(pasteStart):], pasteEnd) {
		b = b[len(pasteStart) : len(b)-len(pasteEnd)]
	}
	return bytes.TrimSpace(b)
}
