package vaulttest

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// These pin what the real Vault answers on the verify path, without the
// product binary: when an e2e case fails, these say whether Vault changed.

// verify PUTs {"otp": otp} to <mount>/verify as the helper does: no token
// (with the root token a missing mount answers 404, not 403), plus header.
func verify(t *testing.T, s *Server, mount, otp string, header map[string]string) (int, map[string]any) {
	t.Helper()
	old := s.client.Transport
	s.client.Transport = headerRT{next: old, h: header}
	defer func() { s.client.Transport = old }()
	return s.Request(t, http.MethodPut, mount+"/verify", map[string]any{"otp": otp})
}

type headerRT struct {
	next http.RoundTripper
	h    map[string]string
}

func (rt headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Del("X-Vault-Token")
	for k, v := range rt.h {
		r.Header.Set(k, v)
	}
	return rt.next.RoundTrip(r)
}

func errorsOf(out map[string]any) []any {
	e, _ := out["errors"].([]any)
	return e
}

func TestVaultVerifyAnswers(t *testing.T) {
	s := Start(t)
	s.CreateOTPRole(t, "ssh", "otp", "alice", "0.0.0.0/0")
	otp := s.IssueOTP(t, "ssh", "otp", "alice", "127.0.0.1")

	code, out := verify(t, s, "ssh", otp, nil)
	data, _ := out["data"].(map[string]any)
	if code != 200 || data["username"] != "alice" || data["ip"] != "127.0.0.1" || data["role_name"] != "otp" {
		t.Fatalf("fresh OTP: status %d, data %v", code, data)
	}
	for name, o := range map[string]string{"replay": otp, "random UUID": "6c1a8e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "empty": ""} {
		code, out := verify(t, s, "ssh", o, nil)
		if e := errorsOf(out); code != 400 || len(e) != 1 || e[0] != "OTP not found" {
			t.Errorf("%s: status %d, errors %v; want 400 [OTP not found]", name, code, e)
		}
	}
	code, out = verify(t, s, "ssh", "verify-echo-request", nil)
	if data, _ := out["data"].(map[string]any); code != 200 || data["message"] != "verify-echo-response" {
		t.Errorf("echo: status %d, body %v", code, out)
	}
	code, out = verify(t, s, "no-such-mount", "verify-echo-request", nil)
	if e := errorsOf(out); code != 403 || len(e) != 1 || e[0] != "permission denied" {
		t.Errorf("missing mount: status %d, errors %v; want 403 [permission denied]", code, e)
	}
	otp = s.IssueOTP(t, "ssh", "otp", "alice", "127.0.0.1")
	if code, out := verify(t, s, "ssh", otp, map[string]string{"X-Vault-Namespace": "team-a/"}); code != 200 {
		t.Errorf("open-source Vault with X-Vault-Namespace: status %d, errors %v; want 200 (header ignored)", code, errorsOf(out))
	}
}

func TestSealedAndStoppedVault(t *testing.T) {
	s := Start(t)
	s.Seal(t)
	if code, out := verify(t, s, "ssh", "verify-echo-request", nil); code != 503 {
		t.Errorf("sealed: status %d, errors %v; want 503", code, errorsOf(out))
	}
	s.Stop()
	s.Stop() // idempotent
	if _, err := s.client.Get(s.Addr + "/v1/sys/health"); err == nil {
		t.Error("a stopped server still answers")
	}
}

func TestTLSServerCertificate(t *testing.T) {
	s := StartTLS(t)
	if code, _ := s.Request(t, http.MethodGet, "sys/health", nil); code != 200 {
		t.Fatalf("health over https: status %d", code)
	}
	for _, p := range []string{s.CACertFile, s.CADir} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s: %v, mode %v; want present and not group/other-writable", p, err, fi.Mode())
		}
	}
	if s.ServerName != DefaultServerName {
		t.Errorf("ServerName %q, want %q", s.ServerName, DefaultServerName)
	}
}

