package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNoAuth: a login answer has no "auth" object.
var ErrNoAuth = errors.New("Vault's answer has no auth")

// SetToken makes every later request carry token as X-Vault-Token. The
// client starts without one: ssh/verify needs none, and a login must not
// send one.
func (c *Client) SetToken(token string) { c.vault.SetToken(token) }

// Auth is what a login answer says about the token it issued.
type Auth struct {
	ClientToken string
	Policies    []string
}

// DecodeAuth reads the "auth" object of a 2xx login answer. Keys are
// matched exactly (encoding/json would take "Client_Token" for
// client_token). Its errors are ErrEmptyBody, ErrNoAuth or ErrMalformed, and
// never quote a value: the answer holds the token.
func DecodeAuth(body []byte) (Auth, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Auth{}, ErrEmptyBody
	}
	if !json.Valid(body) {
		return Auth{}, fmt.Errorf("%w: not one JSON value", ErrMalformed)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return Auth{}, fmt.Errorf("%w: the answer is not a JSON object", ErrMalformed)
	}
	raw, ok := top["auth"]
	if !ok || string(raw) == "null" {
		return Auth{}, ErrNoAuth
	}
	var auth map[string]json.RawMessage
	if err := json.Unmarshal(raw, &auth); err != nil {
		return Auth{}, fmt.Errorf("%w: auth is not a JSON object", ErrMalformed)
	}
	var a Auth
	if err := decodeField(auth, "client_token", &a.ClientToken); err != nil {
		return Auth{}, err
	}
	if a.ClientToken == "" {
		return Auth{}, fmt.Errorf("%w: auth.client_token is missing or empty", ErrMalformed)
	}
	if err := decodeField(auth, "policies", &a.Policies); err != nil {
		return Auth{}, err
	}
	return a, nil
}

// decodeField reads auth's key into v when present; null counts as absent.
func decodeField(auth map[string]json.RawMessage, key string, v any) error {
	raw, ok := auth[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: auth.%s has the wrong type", ErrMalformed, key)
	}
	return nil
}
