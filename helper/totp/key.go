package totp

import (
	"errors"
	"fmt"
)

// MaxUserLength bounds PAM_USER: Linux names are at most 32 bytes, and the
// name travels in the request's path.
const MaxUserLength = 256

// The reasons a user has no key to check. Each denies before any network
// traffic.
var (
	ErrNoUser  = errors.New("PAM_USER is not set: no user to check a code for")
	ErrBadUser = errors.New("cannot name a Vault TOTP key")
)

// keyNameRule is Vault's rule for a TOTP key name, for messages.
const keyNameRule = "ASCII letters, digits, '_', '-', '.' and '@', starting and ending with a letter, digit or '_'"

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
// <mount>/code/<name>: word characters, '-', '.' and '@', starting and
// ending with a word character.
func IsKeyName(s string) bool {
	if s == "" || !isWord(s[0]) || !isWord(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isWord(c) && c != '-' && c != '.' && c != '@' {
			return false
		}
	}
	return true
}

func isWord(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
