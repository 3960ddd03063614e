package sshotp

import (
	"errors"
	"io"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// ErrNotOTPShape refuses a password that cannot be a Vault SSH OTP. It does
// not carry the input.
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
