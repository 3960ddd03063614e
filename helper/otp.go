// Package helper holds the decisions: what counts as an OTP on stdin, and
// whether Vault's answer lets this user onto this host. Everything here is
// pure apart from reading the interface addresses, which callers can replace.
package helper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxOTPInput is the most we read from stdin. PAM hands over at most 511
// bytes (PAM_MAX_RESP_SIZE - 1) plus, before Linux-PAM 1.4.0, one NUL.
const MaxOTPInput = 512

// The reasons ReadOTP refuses input. None of them carries the input itself.
var (
	ErrOTPTooLong  = fmt.Errorf("password is longer than %d bytes", MaxOTPInput)
	ErrOTPEmpty    = errors.New("password is empty")
	ErrNotOTPShape = errors.New("password is not an OTP (a UUID: 8-4-4-4-12 hexadecimal digits)")
)

// Bracketed-paste markers a terminal may wrap around a pasted OTP (upstream #84).
var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

// ReadOTP reads the typed password and returns it if it has the shape of a
// Vault OTP. It runs before any network traffic, so no other password ever
// leaves the host.
func ReadOTP(r io.Reader) (string, error) {
	buf, err := io.ReadAll(io.LimitReader(r, MaxOTPInput+1))
	if err != nil {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	if len(buf) > MaxOTPInput {
		return "", ErrOTPTooLong
	}
	otp := shapeOTP(buf)
	if len(otp) == 0 {
		return "", ErrOTPEmpty
	}
	if !isUUID(otp) {
		return "", ErrNotOTPShape
	}
	return string(otp), nil
}

// shapeOTP removes what PAM or a terminal adds around a typed OTP: one
// trailing NUL (Linux-PAM before 1.4.0), bracketed-paste markers, and
// surrounding white space.
func shapeOTP(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{0})
	b = bytes.TrimSpace(b)
	if bytes.HasPrefix(b, pasteStart) && bytes.HasSuffix(b[len(pasteStart):], pasteEnd) {
		b = b[len(pasteStart) : len(b)-len(pasteEnd)]
	}
	return bytes.TrimSpace(b)
}

// isUUID accepts 8-4-4-4-12 hexadecimal digits, either case.
func isUUID(b []byte) bool {
	if len(b) != 36 {
		return false
	}
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// OTPMark stands in for the OTP in a message that would otherwise carry it.
const OTPMark = "<the OTP>"

// WithoutOTP keeps the OTP out of err's message. Text that came from the
// server (an error body, a quoted field) can hold it when something at
// vault_addr echoes requests: a proxy's error page, say, that never passed
// the still-valid OTP on to Vault. errors.Is and errors.As see err unchanged.
func WithoutOTP(err error, otp string) error {
	if err == nil || otp == "" || indexFold(err.Error(), otp) < 0 {
		return err
	}
	return &redacted{err: err, otp: otp}
}

type redacted struct {
	err error
	otp string
}

func (r *redacted) Error() string {
	msg := r.err.Error()
	var b strings.Builder
	for {
		i := indexFold(msg, r.otp)
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i])
		b.WriteString(OTPMark)
		msg = msg[i+len(r.otp):]
	}
}

func (r *redacted) Unwrap() error { return r.err }

// indexFold finds sub in s in any letter case: the helper accepts an OTP in
// either case, and a server may echo it in the other.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
