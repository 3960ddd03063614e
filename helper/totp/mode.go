// Package totp is the TOTP mode: the password is a code from the user's
// authenticator app, and a login is verified when Vault's TOTP engine says
// the code is valid for the user's key. The host holds no seed; it proves
// itself to Vault with a token file or an AppRole login, and limits failed
// codes per user (package ratelimit) before Vault is asked.
package totp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
)

const (
	// ProbeUser stands in for PAM_USER in -verify-only, which has no user: the
	// capabilities checked are those on the key the template gives this name.
	ProbeUser = "vault-ssh-helper-probe"
	// Vault v1.14.0's messages, word for word (measured against the real
	// engine in e2e/totpanswers); msgCASMismatch is KV v2's answer to a stale cas.
	msgAlreadyUsed  = "code already used; wait until the next time period"
	msgUnknownKey   = "unknown key: "
	msgCodeRequired = "the code value is required"
	msgCASMismatch  = "check-and-set parameter did not match the current version"
	maxSharedCodes  = 100
)

// The mode's refusals, told apart with errors.Is. All deny.
var (
	// -verify-only's findings that the token's policy is short.
	ErrCannotUpdate = errors.New("the token cannot validate codes")
	ErrCannotRecord = errors.New("the token cannot keep the shared record of used codes")
	// The TOTP engine's own answers.
	ErrNotValid      = errors.New("the code is not valid")
	ErrAlreadyUsed   = errors.New("the code was already used; wait for the next one")
	ErrNoKey         = errors.New("no TOTP key")
	ErrTokenRefused  = errors.New("permission denied: Vault refused the token")
	ErrNotTOTPEngine = errors.New("the mount does not answer as a TOTP engine")
	// The shared record's.
	ErrUsedShared   = errors.New("code already accepted (shared record)")
	ErrSharedRace   = errors.New("another login changed the shared record of used codes at the same time")
	ErrSharedRecord = errors.New("the shared record of used codes is unusable")
)

// Mode is the TOTP mode for one config.
type Mode struct {
	cfg   *Settings
	vault *agent.Client
	// token is this run's token once known, masked in errors.
	token string
	// Now is replaced by tests.
	Now func() time.Time
}

// New is the TOTP mode for cfg, asking Vault through vault.
func New(cfg *Settings, vault *agent.Client) *Mode {
	return &Mode{cfg: cfg, vault: vault, Now: time.Now}
}

// About is what the run's log lines say about this mode. Its summary line
// has no field of its own: Vault's answer names no IP.
func (m *Mode) About() helper.About {
	step := "sending sys/capabilities-self and an empty code"
	if m.cfg.AppRole != nil {
		step = "sending an AppRole login, sys/capabilities-self and an empty code"
	}
	if m.cfg.UsedCodes != nil {
		step += ", then reading the shared record of used codes"
	}
	return helper.About{
		Announce:  fmt.Sprintf("using TOTP mount point: %s, key template: %s", m.cfg.MountPoint, m.cfg.KeyTemplate),
		Secret:    "the TOTP code",
		CheckStep: step,
	}
}

// ReadPassword returns the typed password only if it is 6 or 8 ASCII digits
// once helper.ReadPassword has removed what PAM or a terminal added around
// it: Vault releases before the fix for CVE-2025-6014 accept a used code
// again with white space added.
func (m *Mode) ReadPassword(r io.Reader) (string, error) {
	pw, err := helper.ReadPassword(r)
	if err != nil {
		return "", err
	}
	if len(pw) != 6 && len(pw) != 8 || len(bytes.Trim(pw, "0123456789")) != 0 {
		return "", ErrNotCode
	}
	return string(pw), nil
}

