// Package totpanswers pins what a real Vault v1.14.0 answers to the requests
// the TOTP mode makes: helper/totp matches these answers word for word, and
// its unit tests replay them. If Vault changes an answer, this test says
// which before a login does.
package totpanswers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/builtin/logical/totp"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
)

// tbT lets a *testing.T stand where Vault's helpers want
// go-testing-interface's T.
type tbT struct{ testing.TB }

func (tbT) Parallel() {}

type vaultAPI struct {
	t    *testing.T
	addr string
}

// start runs a real core with the TOTP engine at "totp" and AppRole at
// "approle", served over HTTP on loopback.
func start(t *testing.T) (*vaultAPI, string) {
	core, _, root := vault.TestCoreUnsealedWithConfig(tbT{t}, &vault.CoreConfig{
		LogicalBackends:    map[string]logical.Factory{"totp": totp.Factory},
		CredentialBackends: map[string]logical.Factory{"approle": approle.Factory},
	})
	ln, addr := vaulthttp.TestServer(t, core)
	t.Cleanup(func() { ln.Close() })
	v := &vaultAPI{t: t, addr: addr}
	v.ok(root, "sys/mounts/totp", map[string]any{"type": "totp"})
	v.ok(root, "sys/auth/approle", map[string]any{"type": "approle"})
	return v, root
}

// answer is the part of an answer the helper reads.
type answer struct {
	Status int
	Errors []string
	Data   map[string]any
	Auth   map[string]any
}

