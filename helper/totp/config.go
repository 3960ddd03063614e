package totp

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

const (
	// DefaultCodeLifetime is how long an accepted code stays refused. A code
	// is valid for period × (2 + skew): 90s for Vault's defaults (30s, skew
	// 1). The helper cannot read a key's period and skew, so the default
	// covers periods up to 100s; refusing a code longer costs only the rare
	// chance (about one in a million) that a new code equals an old one.
	DefaultCodeLifetime = 5 * time.Minute
	// UsernamePlaceholder is what totp_key_template replaces with PAM_USER.
	UsernamePlaceholder = "{{username}}"
	// maxSecretSize: a Vault token is about a hundred bytes, and travels in a header.
	maxSecretSize = 4096
	// MaxUserLength bounds PAM_USER: Linux names are at most 32 bytes, and the
	// name travels in the request's path.
	MaxUserLength = 256
	// keyNameRule is Vault's rule for a TOTP key name, for messages.
	keyNameRule = "ASCII letters, digits, '_', '-', '.' and '@', starting and ending with a letter, digit or '_'"
	wordBytes   = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
)

// The fixed words of this mode's config messages (pinned in config_test.go).
var (
	ErrTemplateUser   = errors.New("must contain " + UsernamePlaceholder + " exactly once")
	ErrNotWholeNumber = errors.New("is not a whole number")

	ErrTokenAndAppRole    = errors.New("vault_token_file and approle_role_id_file/approle_secret_id_file are both set: use one way to get a token")
	ErrRoleIDAlone        = errors.New("approle_role_id_file is set but approle_secret_id_file is not: set both")
	ErrSecretIDAlone      = errors.New("approle_secret_id_file is set but approle_role_id_file is not: set both")
	ErrAppRoleMountAlone  = errors.New("approle_mount_point is set but approle_role_id_file and approle_secret_id_file are not: set both")
	ErrNoCredentials      = errors.New("a TOTP config needs vault_token_file, or approle_role_id_file and approle_secret_id_file")
	ErrAppRoleMountUnused = errors.New("approle_mount_point is set but AppRole is not used (vault_token_file is): remove it")

	ErrUsedCodesNoPrefix = errors.New("must be a KV v2 mount and a prefix under it, like \"kv/vault-ssh-helper/used\"")
	ErrUsedCodesKeyShort = errors.New("must hold at least 32 characters: make it with openssl rand -hex 32")

	// The reasons a login is refused before any network traffic.
	ErrNotCode = errors.New("password is not a TOTP code (6 or 8 ASCII digits)")
	ErrNoUser  = errors.New("PAM_USER is not set: no user to check a code for")
	ErrBadUser = errors.New("cannot name a Vault TOTP key")
)

// Settings are the TOTP mode's keys, validated.
type Settings struct {
	MountPoint  string
	KeyTemplate KeyTemplate
	// TokenFile and Token are empty when AppRole is set.
	TokenFile string
	Token     Secret
	AppRole   *AppRole
	// MaxFailures failed codes within FailureWindow stop a user; an
	// accepted code stays refused for CodeLifetime.
	MaxFailures                 int
	FailureWindow, CodeLifetime time.Duration
	StateDir                    string
	// UsedCodes is set when accepted codes are also recorded in KV v2.
	UsedCodes *UsedCodes
}

// UsedCodes is totp_used_codes_path and the HMAC key every host sharing
// the record holds: accepted codes go to <Mount>/data/<Prefix>/<key name>.
type UsedCodes struct {
	Mount, Prefix, KeyFile string
	Key                    Secret
}

// AppRole is how the host logs in when it has no token file.
type AppRole struct {
	MountPoint               string
	RoleIDFile, SecretIDFile string
	RoleID, SecretID         Secret
}

// Secret is a value read from a secret file. It prints as a mark, so that
// no format verb writes it to a log; behind a pointer, even fmt's fallback
// for a wrong verb prints an address.
type Secret struct{ value *string }

// NewSecret wraps value.
func NewSecret(value string) Secret { return Secret{value: &value} }

func (Secret) String() string   { return "<redacted>" }
func (Secret) GoString() string { return "<redacted>" }

// Reveal returns the value ("" for the zero Secret).
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// KeyTemplate is totp_key_template split around its one {{username}}.
type KeyTemplate struct {
	Prefix, Suffix string
}