// Login checks code for pamUser: the key name, the limiter, the shared
// record, then Vault. No error carries the code, the token or the AppRole IDs.
func (m *Mode) Login(ctx context.Context, code, pamUser string) (_ helper.Result, err error) {
	ctx = agent.WithSecrets(ctx, m.secrets(code)...)
	defer func() { err = m.withoutSecrets(ctx, err) }()
	key, err := KeyName(m.cfg.KeyTemplate, pamUser)
	if err != nil {
		return helper.Result{}, err
	}
	now := m.Now()
	attempt, err := m.begin(ctx, pamUser, code, now)
	if err != nil {
		return helper.Result{}, err
	}
	if _, err := m.useToken(ctx); err != nil {
		return helper.Result{}, err
	}
	ctx = agent.WithSecrets(ctx, m.issuedToken())
	var shared keyRecord
	if m.cfg.UsedCodes != nil {
		if shared, err = m.readShared(ctx, key); err != nil {
			return helper.Result{}, fmt.Errorf("cannot check the shared record of used codes, so denying: %w", err)
		}
		if err := m.refuseShared(shared, key, code, now); err != nil {
			return helper.Result{}, fmt.Errorf("denied before asking Vault: %w", err)
		}
	}
	if err := m.validate(ctx, key, code); err != nil {
		return helper.Result{}, err
	}
	// The records come before the answer, the shared one first (its
	// check-and-set decides a race between hosts): a helper that dies or
	// cannot write one here exits non-zero, which pam_exec takes as a
	// denial, so no path lets a code in without it being recorded first.
	if m.cfg.UsedCodes != nil {
		if err := m.recordShared(ctx, shared, key, code, now); err != nil {
			return helper.Result{}, fmt.Errorf("the code is valid, but recording it in the shared record failed, so denying: %w", err)
		}
	}
	if err := attempt.Succeeded(); err != nil {
		return helper.Result{}, fmt.Errorf("the code is valid, but recording it as used for %q failed, so denying: %w", pamUser, err)
	}
	return helper.Result{Who: fmt.Sprintf("%s (TOTP key %q)", pamUser, key)}, nil
}

// begin counts an attempt for user; any problem with the state denies.
func (m *Mode) begin(ctx context.Context, user, code string, now time.Time) (*ratelimit.Attempt, error) {
	limiter, err := m.openLimiter()
	if err != nil {
		return nil, err
	}
	attempt, err := limiter.BeginCode(ctx, user, code, now)
	switch {
	case errors.Is(err, ratelimit.ErrLimited), errors.Is(err, ratelimit.ErrUsed):
		return nil, fmt.Errorf("denied before asking Vault: %w", err)
	case err != nil:
		return nil, fmt.Errorf("cannot count %q's failed codes, so denying: %w", user, err)
	}
	return attempt, nil
}

func (m *Mode) openLimiter() (*ratelimit.Limiter, error) {
	l, err := ratelimit.Open(m.cfg.StateDir, m.cfg.MaxFailures, m.cfg.FailureWindow, m.cfg.CodeLifetime)
	if err != nil {
		return nil, fmt.Errorf("rate limit: %w", err)
	}
	return l, nil
}

// useToken gets this run's token and says how, for -verify-only. An
// AppRole login runs on every run and its token is never written anywhere,
// so it dies with the process (and in Vault with its TTL).
func (m *Mode) useToken(ctx context.Context) (string, error) {
	a := m.cfg.AppRole
	if a == nil {
		m.token = m.cfg.Token.Reveal()
		m.vault.SetToken(m.token)
		return fmt.Sprintf("token: read from vault_token_file %s", m.cfg.TokenFile), nil
	}
	path := "/v1/auth/" + a.MountPoint + "/login"
	body, err := m.vault.Put(ctx, path, map[string]string{"role_id": a.RoleID.Reveal(), "secret_id": a.SecretID.Reveal()})
	var auth agent.Auth
	if err == nil {
		auth, err = agent.DecodeAuth(body)
	}
	if err != nil {
		return "", fmt.Errorf("AppRole login at %s: %w", m.vault.URL(path), err)
	}
	m.token = auth.ClientToken
	m.vault.SetToken(m.token)
	policies := "none"
	if len(auth.Policies) > 0 {
		policies = strings.Join(auth.Policies, ", ")
	}
	return fmt.Sprintf("AppRole login at auth/%s: OK (token policies: %s)", a.MountPoint, policies), nil
}

// secrets lists what an answer may echo and no message may carry. They
// travel in ctx, so every quote leaves them out before it is cut.
func (m *Mode) secrets(code string) []agent.Secret {
	s := []agent.Secret{{Value: code, Mark: "<the code>"}, {Value: m.cfg.Token.Reveal(), Mark: "<the token>"}}
	if a := m.cfg.AppRole; a != nil {
		s = append(s, agent.Secret{Value: a.RoleID.Reveal(), Mark: "<the role_id>"},
			agent.Secret{Value: a.SecretID.Reveal(), Mark: "<the secret_id>"})
	}
	return s
}

// issuedToken is the token an AppRole login issued this run, once known.
func (m *Mode) issuedToken() agent.Secret { return agent.Secret{Value: m.token, Mark: "<the token>"} }

