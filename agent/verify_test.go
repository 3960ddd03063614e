package agent_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

func TestVerifyReturnsVaultsUsernameIPAndRole(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(200, successBody))
	v, err := verify(t, hcl(srv.URL))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := sshotp.Verified{Username: "ubuntu", IP: netip.MustParseAddr("127.0.0.1"), RoleName: "otp_key_role"}
	if v != want {
		t.Errorf("Verify = %+v, want %+v", v, want)
	}
}

func TestVerifyParsesAnIPv6Address(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(200, `{"data":{"username":"alice","ip":"2001:db8::7","role_name":"r6"}}`))
	v, err := verify(t, hcl(srv.URL))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if v.IP != netip.MustParseAddr("2001:db8::7") || v.Username != "alice" || v.RoleName != "r6" {
		t.Errorf("Verify = %+v", v)
	}
}

func TestVerifyAcceptsAnEmptyRoleNameForTheHelperToJudge(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(200, `{"data":{"username":"alice","ip":"10.0.0.1","role_name":""}}`))
	v, err := verify(t, hcl(srv.URL))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if v.RoleName != "" || v.Username != "alice" {
		t.Errorf("Verify = %+v", v)
	}
}

func TestVerifyPutsTheOTPAsJSONToTheVerifyPathWithoutAToken(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, answer(200, successBody))
	if _, err := verify(t, hcl(srv.URL)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	req := rec.only(t)
	if req.Method != "PUT" {
		t.Errorf("method = %s, want PUT", req.Method)
	}
	if req.Path != "/v1/ssh/verify" {
		t.Errorf("path = %s, want /v1/ssh/verify", req.Path)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("request body %q is not JSON: %v", req.Body, err)
	}
	if len(body) != 1 || body["otp"] != testOTP {
		t.Errorf("request body = %s, want exactly {\"otp\": %q}", req.Body, testOTP)
	}
	if got := req.Header.Get("X-Vault-Request"); got != "true" {
		t.Errorf("X-Vault-Request = %q, want true", got)
	}
	for _, h := range []string{"X-Vault-Token", "Authorization", "X-Vault-Namespace", "X-Vault-Wrap-Ttl", "X-Vault-Policy-Override"} {
		if v, ok := req.Header[h]; ok {
			t.Errorf("request carries %s: %q", h, v)
		}
	}
}

func TestVerifySendsTheOTPVerbatimEvenWithCharactersJSONEscapes(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, answer(200, successBody))
	otp := "a\"b\\c<d>&e\u2028f é"
	if _, err := newClient(t, hcl(srv.URL)).Verify(ctx(t), otp); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	var body struct{ OTP string }
	if err := json.Unmarshal(rec.only(t).Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.OTP != otp {
		t.Errorf("Vault decoded otp %q, want %q", body.OTP, otp)
	}
}

func TestVerifySendsTheNamespaceHeaderOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, answer(200, successBody))
	if _, err := verify(t, hcl(srv.URL, `namespace = "team-a/child"`)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	req := rec.only(t)
	if got := req.Header.Values("X-Vault-Namespace"); len(got) != 1 || got[0] != "team-a/child" {
		t.Errorf("X-Vault-Namespace = %q, want [team-a/child]", got)
	}
	// The namespace is a header, never a path prefix.
	if req.Path != "/v1/ssh/verify" {
		t.Errorf("path = %s, want /v1/ssh/verify", req.Path)
	}
}

func TestVerifyUsesTheConfiguredMountPoint(t *testing.T) {
	t.Parallel()
	cases := []struct{ mount, path string }{
		{"ssh-otp", "/v1/ssh-otp/verify"},
		{"a/b", "/v1/a/b/verify"},
		{"/team/ssh/", "/v1/team/ssh/verify"},
		{"deep/er/mount", "/v1/deep/er/mount/verify"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.mount, "/", "_"), func(t *testing.T) {
			t.Parallel()
			srv, rec := serveHTTP(t, answer(200, successBody))
			if _, err := verify(t, hcl(srv.URL, `ssh_mount_point = "`+c.mount+`"`)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got := rec.only(t).Path; got != c.path {
				t.Errorf("mount %q: path = %s, want %s", c.mount, got, c.path)
			}
		})
	}
}

func TestVerifyKeepsAPathPrefixOfVaultAddr(t *testing.T) {
	t.Parallel()
	// A Vault behind a reverse proxy under /vault: vault/api keeps the prefix.
	srv, rec := serveHTTP(t, answer(200, successBody))
	if _, err := verify(t, hcl(srv.URL+"/vault")); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := rec.only(t).Path; got != "/vault/v1/ssh/verify" {
		t.Errorf("path = %s, want /vault/v1/ssh/verify", got)
	}
}

// vault/api cleans the joined path, as the original's requests had it: a
// Vault would answer an unclean one with a 301, which the guard refuses.
func TestVerifyCleansThePathOfVaultAddr(t *testing.T) {
	t.Parallel()
	for prefix, want := range map[string]string{
		"//": "/v1/ssh/verify", "/./": "/v1/ssh/verify", "/x/..": "/v1/ssh/verify", "/vault//": "/vault/v1/ssh/verify",
	} {
		srv, rec := serveHTTP(t, answer(200, successBody))
		if _, err := verify(t, hcl(srv.URL+prefix)); err != nil {
			t.Fatalf("Verify at %s: %v", prefix, err)
		}
		if got := rec.only(t).Path; got != want {
			t.Errorf("vault_addr path %q: request path = %s, want %s", prefix, got, want)
		}
	}
}

func TestVerifyAcceptsAnySuccessStatus(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(201, successBody))
	if _, err := verify(t, hcl(srv.URL)); err != nil {
		t.Fatalf("Verify with 201: %v", err)
	}
}

func TestClientVerifiesTwiceOnOneConnection(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, answer(200, successBody))
	c := newClient(t, hcl(srv.URL))
	for i := range 2 {
		if _, err := c.Verify(ctx(t), testOTP); err != nil {
			t.Fatalf("Verify #%d: %v", i+1, err)
		}
	}
	if n := rec.count(); n != 2 {
		t.Errorf("Vault received %d requests, want 2", n)
	}
}