func (t KeyTemplate) String() string { return t.Prefix + UsernamePlaceholder + t.Suffix }

// Plugin registers the TOTP mode, selected by totp_mount_point.
var Plugin = helper.NewPlugin(config.Mode{
	Name:     "TOTP",
	Selector: "totp_mount_point",
	Keys: []string{
		"totp_mount_point", "totp_key_template", "vault_token_file", "approle_role_id_file",
		"approle_secret_id_file", "approle_mount_point", "totp_max_failures", "totp_failure_window", "state_dir",
		"totp_code_lifetime", "totp_used_codes_path", "totp_used_codes_key_file",
	},
	Usage: `A config file with totp_mount_point selects the TOTP mode instead: it reads
a 6- or 8-digit code and exits 0 only when Vault's TOTP engine says the code
is valid for the user's key (a second factor after sshd's publickey);
-verify-only checks the token, its policy and totp_mount_point, without a code.
`,
}, ParseSettings, New)

// ParseSettings validates the TOTP mode's keys, joining every problem.
func ParseSettings(k config.Keys) (*Settings, error) {
	t := &Settings{}
	var mountErr, templateErr, maxErr, windowErr, dirErr, lifetimeErr, usedErr error
	t.MountPoint, mountErr = config.VaultPath("totp_mount_point", k["totp_mount_point"])
	t.KeyTemplate, templateErr = parseKeyTemplate(k["totp_key_template"])
	t.MaxFailures, maxErr = parseMaxFailures(k)
	t.FailureWindow, windowErr = parseDuration(k, "totp_failure_window", 30*time.Second, time.Second, 24*time.Hour, "30s")
	t.StateDir, dirErr = parseStateDir(k)
	t.CodeLifetime, lifetimeErr = parseDuration(k, "totp_code_lifetime", DefaultCodeLifetime, time.Second, 24*time.Hour, "5m")
	t.UsedCodes, usedErr = parseUsedCodes(k)
	return t, errors.Join(mountErr, templateErr, maxErr, windowErr, dirErr, lifetimeErr, usedErr, parseCredentials(k, t))
}

// parseCredentials reads how the host proves itself to Vault: exactly one
// of a token file and an AppRole pair.
func parseCredentials(k config.Keys, t *Settings) error {
	tokenSet, mountSet := k.Has("vault_token_file"), k.Has("approle_mount_point")
	roleSet, secretSet := k.Has("approle_role_id_file"), k.Has("approle_secret_id_file")
	switch {
	case tokenSet && (roleSet || secretSet):
		return ErrTokenAndAppRole
	case roleSet && !secretSet:
		return ErrRoleIDAlone
	case secretSet && !roleSet:
		return ErrSecretIDAlone
	case !tokenSet && !roleSet && mountSet:
		return ErrAppRoleMountAlone
	case !tokenSet && !roleSet:
		return ErrNoCredentials
	case tokenSet && mountSet:
		return ErrAppRoleMountUnused
	}
	var tokenErr, mountErr, roleErr, secretErr error
	if tokenSet {
		t.TokenFile, t.Token, tokenErr = readSecret(k, "vault_token_file", "token")
		return tokenErr
	}
	a := &AppRole{MountPoint: "approle"}
	if mountSet {
		a.MountPoint, mountErr = config.VaultPath("approle_mount_point", k["approle_mount_point"])
	}
	a.RoleIDFile, a.RoleID, roleErr = readSecret(k, "approle_role_id_file", "role_id")
	a.SecretIDFile, a.SecretID, secretErr = readSecret(k, "approle_secret_id_file", "secret_id")
	t.AppRole = a
	return errors.Join(mountErr, roleErr, secretErr)
}