// withoutSecrets is the last pass over an error, the issued token included.
func (m *Mode) withoutSecrets(ctx context.Context, err error) error {
	return agent.WithoutSecrets(agent.WithSecrets(ctx, m.issuedToken()), err)
}

// Check is -verify-only: it proves the token, the policy, the mount and
// the state directory without consuming a code.
func (m *Mode) Check(ctx context.Context) (found []helper.Finding, err error) {
	note := func(warning bool, format string, args ...any) {
		found = append(found, helper.Finding{Warning: warning, Text: fmt.Sprintf(format, args...)})
	}
	ctx = agent.WithSecrets(ctx, m.secrets("")...)
	defer func() { err = m.withoutSecrets(ctx, err) }()
	how, err := m.useToken(ctx)
	if err != nil {
		return found, err
	}
	ctx = agent.WithSecrets(ctx, m.issuedToken())
	note(false, "%s", how)
	key, err := KeyName(m.cfg.KeyTemplate, ProbeUser)
	if err != nil {
		return found, err
	}
	path := m.codePath(key)
	caps, err := m.capabilities(ctx, path)
	if err != nil {
		return found, err
	}
	// Read on <mount>/code/<key> generates the key's current code, root
	// allows everything, and sudo means a policy far wider than needed.
	policy, list := m.codePath(m.cfg.KeyTemplate.Prefix+"*"), strings.Join(caps, ", ")
	note(false, "capabilities of the token on %s (the key template with user %q): %s", path, ProbeUser, list)
	if slices.ContainsFunc(caps, func(c string) bool { return c == "read" || c == "root" || c == "sudo" }) {
		note(true, "the token can read codes (%s on %s): whoever holds it can make valid codes for every user; its policy should grant only update on %s",
			list, path, policy)
	}
	if !slices.Contains(caps, "update") && !slices.Contains(caps, "root") {
		return found, fmt.Errorf("%w: its capabilities on %s are %s; its policy needs update on %s", ErrCannotUpdate, path, list, policy)
	}
	if err := m.probe(ctx, key); err != nil {
		return found, err
	}
	note(false, "mount %s answers as a TOTP engine (probed with an empty code, which consumes nothing)", m.cfg.MountPoint)
	if m.cfg.UsedCodes != nil {
		if err := m.verifyShared(ctx, key, note); err != nil {
			return found, err
		}
	}
	if _, err := m.openLimiter(); err != nil {
		return found, err
	}
	note(false, "state_dir %s is usable: %d failed codes within %s stop a user; an accepted code is refused on this host for %s",
		m.cfg.StateDir, m.cfg.MaxFailures, m.cfg.FailureWindow, m.cfg.CodeLifetime)
	return found, nil
}

// verifyShared proves that the token can read and write the shared record.
func (m *Mode) verifyShared(ctx context.Context, key string, note func(bool, string, ...any)) error {
	path := m.sharedPath(key)
	caps, err := m.capabilities(ctx, path)
	if err != nil {
		return err
	}
	if !slices.Contains(caps, "root") && !(slices.Contains(caps, "read") && slices.Contains(caps, "create") && slices.Contains(caps, "update")) {
		return fmt.Errorf("%w: its capabilities on %s are %s; its policy needs read, create and update on %s",
			ErrCannotRecord, path, strings.Join(caps, ", "), m.sharedPath("*"))
	}
	if _, err := m.readShared(ctx, key); err != nil {
		return err
	}
	note(false, "shared record of used codes: capabilities of the token on %s: %s; reading it: OK", path, strings.Join(caps, ", "))
	return nil
}

// codePath is the engine's path for key's codes, as policies name it.
func (m *Mode) codePath(key string) string { return m.cfg.MountPoint + "/code/" + key }

// validate asks Vault whether code is right for key now. Vault remembers
// the code, right or wrong, as it answers.
func (m *Mode) validate(ctx context.Context, key, code string) error {
	path := "/v1/" + m.codePath(key)
	body, err := m.vault.Put(ctx, path, map[string]string{"code": code})
	if err == nil {
		err = decodeValid(body)
	}
	var ve *agent.VaultError
	if errors.As(err, &ve) {
		switch {
		case ve.Says(http.StatusBadRequest, msgAlreadyUsed):
			err = ErrAlreadyUsed
		case ve.Says(http.StatusBadRequest, msgUnknownKey+key):
			err = fmt.Errorf("%w %q on mount %q", ErrNoKey, key, m.cfg.MountPoint)
		case ve.Status == http.StatusForbidden:
			err = m.refused(key)
		}
	}
	if err != nil {
		return fmt.Errorf("validate at %s: %w", m.vault.URL(path), err)
	}
	return nil
}

