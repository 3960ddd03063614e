package vaulttest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TOTP is Vault's TOTP secrets engine at Mount, with three policies written for it.
type TOTP struct {
	s     *Server
	Mount string
	// Validate grants `update` on <mount>/code/* only: the README's least privilege.
	Validate string
	// ReadValidate adds `read` there: the host could mint codes (-verify-only warns).
	ReadValidate string
	// NoUpdate grants `read` on <mount>/keys/* and nothing on codes: validation is refused.
	NoUpdate string
}

// EnableTOTP mounts the TOTP engine at mount and writes its policies (named after the mount).
func (s *Server) EnableTOTP(t testing.TB, mount string) *TOTP {
	t.Helper()
	s.Mount(t, mount, "totp")
	m := &TOTP{s: s, Mount: mount,
		Validate:     mount + "-validate",
		ReadValidate: mount + "-read-validate",
		NoUpdate:     mount + "-no-update",
	}
	s.WritePolicy(t, m.Validate, fmt.Sprintf("path %q {\n  capabilities = [\"update\"]\n}\n", mount+"/code/*"))
	s.WritePolicy(t, m.ReadValidate, fmt.Sprintf("path %q {\n  capabilities = [\"read\", \"update\"]\n}\n", mount+"/code/*"))
	s.WritePolicy(t, m.NoUpdate, fmt.Sprintf("path %q {\n  capabilities = [\"read\"]\n}\n", mount+"/keys/*"))
	return m
}

// TOTPKey is a key Vault holds for one user.
type TOTPKey struct {
	Name string
	// URL is the otpauth:// URL Vault returned (generated keys only).
	URL string
	// Secret is the base32 shared secret, as an authenticator app holds it.
	Secret string
	Period int
}

// GenerateKey has Vault generate a key named name (issuer "vsh-test", account name = name)
// and returns it with the secret taken from the otpauth URL, as a phone would scan it.
func (m *TOTP) GenerateKey(t testing.TB, name string) TOTPKey {
	t.Helper()
	data := m.s.Write(t, m.Mount+"/keys/"+name, map[string]any{
		"generate": true, "issuer": "vsh-test", "account_name": name, "qr_size": 0,
	})
	raw, _ := data["url"].(string)
	secret, period := otpauthSecret(t, raw)
	return TOTPKey{Name: name, URL: raw, Secret: secret, Period: period}
}

// otpauthSecret returns the secret and period (30 when absent) of an otpauth URL.
func otpauthSecret(t testing.TB, raw string) (string, int) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("vaulttest: %q is not an otpauth://totp/ URL", raw)
	}
	secret := u.Query().Get("secret")
	if secret == "" {
		t.Fatal("vaulttest: otpauth URL without a secret")
	}
	period := 30
	if p := u.Query().Get("period"); p != "" {
		if _, err := fmt.Sscan(p, &period); err != nil || period <= 0 {
			t.Fatalf("vaulttest: otpauth URL with period %q", p)
		}
	}
	return secret, period
}

// ImportKey stores a key Vault did not generate (generate=false): params hold "key" (base32)
// or "url" (otpauth), and optionally period, skew, digits, algorithm.
func (m *TOTP) ImportKey(t testing.TB, name string, params map[string]any) {
	t.Helper()
	body := map[string]any{"generate": false}
	for k, v := range params {
		body[k] = v
	}
	m.s.Write(t, m.Mount+"/keys/"+name, body)
}

// KeyInfo reads <mount>/keys/<name> (period, digits, algorithm, issuer, account_name).
func (m *TOTP) KeyInfo(t testing.TB, name string) map[string]any {
	t.Helper()
	code, out := m.s.Request(t, http.MethodGet, m.Mount+"/keys/"+name, nil)
	if code != http.StatusOK {
		t.Fatalf("vaulttest: read %s/keys/%s: status %d, errors %v", m.Mount, name, code, out["errors"])
	}
	data, _ := out["data"].(map[string]any)
	return data
}

// Code asks Vault for the current code of key name (GET <mount>/code/<name>).
func (m *TOTP) Code(t testing.TB, name string) string {
	t.Helper()
	code, out := m.s.Request(t, http.MethodGet, m.Mount+"/code/"+name, nil)
	data, _ := out["data"].(map[string]any)
	c, _ := data["code"].(string)
	if code != http.StatusOK || c == "" {
		t.Fatalf("vaulttest: GET %s/code/%s: status %d, errors %v", m.Mount, name, code, out["errors"])
	}
	return c
}

// WritePolicy writes an ACL policy.
func (s *Server) WritePolicy(t testing.TB, name, hcl string) {
	t.Helper()
	s.Write(t, "sys/policies/acl/"+name, map[string]any{"policy": hcl})
}