// readSecret reads the file named by key, holding one secret value (what),
// held to the config file's rule and, like a private key, not readable by
// group or others. No message quotes the content.
func readSecret(k config.Keys, key, what string) (string, Secret, error) {
	path := strings.TrimSpace(k[key])
	if path == "" {
		return "", Secret{}, fmt.Errorf("%s %w", key, config.ErrEmpty)
	}
	// The mode is checked on the file that was opened, as client_key's is.
	data, info, err := trust.ReadFile(path, key, "/", 1<<20)
	if err != nil {
		return "", Secret{}, err
	}
	if perm := info.Mode().Perm(); perm&0o044 != 0 {
		return "", Secret{}, fmt.Errorf("%s %q %w (mode %04o); run: chmod go-r %s", key, path, config.ErrSecretReadable, perm, path)
	}
	value := strings.TrimSpace(string(data))
	switch {
	case value == "":
		return "", Secret{}, fmt.Errorf("%s %q %w", key, path, config.ErrEmpty)
	case len(value) > maxSecretSize:
		return "", Secret{}, fmt.Errorf("%s %q is longer than %d bytes", key, path, maxSecretSize)
	case strings.ContainsFunc(value, func(r rune) bool { return r <= ' ' || r > '~' }):
		// A token, role_id or secret_id is printable ASCII without
		// spaces, and so travels in a header or JSON string unchanged.
		return "", Secret{}, fmt.Errorf("%s %q must hold the %s alone, on one line of printable ASCII", key, path, what)
	}
	return path, NewSecret(value), nil
}

func parseKeyTemplate(s string) (KeyTemplate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return KeyTemplate{}, nil
	}
	if strings.Count(s, UsernamePlaceholder) != 1 {
		return KeyTemplate{}, fmt.Errorf("totp_key_template %q %w", s, ErrTemplateUser)
	}
	prefix, suffix, _ := strings.Cut(s, UsernamePlaceholder)
	// Any valid user name gives a valid key name exactly when a one-letter one does.
	if !IsKeyName(prefix + "u" + suffix) {
		return KeyTemplate{}, fmt.Errorf("totp_key_template %q would give names Vault refuses: around %s only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'",
			s, UsernamePlaceholder)
	}
	return KeyTemplate{Prefix: prefix, Suffix: suffix}, nil
}

func parseMaxFailures(k config.Keys) (int, error) {
	if !k.Has("totp_max_failures") {
		return 3, nil
	}
	s := k["totp_max_failures"]
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > ratelimit.MaxFailures {
		return 0, fmt.Errorf("totp_max_failures %q %w from 1 to %d", s, ErrNotWholeNumber, ratelimit.MaxFailures)
	}
	return n, nil
}

func parseDuration(k config.Keys, key string, def, lo, hi time.Duration, example string) (time.Duration, error) {
	if !k.Has(key) {
		return def, nil
	}
	s := k[key]
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s %q %w like %q", key, s, config.ErrNotDuration, example)
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("%s %q %w %s to %s", key, s, config.ErrOutside, lo, hi)
	}
	return d, nil
}

// parseStateDir checks the path only; whether the directory is safe is
// decided where it is used, at every login.
func parseStateDir(k config.Keys) (string, error) {
	if !k.Has("state_dir") {
		return "/var/lib/vault-ssh-helper", nil
	}
	dir := strings.TrimSpace(k["state_dir"])
	if !filepath.IsAbs(dir) || strings.IndexFunc(dir, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("state_dir %q is not an absolute path", k["state_dir"])
	}
	return filepath.Clean(dir), nil
}

// parseUsedCodes reads the shared record's two keys: both or neither.
func parseUsedCodes(k config.Keys) (*UsedCodes, error) {
	pathSet, keySet := k.Has("totp_used_codes_path"), k.Has("totp_used_codes_key_file")
	switch {
	case !pathSet && !keySet:
		return nil, nil
	case !keySet:
		return nil, fmt.Errorf("totp_used_codes_path is set but totp_used_codes_key_file is not: %w", config.ErrSetBothOrNeither)
	case !pathSet:
		return nil, fmt.Errorf("totp_used_codes_key_file is set but totp_used_codes_path is not: %w", config.ErrSetBothOrNeither)
	}
	path, err := config.VaultPath("totp_used_codes_path", k["totp_used_codes_path"])
	if err != nil {
		return nil, err
	}
	mount, prefix, ok := strings.Cut(path, "/")
	if !ok {
		return nil, fmt.Errorf("totp_used_codes_path %q %w", k["totp_used_codes_path"], ErrUsedCodesNoPrefix)
	}
	u := &UsedCodes{Mount: mount, Prefix: prefix}
	if u.KeyFile, u.Key, err = readSecret(k, "totp_used_codes_key_file", "key"); err != nil {
		return nil, err
	}
	// openssl rand -hex 32 gives 64 characters; fewer than 32 is a weak key.
	if len(u.Key.Reveal()) < 32 {
		return nil, fmt.Errorf("totp_used_codes_key_file %q %w", u.KeyFile, ErrUsedCodesKeyShort)
	}
	return u, nil
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