func (m *Mode) refused(key string) error {
	return fmt.Errorf("%w (revoked or expired, or its policy lacks update on %s)", ErrTokenRefused, m.codePath(key))
}

// decodeValid reads a 2xx validate answer: nil only for "valid": true.
func decodeValid(body []byte) error {
	var d struct {
		Valid *bool `json:"valid"`
	}
	if err := agent.DecodeData(body, &d); err != nil {
		return err
	}
	switch {
	case d.Valid == nil:
		return fmt.Errorf("%w: data.valid is missing", agent.ErrMalformed)
	case !*d.Valid:
		return ErrNotValid
	}
	return nil
}

// capabilities asks Vault what the token may do on apiPath.
func (m *Mode) capabilities(ctx context.Context, apiPath string) ([]string, error) {
	const path = "/v1/sys/capabilities-self"
	body, err := m.vault.Put(ctx, path, map[string]string{"paths": apiPath})
	var caps []string
	if err == nil {
		caps, err = decodeCapabilities(body)
	}
	var ve *agent.VaultError
	if errors.As(err, &ve) && ve.Status == http.StatusForbidden {
		err = fmt.Errorf("%w (revoked or expired, or without the default policy, which allows sys/capabilities-self)", ErrTokenRefused)
	}
	if err != nil {
		return nil, fmt.Errorf("capabilities at %s: %w", m.vault.URL(path), err)
	}
	return caps, nil
}

func decodeCapabilities(body []byte) ([]string, error) {
	var d struct {
		Capabilities *[]string `json:"capabilities"`
	}
	if err := agent.DecodeData(body, &d); err != nil {
		return nil, err
	}
	if d.Capabilities == nil || len(*d.Capabilities) == 0 {
		return nil, fmt.Errorf("%w: data.capabilities is missing or empty", agent.ErrMalformed)
	}
	return *d.Capabilities, nil
}

// probe proves that the mount is a TOTP engine without consuming a code:
// the engine refuses an empty code before it looks at the key or
// remembers anything.
func (m *Mode) probe(ctx context.Context, key string) error {
	path := "/v1/" + m.codePath(key)
	_, err := m.vault.Put(ctx, path, map[string]string{"code": ""})
	var ve *agent.VaultError
	isVault := errors.As(err, &ve)
	switch {
	case isVault && (ve.Says(http.StatusBadRequest, msgCodeRequired) || ve.Says(http.StatusBadRequest, msgUnknownKey+key)):
		return nil
	case err == nil:
		err = ErrNotTOTPEngine
	case isVault && ve.Status == http.StatusForbidden:
		err = m.refused(key)
	case isVault:
		err = fmt.Errorf("%w: %w", ErrNotTOTPEngine, err)
	}
	return fmt.Errorf("mount check at %s: %w", m.vault.URL(path), err)
}

// The shared record (totp_used_codes_path) keeps the codes accepted for a
// key on any host in KV v2 (replicated storage, unlike the TOTP engine's
// memory), so that every host refuses them. Each write names the version it
// read (check-and-set): of two hosts racing with one code, one denies.
// Entries are ratelimit's (time and HMAC) under a key Vault never sees:
// readers learn who logged in and when, nothing about the codes.

// keyRecord is a key's record as read; version 0 when there is none yet.
type keyRecord struct {
	version int
	entries []ratelimit.Code
}

func (m *Mode) sharedPath(key string) string {
	return m.cfg.UsedCodes.Mount + "/data/" + m.cfg.UsedCodes.Prefix + "/" + key
}

// readShared gets key's record; no record yet is version 0.
func (m *Mode) readShared(ctx context.Context, key string) (keyRecord, error) {
	path := "/v1/" + m.sharedPath(key)
	body, err := m.vault.Get(ctx, path)
	var ve *agent.VaultError
	if errors.As(err, &ve) && ve.Status == http.StatusNotFound && len(ve.Messages) == 0 {
		return keyRecord{}, nil
	}
	var rec keyRecord
	if err == nil {
		rec, err = decodeRecord(body)
	}
	if err != nil {
		return keyRecord{}, fmt.Errorf("read shared record at %s: %w", m.vault.URL(path), m.explainShared(err))
	}
	return rec, nil
}

