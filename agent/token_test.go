package agent

import (
	"errors"
	"strings"
	"testing"
)

// A real AppRole login answer from Vault v1.14.0 (token shortened).
const loginAnswer = `{"request_id":"7aaa41ad","lease_id":"","renewable":false,"lease_duration":0,"data":null,` +
	`"wrap_info":null,"warnings":null,"auth":{"client_token":"hvs.CAESIEUNWNO69zHH9F2V","accessor":"H6t0",` +
	`"policies":["default","upd"],"token_policies":["default","upd"],"metadata":{"role_name":"host"},` +
	`"lease_duration":60,"renewable":true,"entity_id":"9a75","token_type":"service","orphan":true,"mfa_requirement":null,"num_uses":0}}`

func TestDecodeAuthReadsTheTokenAndPolicies(t *testing.T) {
	a, err := DecodeAuth([]byte(loginAnswer))
	if err != nil || a.ClientToken != "hvs.CAESIEUNWNO69zHH9F2V" || strings.Join(a.Policies, ",") != "default,upd" {
		t.Fatalf("DecodeAuth = %+v, %v", a, err)
	}
	a, err = DecodeAuth([]byte(`{"auth":{"client_token":"t","policies":null}}`))
	if err != nil || a.ClientToken != "t" || a.Policies != nil {
		t.Fatalf("DecodeAuth without policies = %+v, %v", a, err)
	}
}

// TestDecodeAuthRefusals pins the full text of every refusal; none quotes a value.
func TestDecodeAuthRefusals(t *testing.T) {
	cases := []struct {
		name, body, want string
		is               error
	}{
		{"empty", " \n", ErrEmptyBody.Error(), ErrEmptyBody},
		{"not JSON", `{"auth":`, ErrMalformed.Error() + ": not one JSON value", ErrMalformed},
		{"trailing data", `{"auth":{"client_token":"secret-token"}} x`, ErrMalformed.Error() + ": not one JSON value", ErrMalformed},
		{"top array", `["secret-token"]`, ErrMalformed.Error() + ": the answer is a JSON array where an object belongs", ErrMalformed},
		{"no auth", `{"data":{"client_token":"secret-token"}}`, ErrNoAuth.Error(), ErrNoAuth},
		{"auth null", `{"auth":null}`, ErrNoAuth.Error(), ErrNoAuth},
		{"auth in capitals", `{"Auth":{"client_token":"secret-token"}}`, ErrMalformed.Error() + ": auth is written in another letter case", ErrMalformed},
		{"auth a string", `{"auth":"secret-token"}`, ErrMalformed.Error() + ": auth is a JSON string where an object belongs", ErrMalformed},
		{"token missing", `{"auth":{"accessor":"a"}}`, ErrMalformed.Error() + ": auth.client_token is missing or empty", ErrMalformed},
		{"token empty", `{"auth":{"client_token":""}}`, ErrMalformed.Error() + ": auth.client_token is missing or empty", ErrMalformed},
		{"token in other case", `{"auth":{"Client_Token":"secret-token"}}`, ErrMalformed.Error() + ": auth.client_token is written in another letter case", ErrMalformed},
		{"token a number", `{"auth":{"client_token":12345}}`, ErrMalformed.Error() + ": auth.client_token is a JSON number where a string belongs", ErrMalformed},
		{"policies a string", `{"auth":{"client_token":"secret-token","policies":"secret-token"}}`, ErrMalformed.Error() + ": auth.policies is a JSON string where an array belongs", ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := DecodeAuth([]byte(c.body))
			if err == nil || err.Error() != c.want || !errors.Is(err, c.is) {
				t.Fatalf("DecodeAuth = %+v, %v; want %q", a, err, c.want)
			}
			if a.ClientToken != "" || strings.Contains(err.Error(), "secret-token") {
				t.Errorf("a refusal carries the token: %+v, %v", a, err)
			}
		})
	}
}

// FuzzDecodeAuth: no login answer panics the decoder; a token comes back
// only with a nil error, and every error is one of the typed outcomes.
func FuzzDecodeAuth(f *testing.F) {
	f.Add([]byte(loginAnswer))
	for _, seed := range []string{`{"auth":null}`, `{"auth":{"client_token":""}}`, `{"Auth":{"client_token":"t"}}`,
		`{"auth":{"client_token":1}}`, `{"auth":{"client_token":"t","policies":[1]}}`, `[]`, ``, `{"auth":{}} {}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := DecodeAuth(body)
		if err != nil {
			if a.ClientToken != "" || a.Policies != nil {
				t.Fatalf("DecodeAuth returned %+v with %v", a, err)
			}
			if !errors.Is(err, ErrEmptyBody) && !errors.Is(err, ErrNoAuth) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeAuth error %v is none of the typed outcomes", err)
			}
			return
		}
		if a.ClientToken == "" {
			t.Fatalf("DecodeAuth accepted %q without a token", body)
		}
	})
}
