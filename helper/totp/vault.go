package totp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// The TOTP engine's own answers, told apart with errors.Is. All deny.
var (
	ErrNotValid      = errors.New("the code is not valid")
	ErrAlreadyUsed   = errors.New("the code was already used; wait for the next one")
	ErrNoKey         = errors.New("no TOTP key")
	ErrTokenRefused  = errors.New("permission denied: Vault refused the token")
	ErrNotTOTPEngine = errors.New("the mount does not answer as a TOTP engine")
)

// Vault v1.14.0's messages, word for word (measured against the real
// engine in e2e/totpanswers).
const (
	msgAlreadyUsed  = "code already used; wait until the next time period"
	msgUnknownKey   = "unknown key: "
	msgCodeRequired = "the code value is required"
)

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