func decodeRecord(body []byte) (keyRecord, error) {
	var d struct {
		Data *struct {
			Used *[]string `json:"used"`
		} `json:"data"`
		Metadata *struct {
			Version *int `json:"version"`
		} `json:"metadata"`
	}
	if err := agent.DecodeData(body, &d); err != nil {
		return keyRecord{}, err
	}
	if d.Metadata == nil || d.Metadata.Version == nil || *d.Metadata.Version < 1 {
		return keyRecord{}, fmt.Errorf("%w: data.metadata.version is missing or not positive", ErrSharedRecord)
	}
	rec := keyRecord{version: *d.Metadata.Version}
	if d.Data == nil || d.Data.Used == nil {
		// A deleted version reads as data null: nothing is recorded.
		return rec, nil
	}
	if len(*d.Data.Used) > maxSharedCodes {
		return keyRecord{}, fmt.Errorf("%w: it holds more than %d codes", ErrSharedRecord, maxSharedCodes)
	}
	for i, s := range *d.Data.Used {
		e, err := ratelimit.ParseCode(s)
		if err != nil {
			return keyRecord{}, fmt.Errorf("%w: entry %d is not \"<unix time> <64 hex digits>\"", ErrSharedRecord, i+1)
		}
		rec.entries = append(rec.entries, e)
	}
	return rec, nil
}

// sharedSum is the record's form of code for key.
func (m *Mode) sharedSum(key, code string) string {
	return ratelimit.CodeSum([]byte(m.cfg.UsedCodes.Key.Reveal()), key, code)
}

// liveShared keeps the entries still inside the lifetime; one stamped
// later than now (a host's clock ahead) counts from now.
func (m *Mode) liveShared(entries []ratelimit.Code, now time.Time) []ratelimit.Code {
	var keep []ratelimit.Code
	for _, e := range entries {
		at := time.Unix(min(e.Stamp, now.Unix()), 0)
		if now.Before(at.Add(m.cfg.CodeLifetime)) {
			keep = append(keep, e)
		}
	}
	return keep
}

// refuseShared refuses code when the record holds it within the lifetime.
func (m *Mode) refuseShared(rec keyRecord, key, code string, now time.Time) error {
	e, ok := ratelimit.Find(m.liveShared(rec.entries, now), m.sharedSum(key, code))
	if !ok {
		return nil
	}
	accepted, lifetime := time.Unix(e.Stamp, 0).UTC(), m.cfg.CodeLifetime
	return fmt.Errorf("%w for key %q at %s; it stays refused until %s (totp_code_lifetime %s)",
		ErrUsedShared, key, accepted.Format(time.RFC3339), accepted.Add(lifetime).Format(time.RFC3339), lifetime)
}

// recordShared writes code into key's record over the version read.
func (m *Mode) recordShared(ctx context.Context, rec keyRecord, key, code string, now time.Time) error {
	entries := m.liveShared(rec.entries, now)
	if len(entries) >= maxSharedCodes {
		return fmt.Errorf("%w: key %q has %d codes accepted within %s, as many as it holds; refusing rather than forgetting one",
			ErrSharedRecord, key, len(entries), m.cfg.CodeLifetime)
	}
	entries = append(entries, ratelimit.Code{Stamp: ratelimit.Stamp(now), Sum: m.sharedSum(key, code)})
	used := make([]string, 0, len(entries))
	for _, e := range entries {
		used = append(used, strconv.FormatInt(e.Stamp, 10)+" "+e.Sum)
	}
	body := map[string]any{
		"options": map[string]int{"cas": rec.version},
		"data":    map[string][]string{"used": used},
	}
	path := "/v1/" + m.sharedPath(key)
	if _, err := m.vault.Put(ctx, path, body); err != nil {
		return fmt.Errorf("write shared record at %s: %w", m.vault.URL(path), m.explainShared(err))
	}
	return nil
}

// explainShared names KV's refusals; any other error goes on unchanged.
func (m *Mode) explainShared(err error) error {
	var ve *agent.VaultError
	switch {
	case !errors.As(err, &ve):
		return err
	case ve.Says(http.StatusBadRequest, msgCASMismatch):
		return ErrSharedRace
	case ve.Status == http.StatusForbidden:
		return fmt.Errorf("%w (revoked or expired, or its policy lacks read, create and update on %s)", ErrTokenRefused, m.sharedPath("*"))
	}
	return fmt.Errorf("%w: %w", ErrSharedRecord, err)
}
