package agent_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// withLocation answers status with the Location header set to loc as
// written (no Location at all when loc is empty).
func withLocation(status int, loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(status)
	}
}

// Each redirect message says what happened and where: the status, the
// target as the helper would have followed it (credentials removed), and
// after a followed 307 the target before whatever went wrong there. This
// table is the one place their full text is pinned.
func TestEveryRedirectMessageNamesWhatHappenedAndWhere(t *testing.T) {
	t.Parallel()
	const verifyPath = "/v1/ssh/verify"
	malformed := agent.ErrMalformed.Error() + ": "
	closed := "http://" + closedPort(t)
	other, otherRec := serveHTTP(t, answer(200, successBody))
	tlsTarget, tlsRec := serveTLS(t, answer(200, successBody), nil)
	second, secondRec := serveHTTP(t, redirectTo(307, other.URL))
	hanging, _ := serveHanging(t, nil)

	cases := []struct {
		name     string
		handler  http.HandlerFunc
		want     error
		detail   string // after "verify at <server>/v1/ssh/verify: "
		shortCtx bool
	}{
		{"301", redirectTo(301, other.URL), agent.ErrRedirectRefusedForTest,
			malformed + `refusing to follow a redirect Vault does not send (only 307 is followed): 301 to "` + other.URL + verifyPath + `"`, false},
		{"302", redirectTo(302, other.URL), agent.ErrRedirectRefusedForTest,
			malformed + `refusing to follow a redirect Vault does not send (only 307 is followed): 302 to "` + other.URL + verifyPath + `"`, false},
		{"303", redirectTo(303, other.URL), agent.ErrRedirectRefusedForTest,
			malformed + `refusing to follow a redirect Vault does not send (only 307 is followed): 303 to "` + other.URL + verifyPath + `"`, false},
		{"308", redirectTo(308, other.URL), agent.ErrRedirectRefusedForTest,
			malformed + `refusing to follow a redirect Vault does not send (only 307 is followed): 308 to "` + other.URL + verifyPath + `"`, false},
		{"302 relative", withLocation(302, "/login"), agent.ErrRedirectRefusedForTest,
			malformed + `refusing to follow a redirect Vault does not send (only 307 is followed): 302 to "{{self}}/login"`, false},
		{"302 without a Location", withLocation(302, ""), agent.ErrRedirectRefusedForTest,
			malformed + `refusing to follow a redirect Vault does not send (only 307 is followed): 302 without a Location`, false},
		{"302 with a password and a token in the Location", withLocation(302, "http://admin:s3cret@login.example/x?token=hvs.abc&next=/#frag"), agent.ErrRedirectRefusedForTest,
			malformed + `refusing to follow a redirect Vault does not send (only 307 is followed): 302 to "http://REDACTED@login.example/x?token=REDACTED&next=REDACTED#REDACTED"`, false},
		{"307 without a Location", withLocation(307, ""), agent.ErrBadRedirectForTest,
			malformed + `refusing a redirect without a valid target: 307 without a Location`, false},
		{"307 to something that is not a URL", withLocation(307, "http://a b/%zz"), agent.ErrBadRedirectForTest,
			malformed + `refusing a redirect without a valid target: 307 to "http://a b/%zz", which is not a URL`, false},
		{"307 to another scheme", redirectTo(307, tlsTarget.URL), agent.ErrSchemeChangeForTest,
			malformed + `refusing a redirect to another scheme: 307 from http to "` + tlsTarget.URL + verifyPath + `"`, false},
		{"307 whose target redirects again", redirectTo(307, second.URL), agent.ErrSecondRedirectForTest,
			`redirected (307) to "` + second.URL + verifyPath + `": ` + malformed +
				`refusing a second redirect (only one is followed): 307 to "` + other.URL + verifyPath + `"`, false},
		{"307 whose target refuses connections", redirectTo(307, closed), agent.ErrUnreachable,
			`redirected (307) to "` + closed + verifyPath + `": ` + agent.ErrUnreachable.Error() + `: connect: connection refused`, false},
		{"307 whose target never answers", redirectTo(307, hanging.URL), agent.ErrTimeout,
			`redirected (307) to "` + hanging.URL + verifyPath + `": timed out waiting for Vault to answer`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, c.handler)
			client := newClient(t, hcl(srv.URL))
			callCtx := ctx(t)
			if c.shortCtx {
				callCtx = shortCtx(t)
			}
			v, err := client.Verify(callCtx, testOTP)
			denies(t, v, err, c.want)
			wantMessage(t, err, srv, strings.ReplaceAll(c.detail, "{{self}}", srv.URL))
		})
	}
	t.Cleanup(func() {
		if n := otherRec.count() + tlsRec.count(); n != 0 {
			t.Errorf("a refused redirect's target received %d requests", n)
		}
		if n := secondRec.count(); n != 1 {
			t.Errorf("the 307 target received %d requests, want 1", n)
		}
	})
}

func TestARedirectsLocationIsQuotedCutWhateverItsSize(t *testing.T) {
	t.Parallel()
	for name, size := range map[string]int{"60 KB": 60_000, "5 MB": 5 << 20} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, withLocation(302, "http://login.example/"+strings.Repeat("a", size)))
			v, err := verify(t, hcl(srv.URL))
			denies(t, v, err, agent.ErrMalformed)
			if n := len(err.Error()); n > 1024 {
				t.Errorf("a %d-byte Location made a %d-byte message", size, n)
			}
		})
	}
}

func TestARedirectWithoutLocationIsNotCalledASchemeChange(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, withLocation(307, ""))
	_, err := verify(t, hcl(srv.URL))
	if errors.Is(err, agent.ErrSchemeChangeForTest) || !errors.Is(err, agent.ErrBadRedirectForTest) {
		t.Errorf("error = %v, want the bad-redirect refusal and no scheme change", err)
	}
}
