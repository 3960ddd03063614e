package agent_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// A secret of the request (here a 6-digit code, the TOTP mode's) echoed by
// the server at any offset around the cut reaches no message in part: the
// agent removes it before it cuts. Three digits of it in a row would be a
// leak worth a guess. The test server's address, which the message names,
// is taken out before the search: its random port may hold three digits of
// the code in a row, which says nothing about the product.
func TestVaultErrorRemovesTheRequestsSecretsBeforeItCutsAtEveryOffset(t *testing.T) {
	t.Parallel()
	code := agent.Secret{Value: "493817", Mark: "<the code>"}
	var body atomic.Value
	handler := func(w http.ResponseWriter, r *http.Request) { answer(400, body.Load().(string))(w, r) }
	random, _ := serveHTTP(t, handler)
	// A port that holds digits of the code, as a random one sometimes
	// does: the test must pass on it too.
	colliding := serveHTTPOn(t, portHolding(t, code.Value[2:5]), handler)
	for _, srv := range []*httptest.Server{random, colliding} {
		client := newClient(t, hcl(srv.URL))
		for _, wrap := range []func(string) string{
			func(s string) string { return s },
			func(s string) string { return `{"errors":["` + s + `"]}` },
		} {
			for offset := 0; offset <= quote.MaxLen+6; offset++ {
				body.Store(wrap(strings.Repeat("x", offset) + code.Value + strings.Repeat("y", 20)))
				_, err := client.Verify(agent.WithSecrets(ctx(t), code), testOTP)
				msg := withoutAddress(t, err.Error(), srv.URL)
				for i := 0; i+3 <= len(code.Value); i++ {
					if strings.Contains(msg, code.Value[i:i+3]) {
						t.Fatalf("offset %d: %q carries part of the code", offset, msg)
					}
				}
			}
		}
	}
}

// portHolding listens on a free loopback port whose number holds digits.
func portHolding(t *testing.T, digits string) net.Listener {
	t.Helper()
	for _, prefix := range []string{"", "1", "2", "3", "4", "5"} {
		for suffix := 0; suffix < 10; suffix++ {
			port := prefix + digits + strconv.Itoa(suffix)
			if n, _ := strconv.Atoi(port); n > 65535 {
				continue
			}
			if ln, err := net.Listen("tcp", "127.0.0.1:"+port); err == nil {
				t.Cleanup(func() { ln.Close() })
				return ln
			}
		}
	}
	t.Fatalf("no free loopback port holds %s", digits)
	return nil
}

// serveHTTPOn is serveHTTP on ln.
func serveHTTPOn(t *testing.T, ln net.Listener, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = quietLog
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// withoutAddress is msg with the server's address (which it must name)
// left out.
func withoutAddress(t *testing.T, msg, addr string) string {
	t.Helper()
	if !strings.Contains(msg, addr) {
		t.Fatalf("the message does not name the server %s: %q", addr, msg)
	}
	return strings.ReplaceAll(msg, addr, "<address>")
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
