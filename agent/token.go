package agent

import "fmt"

// ErrNoAuth: a login answer has no "auth" object. It matches ErrNoData too.
var ErrNoAuth error = missingObject("auth")

// SetToken makes every later request carry token as X-Vault-Token. The
// client starts without one: ssh/verify needs none, and a login must not
// send one.
func (c *Client) SetToken(token string) {
	c.token = token
	for _, vc := range c.vaults {
		if vc != nil {
			vc.SetToken(token)
		}
	}
}

// Auth is what a login answer says about the token it issued.
type Auth struct {
	ClientToken string
	Policies    []string
}

// DecodeAuth reads the "auth" object of a 2xx login answer, with
// DecodeObject's rules: keys exactly as Vault writes them, none twice or in
// another case. Its errors are ErrEmptyBody, ErrNoAuth or ErrMalformed, and
// never quote a value: the answer holds the token.
func DecodeAuth(body []byte) (Auth, error) {
	var a struct {
		ClientToken *string  `json:"client_token"`
		Policies    []string `json:"policies"`
	}
	if err := DecodeObject(body, "auth", &a); err != nil {
		return Auth{}, err
	}
	if a.ClientToken == nil || *a.ClientToken == "" {
		return Auth{}, fmt.Errorf("%w: auth.client_token is missing or empty", ErrMalformed)
	}
	return Auth{ClientToken: *a.ClientToken, Policies: a.Policies}, nil
}