func (v *vaultAPI) do(method, path, token string, body any) answer {
	v.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			v.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, v.addr+"/v1/"+path, rd)
	if err != nil {
		v.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Errors []string       `json:"errors"`
		Data   map[string]any `json:"data"`
		Auth   map[string]any `json:"auth"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil {
			v.t.Fatalf("%s %s: %d, not JSON", method, path, resp.StatusCode)
		}
	}
	return answer{Status: resp.StatusCode, Errors: a.Errors, Data: a.Data, Auth: a.Auth}
}

func (v *vaultAPI) ok(token, path string, body any) answer {
	v.t.Helper()
	a := v.do(http.MethodPut, path, token, body)
	if a.Status != 200 && a.Status != 204 {
		v.t.Fatalf("PUT %s: %d %v", path, a.Status, a.Errors)
	}
	return a
}

// expect checks one answer's status and errors (nil: none) and, when
// wantData is not nil, its data.
func expect(t *testing.T, what string, got answer, status int, errs []string, wantData map[string]any) {
	t.Helper()
	if got.Status != status || !reflect.DeepEqual(got.Errors, errs) {
		t.Errorf("%s: %d %q, want %d %q", what, got.Status, got.Errors, status, errs)
	}
	if wantData != nil && !reflect.DeepEqual(got.Data, wantData) {
		t.Errorf("%s: data %v, want %v", what, got.Data, wantData)
	}
}

func (v *vaultAPI) token(root, policy string, noDefault bool) string {
	v.t.Helper()
	a := v.ok(root, "auth/token/create", map[string]any{"policies": []string{policy}, "no_default_policy": noDefault})
	tok, _ := a.Auth["client_token"].(string)
	if tok == "" {
		v.t.Fatal("auth/token/create gave no token")
	}
	return tok
}

func TestCodeAnswers(t *testing.T) {
	v, root := start(t)
	v.ok(root, "totp/keys/alice", map[string]any{"generate": true, "issuer": "Vault", "account_name": "alice"})
	v.ok(root, "totp/keys/a@b.c", map[string]any{"generate": true, "issuer": "Vault", "account_name": "a"})
	code, _ := v.do(http.MethodGet, "totp/code/alice", root, nil).Data["code"].(string)
	if len(code) != 6 {
		t.Fatalf("generated code %q", code)
	}
	put := func(key, code string) answer {
		return v.do(http.MethodPut, "totp/code/"+key, root, map[string]any{"code": code})
	}
	used := []string{"code already used; wait until the next time period"}
	expect(t, "a fresh code", put("alice", code), 200, nil, map[string]any{"valid": true})
	expect(t, "the same code again", put("alice", code), 400, used, nil)
	// CVE-2025-6014: v1.14.0 takes the used code again with white space added.
	expect(t, "the used code with a leading space", put("alice", " "+code), 200, nil, map[string]any{"valid": true})
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	expect(t, "a wrong code", put("alice", wrong), 200, nil, map[string]any{"valid": false})
	expect(t, "the same wrong code again", put("alice", wrong), 400, used, nil)
	expect(t, "seven digits", put("alice", "1234567"), 200, nil, map[string]any{"valid": false})
	expect(t, "an empty code", put("alice", ""), 400, []string{"the code value is required"}, nil)
	expect(t, "an unknown key", put("nobody", "123456"), 400, []string{"unknown key: nobody"}, nil)
	expect(t, "an empty code for an unknown key", put("nobody", ""), 400, []string{"the code value is required"}, nil)
	expect(t, "a key name with '@'", put("a@b.c", "123456"), 200, nil, map[string]any{"valid": false})
	expect(t, "a key name starting with '-'", put("-x", "123456"), 404, []string{"1 error occurred:\n\t* unsupported path\n\n"}, nil)
	expect(t, "a mount that does not exist", v.do(http.MethodPut, "nomount/code/alice", root, map[string]any{"code": "123456"}),
		404, []string{`no handler for route "nomount/code/alice". route entry not found.`}, nil)
}

func TestTokenAndCapabilityAnswers(t *testing.T) {
	v, root := start(t)
	v.ok(root, "totp/keys/alice", map[string]any{"generate": true, "issuer": "Vault", "account_name": "alice"})
	v.ok(root, "sys/policies/acl/update", map[string]any{"policy": `path "totp/code/*" { capabilities = ["update"] }`})
	v.ok(root, "sys/policies/acl/read", map[string]any{"policy": `path "totp/code/*" { capabilities = ["read", "update"] }`})
	update, read := v.token(root, "update", false), v.token(root, "read", false)
	plain, bare := v.token(root, "default", false), v.token(root, "update", true)

	caps := func(token string) answer {
		return v.do(http.MethodPut, "sys/capabilities-self", token, map[string]any{"paths": "totp/code/probe"})
	}
	expect(t, "capabilities with update", caps(update), 200, nil, map[string]any{"capabilities": []any{"update"}, "totp/code/probe": []any{"update"}})
	expect(t, "capabilities with read", caps(read), 200, nil, map[string]any{"capabilities": []any{"read", "update"}, "totp/code/probe": []any{"read", "update"}})
	expect(t, "capabilities with the default policy", caps(plain), 200, nil, map[string]any{"capabilities": []any{"deny"}, "totp/code/probe": []any{"deny"}})
	expect(t, "capabilities of root", caps(root), 200, nil, map[string]any{"capabilities": []any{"root"}, "totp/code/probe": []any{"root"}})
	denied := []string{"permission denied"}
	deniedByPolicy := []string{"1 error occurred:\n\t* permission denied\n\n"}
	expect(t, "capabilities without the default policy", caps(bare), 403, deniedByPolicy, nil)
	expect(t, "capabilities with an unknown token", caps("hvs.bogus"), 403, denied, nil)

	code := func(token, c string) answer {
		return v.do(http.MethodPut, "totp/code/alice", token, map[string]any{"code": c})
	}
	expect(t, "an empty code with update", code(update, ""), 400, []string{"the code value is required"}, nil)
	expect(t, "a code without update", code(plain, "123456"), 403, deniedByPolicy, nil)
	expect(t, "a code with an unknown token", code("hvs.bogus", "123456"), 403, denied, nil)
	v.ok(update, "auth/token/revoke-self", nil)
	expect(t, "a code with a revoked token", code(update, "123456"), 403, denied, nil)
}

func TestAppRoleLoginAnswers(t *testing.T) {
	v, root := start(t)
	v.ok(root, "sys/policies/acl/update", map[string]any{"policy": `path "totp/code/*" { capabilities = ["update"] }`})
	v.ok(root, "auth/approle/role/host", map[string]any{"token_policies": "update", "token_ttl": "1m"})
	roleID, _ := v.do(http.MethodGet, "auth/approle/role/host/role-id", root, nil).Data["role_id"].(string)
	secretID, _ := v.ok(root, "auth/approle/role/host/secret-id", nil).Data["secret_id"].(string)
	login := func(mount, role, secret string) answer {
		return v.do(http.MethodPut, "auth/"+mount+"/login", "", map[string]any{"role_id": role, "secret_id": secret})
	}
	a := login("approle", roleID, secretID)
	if a.Status != 200 || a.Data != nil {
		t.Errorf("login: %d, data %v", a.Status, a.Data)
	}
	if tok, _ := a.Auth["client_token"].(string); tok == "" || !reflect.DeepEqual(a.Auth["policies"], []any{"default", "update"}) {
		t.Errorf("login auth = %v", a.Auth)
	}
	expect(t, "a wrong secret_id", login("approle", roleID, "wrong"), 500, []string{"invalid secret id"}, nil)
	expect(t, "a wrong role_id", login("approle", "wrong", secretID), 400, []string{"invalid role ID"}, nil)
	expect(t, "an auth mount that does not exist", login("nomount", roleID, secretID), 403, []string{"permission denied"}, nil)
}
