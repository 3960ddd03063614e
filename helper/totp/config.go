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
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// Defaults and bounds of the TOTP mode's keys.
const (
	DefaultAppRoleMountPoint = "approle"
	DefaultMaxFailures       = 3
	DefaultFailureWindow     = 30 * time.Second
	DefaultStateDir          = "/var/lib/vault-ssh-helper"

	MaxMaxFailures   = 100
	MinFailureWindow = time.Second
	MaxFailureWindow = 24 * time.Hour

	// DefaultCodeLifetime is how long an accepted code stays refused when
	// totp_code_lifetime is not set. Vault's own record of a used code
	// lasts period × (2 + skew): 90s for its defaults (30s, skew 1). The
	// helper cannot read a key's period and skew with its least-privilege
	// policy, so the default covers every key with a period up to 100s
	// (skew 1); refusing a code longer than it can be valid costs nothing
	// but the rare chance (about one in a million per recorded code) that
	// a new code of the same user equals one accepted minutes ago.
	DefaultCodeLifetime = 5 * time.Minute
	MinCodeLifetime     = time.Second
	MaxCodeLifetime     = 24 * time.Hour

	// minUsedCodesKeySize: the shared HMAC key must hold at least 256
	// bits when written as 64 hex digits (or as any printable text of
	// that length).
	minUsedCodesKeySize = 32

	// UsernamePlaceholder is what totp_key_template replaces with PAM_USER.
	UsernamePlaceholder = "{{username}}"

	// maxSecretSize bounds a token, role_id or secret_id file: a Vault
	// token is about a hundred bytes, and the value travels in a header.
	maxSecretSize = 4096
	// maxSecretFileSize bounds what is read of one, as of any file the
	// helper trusts (config's limit).
	maxSecretFileSize = 1 << 20
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
)

// Settings are the TOTP mode's keys, validated.
type Settings struct {
	// MountPoint is the TOTP engine's mount, without leading or trailing slashes.
	MountPoint string
	// KeyTemplate names the Vault key checked for a user.
	KeyTemplate KeyTemplate
	// TokenFile and Token: the token read from vault_token_file; both empty
	// when AppRole is set.
	TokenFile string
	Token     Secret
	// AppRole is set when the host logs in with AppRole on every run.
	AppRole *AppRole
	// MaxFailures failed codes within FailureWindow stop a user's attempts
	// until the window passes.
	MaxFailures   int
	FailureWindow time.Duration
	// StateDir holds the failure counts and the host's accepted codes.
	StateDir string
	// CodeLifetime is how long an accepted code stays refused.
	CodeLifetime time.Duration
	// UsedCodes is set when accepted codes are also recorded in Vault's
	// KV v2, shared by every host.
	UsedCodes *UsedCodes
}

// UsedCodes is totp_used_codes_path and its key: accepted codes go to
// <Mount>/data/<Prefix>/<key name>.
type UsedCodes struct {
	Mount, Prefix string
	// KeyFile and Key: the HMAC key every host sharing the record holds.
	KeyFile string
	Key     Secret
}

// Path is totp_used_codes_path as configured (mount and prefix).
func (u *UsedCodes) Path() string { return u.Mount + "/" + u.Prefix }

// AppRole is how the host logs in when it has no token file.
type AppRole struct {
	MountPoint               string
	RoleIDFile, SecretIDFile string
	RoleID, SecretID         Secret
}

// Secret is a value read from a secret file. It prints as a mark, so that
// no format verb applied to a Config, by mistake or in a debug line, can
// write it to a log; the value sits behind a pointer, which even fmt's
// fallback for a wrong verb prints as an address. Reveal is the one way to
// the value.
type Secret struct{ value *string }

// NewSecret wraps value.
func NewSecret(value string) Secret { return Secret{value: &value} }

func (Secret) String() string   { return "<redacted>" }
func (Secret) GoString() string { return "<redacted>" }

