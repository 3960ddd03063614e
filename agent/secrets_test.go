package agent_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// A secret of the request (here a 6-digit code, the TOTP mode's) echoed by
// the server at any offset around the cut reaches no message in part: the
// agent removes it before it cuts. Three digits of it in a row would be a
// leak worth a guess.
func TestVaultErrorRemovesTheRequestsSecretsBeforeItCutsAtEveryOffset(t *testing.T) {
	t.Parallel()
	code := agent.Secret{Value: "493817", Mark: "<the code>"}
	var body atomic.Value
	srv, _ := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		answer(400, body.Load().(string))(w, r)
	})
	client := newClient(t, hcl(srv.URL))
	for _, wrap := range []func(string) string{
		func(s string) string { return s },
		func(s string) string { return `{"errors":["` + s + `"]}` },
	} {
		for offset := 0; offset <= quote.MaxLen+6; offset++ {
			body.Store(wrap(strings.Repeat("x", offset) + code.Value + strings.Repeat("y", 20)))
			_, err := client.Verify(agent.WithSecrets(ctx(t), code), testOTP)
			msg := err.Error()
			for i := 0; i+3 <= len(code.Value); i++ {
				if strings.Contains(msg, code.Value[i:i+3]) {
					t.Fatalf("offset %d: %q carries part of the code", offset, msg)
				}
			}
		}
	}
}

// A redirect's Location that echoes the OTP (in its path, where URL
// redaction does not look) is quoted without it.
func TestARedirectEchoingTheOTPIsQuotedWithoutIt(t *testing.T) {
	t.Parallel()
	for _, status := range []int{302, 307} {
		srv, _ := serveHTTP(t, withLocation(status, "https://login.example/"+strings.Repeat("p", 200)+testOTP))
		c := agent.WithSecrets(context.Background(), agent.Secret{Value: testOTP, Mark: "<the OTP>"})
		_, err := newClient(t, hcl(srv.URL)).Verify(c, testOTP)
		if err == nil || strings.Contains(err.Error(), testOTP[:8]) || strings.Contains(err.Error(), testOTP[:6]) {
			t.Errorf("%d: %v", status, err)
		}
	}
}

func TestWithSecretsAddsToTheSecretsCtxCarries(t *testing.T) {
	t.Parallel()
	c := agent.WithSecrets(context.Background(), agent.Secret{Value: "493817", Mark: "<the code>"})
	c = agent.WithSecrets(c, agent.Secret{Value: "hvs.CAESIJx7Qm9uZ3Rva2Vu", Mark: "<the token>"})
	if got, want := agent.Quote(c, "code 493817, token hvs.CAESIJx7Qm9uZ3Rva2Vu"), "code <the code>, token <the token>"; got != want {
		t.Errorf("Quote = %q, want %q", got, want)
	}
}
