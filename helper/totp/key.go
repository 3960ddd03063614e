package totp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// MaxUserLength bounds PAM_USER: Linux names are at most 32 bytes, and the
// name travels in the request's path.
const MaxUserLength = 256

// The reasons a login is refused before any network traffic.
var (
	ErrNotCode = errors.New("password is not a TOTP code (6 or 8 ASCII digits)")
	ErrNoUser  = errors.New("PAM_USER is not set: no user to check a code for")
	ErrBadUser = errors.New("cannot name a Vault TOTP key")
)

const (
	// keyNameRule is Vault's rule for a TOTP key name, for messages.
	keyNameRule = "ASCII letters, digits, '_', '-', '.' and '@', starting and ending with a letter, digit or '_'"
	wordBytes   = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
)

// ReadCode reads the typed password and returns it if it is exactly 6 or 8
// ASCII digits once helper.ReadPassword has removed what PAM or a terminal
// added around it. Only these canonical digits are ever sent: Vault
// releases before the fix for CVE-2025-6014 accept a used code again with
// white space added.
func ReadCode(r io.Reader) (string, error) {
	pw, err := helper.ReadPassword(r)
	if err != nil {
		return "", err
	}
	if len(pw) != 6 && len(pw) != 8 || len(bytes.Trim(pw, "0123456789")) != 0 {
		return "", ErrNotCode
	}
	return string(pw), nil
}

// KeyName is the Vault key checked for user: the template with user in
// place of {{username}}. user must itself obey Vault's key-name rule, so no
// user reaches another user's key or another path.
func KeyName(t KeyTemplate, user string) (string, error) {
	switch {
	case user == "":
		return "", ErrNoUser
	case len(user) > MaxUserLength:
		return "", fmt.Errorf("PAM_USER (%d bytes, more than %d) %w", len(user), MaxUserLength, ErrBadUser)
	case !IsKeyName(user):
		return "", fmt.Errorf("PAM_USER %.64q %w: key names are %s", user, ErrBadUser, keyNameRule)
	}
	name := t.Prefix + user + t.Suffix
	if !IsKeyName(name) {
		// config refuses such templates; a template made elsewhere still denies.
		return "", fmt.Errorf("key template %.64q with PAM_USER %.64q %w: key names are %s", t.String(), user, ErrBadUser, keyNameRule)
	}
	return name, nil
}

// IsKeyName reports whether Vault's TOTP engine (v1.14.0) serves
// <mount>/code/<name> (keyNameRule).
func IsKeyName(s string) bool {
	return s != "" && strings.Trim(s, wordBytes+"-.@") == "" &&
		strings.IndexByte(wordBytes, s[0]) >= 0 && strings.IndexByte(wordBytes, s[len(s)-1]) >= 0
}
