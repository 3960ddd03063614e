package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
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
)

// TOTP is the TOTP mode's part of a config; Config.TOTP is nil for an SSH
// OTP config.
type TOTP struct {
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

// The keys of each mode, in the order problems are reported.
var (
	totpOnlyKeys = []string{
		"totp_mount_point", "totp_key_template", "vault_token_file", "approle_role_id_file",
		"approle_secret_id_file", "approle_mount_point", "totp_max_failures", "totp_failure_window", "state_dir",
		"totp_code_lifetime", "totp_used_codes_path", "totp_used_codes_key_file",
	}
	sshOTPOnlyKeys = []string{"ssh_mount_point", "allowed_roles", "allowed_cidr_list"}
)

// totpField returns where the value of a TOTP key goes, or nil.
func (r *rawConfig) totpField(key string) any {
	switch key {
	case "totp_mount_point":
		return &r.TOTPMountPoint
	case "totp_key_template":
		return &r.TOTPKeyTemplate
	case "vault_token_file":
		return &r.VaultTokenFile
	case "approle_role_id_file":
		return &r.AppRoleRoleIDFile
	case "approle_secret_id_file":
		return &r.AppRoleSecretIDFile
	case "approle_mount_point":
		return &r.AppRoleMountPoint
	case "totp_max_failures":
		return &r.TOTPMaxFailures
	case "totp_failure_window":
		return &r.TOTPFailureWindow
	case "state_dir":
		return &r.StateDir
	case "totp_code_lifetime":
		return &r.TOTPCodeLifetime
	case "totp_used_codes_path":
		return &r.UsedCodesPath
	case "totp_used_codes_key_file":
		return &r.UsedCodesKeyFile
	}
	return nil
}

// refuseTOTPKeys names every TOTP key in an SSH OTP config: left there, it
// would suggest a second factor that is not checked.
func refuseTOTPKeys(raw *rawConfig) []error {
	var problems []error
	for _, key := range totpOnlyKeys {
		if raw.set[key] {
			problems = append(problems, fmt.Errorf("%s %w", key, ErrTOTPKeyInSSHOTP))
		}
	}
	return problems
}

// parseTOTP validates a TOTP config's own keys.
func parseTOTP(raw *rawConfig) (*TOTP, []error) {
	t := &TOTP{}
	var problems []error
	add := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	for _, key := range sshOTPOnlyKeys {
		if raw.set[key] {
			add(fmt.Errorf("%s %w", key, ErrSSHOTPKeyInTOTP))
		}
	}
	var err error
	t.MountPoint, err = parseVaultPath("totp_mount_point", raw.TOTPMountPoint)
	add(err)
	t.KeyTemplate, err = parseKeyTemplate(raw.TOTPKeyTemplate, raw.set["totp_key_template"])
	add(err)
	t.MaxFailures, err = parseMaxFailures(raw.TOTPMaxFailures, raw.set["totp_max_failures"])
	add(err)
	t.FailureWindow, err = parseFailureWindow(raw.TOTPFailureWindow, raw.set["totp_failure_window"])
	add(err)
	t.StateDir, err = parseStateDir(raw.StateDir, raw.set["state_dir"])
	add(err)
	t.CodeLifetime, err = parseCodeLifetime(raw.TOTPCodeLifetime, raw.set["totp_code_lifetime"])
	add(err)
	t.UsedCodes, err = parseUsedCodes(raw)
	add(err)
	problems = append(problems, parseCredentials(raw, t)...)
	return t, problems
}

// parseCredentials reads how the host proves itself to Vault: exactly one
// of a token file and an AppRole pair.
func parseCredentials(raw *rawConfig, t *TOTP) []error {
	tokenSet := raw.set["vault_token_file"]
	roleSet, secretSet := raw.set["approle_role_id_file"], raw.set["approle_secret_id_file"]
	switch {
	case tokenSet && (roleSet || secretSet):
		return []error{ErrTokenAndAppRole}
	case roleSet && !secretSet:
		return []error{ErrRoleIDAlone}
	case secretSet && !roleSet:
		return []error{ErrSecretIDAlone}
	case !tokenSet && !roleSet:
		if raw.set["approle_mount_point"] {
			return []error{ErrAppRoleMountAlone}
		}
		return []error{ErrNoCredentials}
	case tokenSet && raw.set["approle_mount_point"]:
		return []error{ErrAppRoleMountUnused}
	}
	var problems []error
	if tokenSet {
		var err error
		t.TokenFile, t.Token, err = readSecret(raw.VaultTokenFile, "vault_token_file", "token")
		if err != nil {
			problems = append(problems, err)
		}
		return problems
	}
	a := &AppRole{MountPoint: DefaultAppRoleMountPoint}
	var err error
	if raw.set["approle_mount_point"] {
		if a.MountPoint, err = parseVaultPath("approle_mount_point", raw.AppRoleMountPoint); err != nil {
			problems = append(problems, err)
		}
	}
	if a.RoleIDFile, a.RoleID, err = readSecret(raw.AppRoleRoleIDFile, "approle_role_id_file", "role_id"); err != nil {
		problems = append(problems, err)
	}
	if a.SecretIDFile, a.SecretID, err = readSecret(raw.AppRoleSecretIDFile, "approle_secret_id_file", "secret_id"); err != nil {
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
		return "", Secret{}, fmt.Errorf("%s %w", key, ErrEmpty)
	}
	// The mode is checked on the file that was opened, as client_key's is.
	data, info, err := readTrustedInfo(path, key, "/")
	if err != nil {
		return "", Secret{}, err
	}
	if perm := info.Mode().Perm(); perm&0o044 != 0 {
		return "", Secret{}, fmt.Errorf("%s %q %w (mode %04o); run: chmod go-r %s", key, path, ErrSecretReadable, perm, path)
	}
	value := strings.TrimSpace(string(data))
	switch {
	case value == "":
		return "", Secret{}, fmt.Errorf("%s %q %w", key, path, ErrEmpty)
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
		return 0, fmt.Errorf("totp_failure_window %q %w like %q", s, ErrNotDuration, "30s")
	}
	if d < MinFailureWindow || d > MaxFailureWindow {
		return 0, fmt.Errorf("totp_failure_window %q %w %s to %s", s, ErrOutside, MinFailureWindow, MaxFailureWindow)
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
		return 0, fmt.Errorf("totp_code_lifetime %q %w like %q", s, ErrNotDuration, "5m")
	}
	if d < MinCodeLifetime || d > MaxCodeLifetime {
		return 0, fmt.Errorf("totp_code_lifetime %q %w %s to %s", s, ErrOutside, MinCodeLifetime, MaxCodeLifetime)
	}
	return d, nil
}

// parseUsedCodes reads the shared record's two keys: both or neither. The
// path's first segment is the KV v2 mount, the rest the prefix under it.
func parseUsedCodes(raw *rawConfig) (*UsedCodes, error) {
	pathSet, keySet := raw.set["totp_used_codes_path"], raw.set["totp_used_codes_key_file"]
	switch {
	case !pathSet && !keySet:
		return nil, nil
	case pathSet && !keySet:
		return nil, fmt.Errorf("totp_used_codes_path is set but totp_used_codes_key_file is not: %w", ErrSetBothOrNeither)
	case keySet && !pathSet:
		return nil, fmt.Errorf("totp_used_codes_key_file is set but totp_used_codes_path is not: %w", ErrSetBothOrNeither)
	}
	path, err := parseVaultPath("totp_used_codes_path", raw.UsedCodesPath)
	if err != nil {
		return nil, err
	}
	mount, prefix, ok := strings.Cut(path, "/")
	if !ok {
		return nil, fmt.Errorf("totp_used_codes_path %q %w", raw.UsedCodesPath, ErrUsedCodesNoPrefix)
	}
	u := &UsedCodes{Mount: mount, Prefix: prefix}
	u.KeyFile, u.Key, err = readSecret(raw.UsedCodesKeyFile, "totp_used_codes_key_file", "key")
	if err != nil {
		return nil, err
	}
	if len(u.Key.Reveal()) < minUsedCodesKeySize {
		return nil, fmt.Errorf("totp_used_codes_key_file %q %w", u.KeyFile, ErrUsedCodesKeyShort)
	}
	return u, nil
}
