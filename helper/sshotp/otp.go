package sshotp

import (
	"errors"
	"io"
	"strings"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// ErrNotOTPShape refuses a password that cannot be a Vault SSH OTP.
var ErrNotOTPShape = errors.New("password is not an OTP (a UUID: 8-4-4-4-12 hexadecimal digits)")

// ReadOTP reads the typed password and returns it if it has the shape of a
// Vault OTP. It runs before any network traffic, so no other password ever
// leaves the host.
func ReadOTP(r io.Reader) (string, error) {
	pw, err := helper.ReadPassword(r)
	if err != nil {
		return "", err
	}
	if !isUUID(pw) {
		return "", ErrNotOTPShape
	}
	return string(pw), nil
}

// isUUID accepts 8-4-4-4-12 hexadecimal digits, either case.
func isUUID(b []byte) bool {
	const shape = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
	if len(b) != len(shape) {
		return false
	}
	for i, c := range b {
		isHex := strings.IndexByte("0123456789abcdefABCDEF", c) >= 0
		if (shape[i] == '-') != (c == '-') || shape[i] == 'x' && !isHex {
			return false
		}
	}
	return true
}
