package sshotp

import (
	"context"
	"errors"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// FuzzDecodeVerify feeds any body to the two decoders. None may panic; a
// verify answer is either an error or a Verified fit to be judged (a
// non-empty username and a valid, zone-less IP), never a zero Verified with a
// nil error; every error is one of the outcomes callers tell apart.
func FuzzDecodeVerify(f *testing.F) {
	f.Add([]byte(`{"data":{"username":"ubuntu","ip":"127.0.0.1","role_name":"otp_key_role"}}`))
	f.Add([]byte(`{"errors":["OTP not found"]}`))
	f.Add([]byte(`{"data":{"message":"verify-echo-response"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := decodeVerify(context.Background(), body)
		if err == nil {
			if v.Username == "" {
				t.Fatalf("Verified with an empty username and nil error from %q", body)
			}
			if !v.IP.IsValid() || v.IP.Zone() != "" {
				t.Fatalf("Verified with IP %v and nil error from %q", v.IP, body)
			}
		} else {
			if v != (Verified{}) {
				t.Fatalf("Verified %+v returned with error %v", v, err)
			}
			if !isOneOf(err, agent.ErrEmptyBody, agent.ErrNoData, agent.ErrMalformed) {
				t.Fatalf("decodeVerify error %v is none of the typed outcomes", err)
			}
		}

		if err := decodeEcho(body); err != nil && !isOneOf(err, ErrBadEcho, agent.ErrEmptyBody, agent.ErrNoData, agent.ErrMalformed) {
			t.Fatalf("decodeEcho error %v is none of the typed outcomes", err)
		}
	})
}

func isOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