func TestWriteConfigIsPrivate(t *testing.T) {
	p := WriteConfig(t, "", "x = 1\n")
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want 0600", p, err, fi.Mode())
	}
}

// The TOTP set-up the e2e tests rely on, without the product binary (Vault's own answers to
// the mode's requests are pinned in e2e/totpanswers): a generated key's secret
// gives oathtool Vault's code, each policy grants what its name says, AppRole credentials log
// in, a revoked or expired token stops working.
func TestTOTPHarness(t *testing.T) {
	s := Start(t)
	m := s.EnableTOTP(t, "totp")
	key := m.GenerateKey(t, "alice")
	AwayFromPeriodEnd(key.Period, 3*time.Second)
	if OathtoolCode(t, key.Secret, key.Period, time.Now()) != m.Code(t, "alice") {
		t.Fatal("oathtool, from the secret in the otpauth URL, and Vault disagree on the current code")
	}
	for policy, want := range map[string]string{m.Validate: "[update]", m.ReadValidate: "[read update]", m.NoUpdate: "[deny]"} {
		tok := s.CreateToken(t, "1h", policy)
		st, out := s.RequestAs(t, tok, http.MethodPost, "sys/capabilities-self", map[string]any{"paths": []string{"totp/code/alice"}})
		if got := fmt.Sprint(out["totp/code/alice"]); st != 200 || got != want {
			t.Errorf("policy %s: status %d, capabilities %s, want %s", policy, st, got, want)
		}
	}
	s.EnableAppRole(t, "approle")
	role := s.CreateAppRole(t, "approle", "host", m.Validate)
	st, out := s.RequestAs(t, "", http.MethodPut, "auth/approle/login", map[string]any{"role_id": role.RoleID, "secret_id": role.SecretID})
	if auth, _ := out["auth"].(map[string]any); st != 200 || auth["client_token"] == "" {
		t.Fatalf("AppRole login: status %d, errors %v", st, out["errors"])
	}
	short := s.CreateToken(t, "1s", m.Validate)
	s.WaitTokenExpired(t, short)
	revoked := s.CreateToken(t, "1h", m.Validate)
	s.RevokeToken(t, revoked)
}

func TestAuditLogCountsRequests(t *testing.T) {
	s := Start(t)
	m := s.EnableTOTP(t, "totp")
	a := s.EnableFileAudit(t)
	m.GenerateKey(t, "alice")
	for i := 0; i < 3; i++ {
		s.Request(t, http.MethodPut, "totp/code/alice", map[string]any{"code": fmt.Sprintf("00000%d", i)})
	}
	if n := a.Requests(t, "update", "totp/code/alice"); n != 3 {
		t.Fatalf("audit log counts %d validations, want 3", n)
	}
	if n := a.Requests(t, "update", "totp/code/"); n != 3 {
		t.Fatalf("audit log counts %d validations under totp/code/, want 3", n)
	}
	if strings.Contains(a.Contents(t), s.RootToken) {
		t.Fatal("the audit log holds the token in clear")
	}
}

// TestReason: names come back as the file's texts with their arguments in
// place (the texts themselves are pinned in the product's module), and a
// name or argument count the file does not know stops the test.
func TestReason(t *testing.T) {
	if got := Reason("main.authenticated", "alice@127.0.0.1"); !strings.HasPrefix(got, "alice@127.0.0.1 ") || strings.Contains(got, "%") {
		t.Errorf("Reason(main.authenticated, alice@127.0.0.1) = %q", got)
	}
	if Reason("sshotp.ErrUsernameMismatch") == Reason("sshotp.ErrOTPNotFound") {
		t.Errorf("two reasons read as the same text %q", Reason("sshotp.ErrOTPNotFound"))
	}
	for _, bad := range []func(){
		func() { Reason("sshotp.NoSuchReason") },
		func() { Reason("sshotp.ErrUsernameMismatch", "extra") },
		func() { Reason("main.authenticated") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a mistaken Reason call did not panic")
				}
			}()
			bad()
		}()
	}
}
