// Regression tests for bugs found in review: each failed before its fix.
package agent_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// activeVault answers like Vault's ssh engine: the OTP it knows verifies,
// anything else (including a missing otp) is "OTP not found".
func activeVault(w http.ResponseWriter, r *http.Request) {
	var body struct {
		OTP *string `json:"otp"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.OTP == nil || *body.OTP != testOTP {
		answer(400, `{"errors":["OTP not found"]}`)(w, r)
		return
	}
	answer(200, successBody)(w, r)
}

// BUG 1: after a 307, vault/api re-sends the body with ResetJSONBody, which
// re-encodes Request.Obj; WriteRawWithContext only set BodyBytes, so the
// redirected PUT carried the body "null" and Vault answered "OTP not found".
// Every login through a redirecting standby was denied.
func TestRegressionRedirectedVerifyCarriesTheOTP(t *testing.T) {
	active, activeRec := serveHTTP(t, activeVault)
	standby, _ := serveHTTP(t, redirectTo(307, active.URL))
	v, err := verify(t, hcl(standby.URL))
	if err != nil {
		t.Errorf("Verify through a 307 redirect: %v", err)
	}
	if v.Username != "ubuntu" {
		t.Errorf("Verify = %+v", v)
	}
	if got, want := string(activeRec.only(t).Body), fmt.Sprintf(`{"otp":%q}`, testOTP); got != want {
		t.Errorf("redirected body = %s, want %s", got, want)
	}
}

func TestRegressionRedirectedEchoCarriesTheEchoRequest(t *testing.T) {
	active, activeRec := serveHTTP(t, answer(200, `{"data":{"message":"verify-echo-response"}}`))
	standby, _ := serveHTTP(t, redirectTo(307, active.URL))
	if err := newClient(t, hcl(standby.URL)).Echo(ctx(t)); err != nil {
		t.Errorf("Echo through a redirect: %v", err)
	}
	if got := string(activeRec.only(t).Body); got != `{"otp":"verify-echo-request"}` {
		t.Errorf("redirected body = %s", got)
	}
}

// BUG 2: vault/api itself refuses an https→http redirect ("redirect would
// cause protocol downgrade") before the agent's guard sees the request; put
// then ignores that error because the response (the 307) is not nil, and
// reports "Vault answered 307" — the operator never learns of the downgrade.
func TestRegressionRedirectFromHTTPSToHTTPIsReportedAsASchemeChange(t *testing.T) {
	target, _ := serveHTTP(t, answer(200, successBody))
	srv, _ := serveTLS(t, redirectTo(307, target.URL), nil)
	_, err := verify(t, hcl(srv.URL, `ca_cert = "`+serverCAFile(t, srv)+`"`))
	if !errors.Is(err, agent.ErrMalformed) {
		t.Errorf("error = %v, want ErrMalformed (refused scheme change)", err)
	}
	var ve *agent.VaultError
	if errors.As(err, &ve) {
		t.Errorf("a refused downgrade reads as %v", ve)
	}
	if want := "verify at " + srv.URL + "/v1/ssh/verify: " + agent.ErrMalformed.Error() + ": refusing a redirect to another scheme"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v\nwant it to start %s", err, want)
	}
}

// BUG 3: on a non-2xx status put decodes whatever is left of the body and
// drops the transport error: an error body over 64 KiB comes back as
// VaultError{500, []} ("Vault answered 500") instead of ErrMalformed with
// "answer larger than 65536 bytes".
func TestRegressionOversizedErrorBodyIsMalformed(t *testing.T) {
	for _, status := range []int{400, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv, _ := serveHTTP(t, answer(status, `{"errors":["`+strings.Repeat("e", 70000)+`"]}`))
			_, err := verify(t, hcl(srv.URL))
			if !errors.Is(err, agent.ErrMalformed) || !errors.Is(err, agent.ErrBodyTooLargeForTest) {
				t.Errorf("error = %v, want ErrMalformed: answer too large", err)
			}
			wantMessage(t, err, srv, agent.ErrMalformed.Error()+": answer larger than 65536 bytes")
		})
	}
}

// BUG 4: decodeBody once checked trailing data with json.Decoder.More, which
// is false when the next byte is '}' or ']': `{...}}` and `{...}]` were
// accepted as a valid verify answer. json.Valid now refuses them first.
func TestRegressionTrailingCloseBracketAfterTheAnswerIsMalformed(t *testing.T) {
	for _, tail := range []string{"}", "]", " ]]]"} {
		t.Run(tail, func(t *testing.T) {
			srv, _ := serveHTTP(t, answer(200, successBody+tail))
			v, err := verify(t, hcl(srv.URL))
			if !errors.Is(err, agent.ErrMalformed) {
				t.Errorf("body + %q: Verify = %+v, %v; want ErrMalformed", tail, v, err)
			}
		})
	}
}
