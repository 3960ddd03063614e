package agent_test

// These tests set process environment variables (t.Setenv), so none of them
// may run in parallel.

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// hostileEnvironment sets every variable vault/api or net/http would read,
// pointing at decoy (a second fake Vault) and proxy (a fake proxy).
func hostileEnvironment(t *testing.T, decoy, proxy string) {
	t.Helper()
	for name, value := range map[string]string{
		"VAULT_ADDR":              decoy,
		"VAULT_AGENT_ADDR":        decoy,
		"VAULT_TOKEN":             "hvs.not-a-real-token",
		"VAULT_NAMESPACE":         "from-env",
		"VAULT_HEADERS":           `{"X-From-Env":"yes"}`,
		"VAULT_SKIP_VERIFY":       "garbage",
		"VAULT_CACERT":            "/nonexistent/ca.pem",
		"VAULT_CAPATH":            "/nonexistent/ca.d",
		"VAULT_CLIENT_CERT":       "/nonexistent/cert.pem",
		"VAULT_CLIENT_KEY":        "/nonexistent/key.pem",
		"VAULT_TLS_SERVER_NAME":   "decoy.invalid",
		"VAULT_CLIENT_TIMEOUT":    "garbage",
		"VAULT_MAX_RETRIES":       "5",
		"VAULT_RATE_LIMIT":        "garbage",
		"VAULT_SRV_LOOKUP":        "true",
		"VAULT_DISABLE_REDIRECTS": "garbage",
		"VAULT_MFA":               "garbage",
		"VAULT_WRAP_TTL":          "5m",
		"VAULT_HTTP_PROXY":        proxy,
		"VAULT_PROXY_ADDR":        proxy,
		"HTTP_PROXY":              proxy,
		"HTTPS_PROXY":             proxy,
		"ALL_PROXY":               proxy,
		"http_proxy":              proxy,
		"https_proxy":             proxy,
		"NO_PROXY":                "",
		"no_proxy":                "",
	} {
		t.Setenv(name, value)
	}
}

// assertUntouched checks the one request the configured Vault got carries
// nothing from the environment.
func assertUntouched(t *testing.T, req seen) {
	t.Helper()
	for _, h := range []string{"X-Vault-Token", "X-Vault-Namespace", "X-From-Env", "X-Vault-Wrap-Ttl", "X-Vault-Mfa", "Authorization"} {
		if v, ok := req.Header[http.CanonicalHeaderKey(h)]; ok {
			t.Errorf("request carries %s: %q", h, v)
		}
	}
	if req.Header.Get("X-Vault-Request") != "true" {
		t.Errorf("X-Vault-Request missing: %v", req.Header)
	}
}

func TestVerifyIgnoresVaultAndProxyVariablesInTheEnvironment(t *testing.T) {
	decoy, decoyRec := serveHTTP(t, answer(200, `{"data":{"username":"root","ip":"127.0.0.1","role_name":"decoy"}}`))
	proxy, proxyRec := serveHTTP(t, answer(200, `{"data":{"username":"root","ip":"127.0.0.1","role_name":"proxy"}}`))
	srv, rec := serveHTTP(t, answer(200, successBody))
	hostileEnvironment(t, decoy.URL, proxy.URL)

	v, err := verify(t, hcl(srv.URL))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if v.RoleName != "otp_key_role" {
		t.Errorf("answer came from elsewhere: %+v", v)
	}
	assertUntouched(t, rec.only(t))
	if decoyRec.count() != 0 || proxyRec.count() != 0 {
		t.Errorf("decoy got %d, proxy got %d requests; want none", decoyRec.count(), proxyRec.count())
	}
}

func TestVerifyIgnoresVaultVariablesOverTLS(t *testing.T) {
	decoy, decoyRec := serveHTTP(t, answer(200, successBody))
	proxy, proxyRec := serveHTTP(t, answer(200, successBody))
	srv, rec := serveTLS(t, answer(200, successBody), nil)
	hostileEnvironment(t, decoy.URL, proxy.URL)

	if _, err := verify(t, hcl(srv.URL, `ca_cert = "`+serverCAFile(t, srv)+`"`)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	assertUntouched(t, rec.only(t))
	if decoyRec.count() != 0 || proxyRec.count() != 0 {
		t.Errorf("decoy got %d, proxy got %d requests; want none", decoyRec.count(), proxyRec.count())
	}
}

func TestNewIgnoresAMalformedVaultHeadersVariable(t *testing.T) {
	srv, rec := serveHTTP(t, answer(200, successBody))
	for _, value := range []string{`{not json`, `{"X-Vault-Token":"forbidden"}`, `["a"]`} {
		t.Setenv("VAULT_HEADERS", value)
		if _, err := verify(t, hcl(srv.URL)); err != nil {
			t.Fatalf("VAULT_HEADERS=%s: Verify: %v", value, err)
		}
	}
	for _, req := range rec.requests() {
		assertUntouched(t, req)
	}
}

func TestVerifyIgnoresVaultMaxRetries(t *testing.T) {
	srv, rec := serveHTTP(t, answer(500, `{"errors":["internal error"]}`))
	t.Setenv("VAULT_MAX_RETRIES", "5")
	_, err := verify(t, hcl(srv.URL))
	vaultError(t, err)
	if n := rec.count(); n != 1 {
		t.Errorf("Vault received %d requests, want exactly 1", n)
	}
}

func TestVerifyIgnoresVaultClientTimeout(t *testing.T) {
	srv, _ := serveHanging(t, nil)
	// A one-second client timeout from the environment must not replace the
	// caller's budget (nor garbage break the client).
	for _, value := range []string{"garbage", "1ns"} {
		t.Setenv("VAULT_CLIENT_TIMEOUT", value)
		_, err := newClient(t, hcl(srv.URL)).Verify(shortCtx(t), testOTP)
		if !errors.Is(err, agent.ErrTimeout) {
			t.Fatalf("VAULT_CLIENT_TIMEOUT=%s: error = %v, want ErrTimeout", value, err)
		}
	}
}

func TestVerifyDoesNotTrustVaultSkipVerifyFromTheEnvironment(t *testing.T) {
	srv, rec := serveTLS(t, answer(200, successBody), nil)
	t.Setenv("VAULT_SKIP_VERIFY", "true")
	t.Setenv("VAULT_INSECURE", "true")
	_, err := verify(t, hcl(srv.URL))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Verify error = %v, want a certificate error", err)
	}
	if rec.count() != 0 {
		t.Errorf("server received %d requests over an unverified connection", rec.count())
	}
}

func TestVerifyDoesNotTrustVaultCACertFromTheEnvironment(t *testing.T) {
	srv, rec := serveTLS(t, answer(200, successBody), nil)
	ca := serverCAFile(t, srv)
	t.Setenv("VAULT_CACERT", ca)
	t.Setenv("VAULT_CAPATH", ca[:strings.LastIndex(ca, "/")])
	_, err := verify(t, hcl(srv.URL))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Verify error = %v, want a certificate error", err)
	}
	if rec.count() != 0 {
		t.Errorf("server received %d requests", rec.count())
	}
}
