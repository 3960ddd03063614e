package totp

import (
	"errors"
	"strings"
	"testing"
)

func TestKeyNameFillsTheTemplate(t *testing.T) {
	cases := []struct {
		tmpl       KeyTemplate
		user, want string
	}{
		{KeyTemplate{}, "alice", "alice"},
		{KeyTemplate{Prefix: "ssh-"}, "alice", "ssh-alice"},
		{KeyTemplate{Prefix: "ssh_", Suffix: "@web1"}, "bob.smith", "ssh_bob.smith@web1"},
		{KeyTemplate{}, "alice@corp.example", "alice@corp.example"},
		{KeyTemplate{}, "a", "a"},
		{KeyTemplate{}, "_svc-1", "_svc-1"},
		{KeyTemplate{}, strings.Repeat("u", MaxUserLength), strings.Repeat("u", MaxUserLength)},
	}
	for _, c := range cases {
		if got, err := KeyName(c.tmpl, c.user); err != nil || got != c.want {
			t.Errorf("KeyName(%v, %q) = %q, %v; want %q", c.tmpl, c.user, got, err, c.want)
		}
	}
}

// TestUsersThatCannotNameAKeyAreDenied pins every message of key.go.
func TestUsersThatCannotNameAKeyAreDenied(t *testing.T) {
	const rule = ": key names are ASCII letters, digits, '_', '-', '.' and '@', starting and ending with a letter, digit or '_'"
	cases := []struct {
		tmpl       KeyTemplate
		user, want string
		is         error
	}{
		{KeyTemplate{}, "", "PAM_USER is not set: no user to check a code for", ErrNoUser},
		{KeyTemplate{}, "../alice", `PAM_USER "../alice" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{}, "a/b", `PAM_USER "a/b" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{}, "-alice", `PAM_USER "-alice" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{Prefix: "ssh-"}, "alice.", `PAM_USER "alice." cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{}, "al ice", `PAM_USER "al ice" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{}, "alice\n", `PAM_USER "alice\n" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{}, "ålice", `PAM_USER "ålice" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{}, "machine$", `PAM_USER "machine$" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{}, "a%2fb", `PAM_USER "a%2fb" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{}, strings.Repeat("u", MaxUserLength+1), "PAM_USER (257 bytes, more than 256) cannot name a Vault TOTP key", ErrBadUser},
		{KeyTemplate{}, "/" + strings.Repeat("u", 100), `PAM_USER "/` + strings.Repeat("u", 63) + `" cannot name a Vault TOTP key` + rule, ErrBadUser},
		{KeyTemplate{Prefix: "-"}, "alice", `key template "-{{username}}" with PAM_USER "alice" cannot name a Vault TOTP key` + rule, ErrBadUser},
	}
	for _, c := range cases {
		got, err := KeyName(c.tmpl, c.user)
		if err == nil || err.Error() != c.want || !errors.Is(err, c.is) || got != "" {
			t.Errorf("KeyName(%v, %q) = %q, %v\nwant error %s", c.tmpl, c.user, got, err, c.want)
		}
	}
}