// Reveal returns the secret's value ("" for the zero Secret), for the
// request that needs it.
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
var Plugin = helper.NewPlugin(helper.Declaration{
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

// ParseSettings validates the TOTP mode's keys, reporting every problem.
func ParseSettings(k config.Keys) (*Settings, []error) {
	t := &Settings{}
	var problems []error
	add := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	var err error
	t.MountPoint, err = config.VaultPath("totp_mount_point", k["totp_mount_point"])
	add(err)
	t.KeyTemplate, err = parseKeyTemplate(k["totp_key_template"], k.Has("totp_key_template"))
	add(err)
	t.MaxFailures, err = parseMaxFailures(k["totp_max_failures"], k.Has("totp_max_failures"))
	add(err)
	t.FailureWindow, err = parseFailureWindow(k["totp_failure_window"], k.Has("totp_failure_window"))
	add(err)
	t.StateDir, err = parseStateDir(k["state_dir"], k.Has("state_dir"))
	add(err)
	t.CodeLifetime, err = parseCodeLifetime(k["totp_code_lifetime"], k.Has("totp_code_lifetime"))
	add(err)
	t.UsedCodes, err = parseUsedCodes(k)
	add(err)
	problems = append(problems, parseCredentials(k, t)...)
	return t, problems
}

// parseCredentials reads how the host proves itself to Vault: exactly one
// of a token file and an AppRole pair.
func parseCredentials(k config.Keys, t *Settings) []error {
	tokenSet := k.Has("vault_token_file")
	roleSet, secretSet := k.Has("approle_role_id_file"), k.Has("approle_secret_id_file")
	switch {
	case tokenSet && (roleSet || secretSet):
		return []error{ErrTokenAndAppRole}
	case roleSet && !secretSet:
		return []error{ErrRoleIDAlone}
	case secretSet && !roleSet:
		return []error{ErrSecretIDAlone}
	case !tokenSet && !roleSet:
		if k.Has("approle_mount_point") {
			return []error{ErrAppRoleMountAlone}
		}
		return []error{ErrNoCredentials}
	case tokenSet && k.Has("approle_mount_point"):
		return []error{ErrAppRoleMountUnused}
	}
	var problems []error
	if tokenSet {
		var err error
		t.TokenFile, t.Token, err = readSecret(k["vault_token_file"], "vault_token_file", "token")
		if err != nil {
			problems = append(problems, err)
		}
		return problems
	}
	a := &AppRole{MountPoint: DefaultAppRoleMountPoint}
	var err error
	if k.Has("approle_mount_point") {
		if a.MountPoint, err = config.VaultPath("approle_mount_point", k["approle_mount_point"]); err != nil {
			problems = append(problems, err)
		}
	}
	if a.RoleIDFile, a.RoleID, err = readSecret(k["approle_role_id_file"], "approle_role_id_file", "role_id"); err != nil {
		problems = append(problems, err)
	}
	if a.SecretIDFile, a.SecretID, err = readSecret(k["approle_secret_id_file"], "approle_secret_id_file", "secret_id"); err != nil {
		problems = append(problems, err)
	}
	t.AppRole = a
	return problems
}

// readSecret reads a file holding one secret value (what). It is held to
// the config file's rule and, like a private key, must not be readable by
// group or others. No message ever quotes the content.
func readSecret(path, key, what string) (string, Secret, error) {
	path = strings.TrimSpace(path)
	if path == "" {
		return "", Secret{}, fmt.Errorf("%s %w", key, config.ErrEmpty)
	}
	// The mode is checked on the file that was opened, as client_key's is.
	data, info, err := trust.ReadFile(path, key, "/", maxSecretFileSize)
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
	case !isOneWord(value):
		return "", Secret{}, fmt.Errorf("%s %q must hold the %s alone, on one line of printable ASCII", key, path, what)
	}
	return path, NewSecret(value), nil
}

// isOneWord accepts printable ASCII without spaces: what a token, role_id
// or secret_id is, and what can travel in a header or JSON string unchanged.
func isOneWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func parseKeyTemplate(s string, set bool) (KeyTemplate, error) {
	s = strings.TrimSpace(s)
	if !set || s == "" {
		return KeyTemplate{}, nil
	}
	if strings.Count(s, UsernamePlaceholder) != 1 {
		return KeyTemplate{}, fmt.Errorf("totp_key_template %q %w", s, ErrTemplateUser)
	}
	prefix, suffix, _ := strings.Cut(s, UsernamePlaceholder)
	if !isKeyPrefix(prefix) || !isKeySuffix(suffix) {
		return KeyTemplate{}, fmt.Errorf("totp_key_template %q would give names Vault refuses: around %s only ASCII letters, digits, '_', '-', '.' and '@' may appear, and a name starts and ends with a letter, digit or '_'",
			s, UsernamePlaceholder)
	}
	return KeyTemplate{Prefix: prefix, Suffix: suffix}, nil
}

// isKeyPrefix and isKeySuffix hold the template's fixed parts to Vault's
// rule for TOTP key names (word characters, '-', '.' and '@', starting and
// ending with a word character), given that the user part itself obeys it.
func isKeyPrefix(s string) bool {
	return s == "" || (isWordByte(s[0]) && allKeyBytes(s))
}

func isKeySuffix(s string) bool {
	return s == "" || (isWordByte(s[len(s)-1]) && allKeyBytes(s))
}

func allKeyBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '@' {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func parseMaxFailures(s string, set bool) (int, error) {
	if !set {
		return DefaultMaxFailures, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > MaxMaxFailures {
		return 0, fmt.Errorf("totp_max_failures %q %w from 1 to %d", s, ErrNotWholeNumber, MaxMaxFailures)
	}
	return n, nil
}

func parseFailureWindow(s string, set bool) (time.Duration, error) {
	if !set {
		return DefaultFailureWindow, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("totp_failure_window %q %w like %q", s, config.ErrNotDuration, "30s")
	}
	if d < MinFailureWindow || d > MaxFailureWindow {
		return 0, fmt.Errorf("totp_failure_window %q %w %s to %s", s, config.ErrOutside, MinFailureWindow, MaxFailureWindow)
	}
	return d, nil
}

// parseStateDir checks the path only; whether the directory is safe is
// decided where it is used, at every login.
func parseStateDir(s string, set bool) (string, error) {
	if !set {
		return DefaultStateDir, nil
	}
	dir := strings.TrimSpace(s)
	if !filepath.IsAbs(dir) || strings.IndexFunc(dir, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("state_dir %q is not an absolute path", s)
	}
	return filepath.Clean(dir), nil
}

func parseCodeLifetime(s string, set bool) (time.Duration, error) {
	if !set {
		return DefaultCodeLifetime, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("totp_code_lifetime %q %w like %q", s, config.ErrNotDuration, "5m")
	}
	if d < MinCodeLifetime || d > MaxCodeLifetime {
		return 0, fmt.Errorf("totp_code_lifetime %q %w %s to %s", s, config.ErrOutside, MinCodeLifetime, MaxCodeLifetime)
	}
	return d, nil
}

// parseUsedCodes reads the shared record's two keys: both or neither. The
// path's first segment is the KV v2 mount, the rest the prefix under it.
func parseUsedCodes(k config.Keys) (*UsedCodes, error) {
	pathSet, keySet := k.Has("totp_used_codes_path"), k.Has("totp_used_codes_key_file")
	switch {
	case !pathSet && !keySet:
		return nil, nil
	case pathSet && !keySet:
		return nil, fmt.Errorf("totp_used_codes_path is set but totp_used_codes_key_file is not: %w", config.ErrSetBothOrNeither)
	case keySet && !pathSet:
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
	u.KeyFile, u.Key, err = readSecret(k["totp_used_codes_key_file"], "totp_used_codes_key_file", "key")
	if err != nil {
		return nil, err
	}
	if len(u.Key.Reveal()) < minUsedCodesKeySize {
		return nil, fmt.Errorf("totp_used_codes_key_file %q %w", u.KeyFile, ErrUsedCodesKeyShort)
	}
	return u, nil
}
