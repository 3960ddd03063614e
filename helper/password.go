// Package helper is what every mode shares: the Mode seam and its registry,
// and reading the typed password within PAM's limits.
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

// Bracketed-paste markers a terminal may wrap around a pasted password.
var pasteStart, pasteEnd = []byte("\x1b[200~"), []byte("\x1b[201~")

// ReadPassword reads the typed password and returns it without what PAM or
// a terminal added around it: one trailing NUL (Linux-PAM before 1.4.0),
// bracketed-paste markers (upstream #84) and surrounding white space.
func ReadPassword(r io.Reader) ([]byte, error) {
	buf, err := io.ReadAll(io.LimitReader(r, MaxPasswordInput+1))
	if err != nil {
		return nil, fmt.Errorf("read password from stdin: %w", err)
	}
	if len(buf) > MaxPasswordInput {
		return nil, ErrPasswordTooLong
	}
	pw := bytes.TrimSpace(bytes.TrimSuffix(buf, []byte{0}))
	if pasted, ok := bytes.CutPrefix(pw, pasteStart); ok && bytes.HasSuffix(pasted, pasteEnd) {
		pw = bytes.TrimSpace(bytes.TrimSuffix(pasted, pasteEnd))
	}
	if len(pw) == 0 {
		return nil, ErrPasswordEmpty
	}
	return pw, nil
}
