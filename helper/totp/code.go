package totp

import (
	"errors"
	"io"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// ErrNotCode refuses a password that cannot be a TOTP code. It does not
// carry the input.
var ErrNotCode = errors.New("password is not a TOTP code (6 or 8 ASCII digits)")

// ReadCode reads the typed password and returns it if it is a TOTP code:
// exactly 6 or 8 ASCII digits once helper.ReadPassword has removed what PAM
// or a terminal added around it. Only these canonical digits are ever sent:
// Vault releases before the fix for CVE-2025-6014 accept a used code again
// with white space added. Anything else (an SSH OTP, a password, Unicode
// digits) is refused before any network traffic.
func ReadCode(r io.Reader) (string, error) {
	pw, err := helper.ReadPassword(r)
	if err != nil {
		return "", err
	}
	if !isCode(pw) {
		return "", ErrNotCode
	}
	return string(pw), nil
}

func isCode(b []byte) bool {
	if len(b) != 6 && len(b) != 8 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