// CreateToken creates a token with policies (besides "default") living ttl (a Vault
// duration such as "1h" or "2s").
func (s *Server) CreateToken(t testing.TB, ttl string, policies ...string) string {
	t.Helper()
	code, out := s.Request(t, http.MethodPost, "auth/token/create", map[string]any{
		"policies": policies, "ttl": ttl, "explicit_max_ttl": ttl, "renewable": false,
	})
	auth, _ := out["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if code != http.StatusOK || tok == "" {
		t.Fatalf("vaulttest: create token: status %d, errors %v", code, out["errors"])
	}
	return tok
}

// RevokeToken revokes token (and its children).
func (s *Server) RevokeToken(t testing.TB, token string) {
	t.Helper()
	s.Write(t, "auth/token/revoke", map[string]any{"token": token})
	if s.TokenWorks(t, token) {
		t.Fatal("vaulttest: a revoked token still looks itself up")
	}
}

// TokenWorks reports whether token can look itself up.
func (s *Server) TokenWorks(t testing.TB, token string) bool {
	t.Helper()
	code, _ := s.RequestAs(t, token, http.MethodGet, "auth/token/lookup-self", nil)
	return code == http.StatusOK
}

// WaitTokenExpired waits (20 s at most) until token no longer works because its TTL ran out.
func (s *Server) WaitTokenExpired(t testing.TB, token string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); s.TokenWorks(t, token); {
		if time.Now().After(deadline) {
			t.Fatal("vaulttest: the short-lived token still works after 20 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// AppRole is one role's credentials, as a host would hold them.
type AppRole struct {
	Mount, Role, RoleID, SecretID string
}

// EnableAppRole enables the AppRole auth method at mount ("approle" by default in the helper).
func (s *Server) EnableAppRole(t testing.TB, mount string) {
	t.Helper()
	s.Write(t, "sys/auth/"+mount, map[string]any{"type": "approle"})
}

// CreateAppRole creates role under an AppRole mount with token policies, and returns its
// role_id and a fresh secret_id.
func (s *Server) CreateAppRole(t testing.TB, mount, role string, policies ...string) AppRole {
	t.Helper()
	base := "auth/" + mount + "/role/" + role
	s.Write(t, base, map[string]any{"token_policies": policies, "token_ttl": "5m", "secret_id_ttl": "1h"})
	code, out := s.Request(t, http.MethodGet, base+"/role-id", nil)
	data, _ := out["data"].(map[string]any)
	roleID, _ := data["role_id"].(string)
	if code != http.StatusOK || roleID == "" {
		t.Fatalf("vaulttest: read %s/role-id: status %d, errors %v", base, code, out["errors"])
	}
	secretID, _ := s.Write(t, base+"/secret-id", nil)["secret_id"].(string)
	if secretID == "" {
		t.Fatalf("vaulttest: %s/secret-id answered without a secret_id", base)
	}
	return AppRole{Mount: mount, Role: role, RoleID: roleID, SecretID: secretID}
}

// WriteSecretFile writes content to dir/name, mode 0600, owned by the test's user (root under
// CI), as an operator would place a token, role_id or secret_id file; dir is created 0700
// when missing. It returns the path.
func WriteSecretFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	return p
}

// AuditLog is a file audit device: Vault's own record of every request that reached it.
type AuditLog struct {
	Path string
}

// EnableFileAudit enables a file audit device writing to a new file in a temporary directory.
// Vault writes a request's entry before it answers, so once a helper has exited, its
// requests are in the file.
func (s *Server) EnableFileAudit(t testing.TB) *AuditLog {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.log")
	s.Write(t, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": p}})
	return &AuditLog{Path: p}
}

// Requests counts the request entries for operation ("update", "read", ...) on path
// ("totp/code/alice"); a path ending in "/" counts every path under it.
func (a *AuditLog) Requests(t testing.TB, operation, path string) int {
	t.Helper()
	f, err := os.Open(a.Path)
	if err != nil {
		t.Fatalf("vaulttest: audit log: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Operation string `json:"operation"`
				Path      string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("vaulttest: audit log line is not JSON: %v", err)
		}
		under := strings.HasSuffix(path, "/") && strings.HasPrefix(e.Request.Path, path)
		if e.Type == "request" && e.Request.Operation == operation && (e.Request.Path == path || under) {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("vaulttest: audit log: %v", err)
	}
	return n
}

// Contents is the whole audit log, to check that nothing in it is a secret in clear text.
func (a *AuditLog) Contents(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatalf("vaulttest: audit log: %v", err)
	}
	return string(b)
}

// READMEBlock returns the fenced code block that follows the line `<!-- name -->` in the
// repository's README.md, so that tests run the README's own commands and lines.
func READMEBlock(t testing.TB, name string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	mark := "<!-- " + name + " -->\n"
	_, after, ok := strings.Cut(string(b), mark)
	if !ok {
		t.Fatalf("vaulttest: README.md has no %q marker", strings.TrimSpace(mark))
	}
	fence, rest, ok := strings.Cut(after, "\n")
	if !ok || !strings.HasPrefix(fence, "```") {
		t.Fatalf("vaulttest: README.md: marker %q is not followed by a fenced block", name)
	}
	body, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatalf("vaulttest: README.md: the block after %q never ends", name)
	}
	return body
}
