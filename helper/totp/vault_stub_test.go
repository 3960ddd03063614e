package totp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// The answers below are Vault v1.14.0's own, word for word; the test in
// e2e/totpanswers pins them against the real engine. Unit
// tests replay them so that every branch runs in milliseconds; the real
// Vault end-to-end tests run the binary against the engine itself.
const (
	fileToken    = "hvs.file-token-0123456789"
	approleToken = "hvs.approle-token-9876543210"
	roleID       = "5ebabd19-63d3-36bb-af4d-0047ced3bcd6"
	secretID     = "30ad4838-8230-737c-4c39-87c639197a41"
	goodCode     = "492039"
)

// request is what the stub saw of one request.
type request struct {
	Method, Path, Token string
	Body                map[string]string
	// Raw is the body as sent (a KV v2 write is not flat strings).
	Raw []byte
}

// stubVault answers as the TOTP engine, the AppRole login and
// sys/capabilities-self do.
type stubVault struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []request
	used     map[string]bool
	// keys have goodCode as their valid code.
	keys map[string]bool
	// caps are the token's capabilities on every path.
	caps []string
	// fault, when set, answers every request instead.
	fault func(w http.ResponseWriter, r request)
	// kv is a KV v2 mount at kv/: path under kv/data/ to its versions'
	// data (the last is current).
	kv map[string][]json.RawMessage
}

func newStubVault(t *testing.T) *stubVault {
	s := &stubVault{t: t, used: map[string]bool{}, keys: map[string]bool{"alice": true, "ssh-alice": true}, caps: []string{"update"}, kv: map[string][]json.RawMessage{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stubVault) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := request{Method: r.Method, Path: r.URL.Path, Token: r.Header.Get("X-Vault-Token"), Body: map[string]string{}, Raw: raw}
	if len(raw) > 0 && !strings.HasPrefix(r.URL.Path, "/v1/kv/") {
		if err := json.Unmarshal(raw, &req.Body); err != nil {
			s.t.Errorf("request body %q is not a JSON object of strings", raw)
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	fault := s.fault
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if fault != nil {
		fault(w, req)
		return
	}
	status, body := s.answer(req)
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (s *stubVault) answer(req request) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case req.Path == "/v1/auth/approle/login":
		if req.Token != "" {
			s.t.Errorf("the AppRole login carried a token")
		}
		if req.Body["role_id"] != roleID {
			return 400, `{"errors":["invalid role ID"]}`
		}
		if req.Body["secret_id"] != secretID {
			return 500, `{"errors":["invalid secret id"]}`
		}
		return 200, `{"request_id":"7a","data":null,"auth":{"client_token":"` + approleToken + `","policies":["default","totp-host"]}}`
	case req.Token != fileToken && req.Token != approleToken:
		return 403, `{"errors":["permission denied"]}`
	case req.Path == "/v1/sys/capabilities-self":
		caps, _ := json.Marshal(s.caps)
		return 200, fmt.Sprintf(`{"%s":%s,"capabilities":%s,"data":{"capabilities":%s,"%s":%s}}`,
			req.Body["paths"], caps, caps, caps, req.Body["paths"], caps)
	case strings.HasPrefix(req.Path, "/v1/totp/code/"):
		return s.validate(strings.TrimPrefix(req.Path, "/v1/totp/code/"), req.Body["code"])
	case strings.HasPrefix(req.Path, "/v1/kv/data/"):
		return s.kvv2(req)
	}
	return 404, `{"errors":["no handler for route \"` + strings.TrimPrefix(req.Path, "/v1/") + `\". route entry not found."]}`
}

// validate is path_code.go's order: empty code, unknown key, used code,
// then the check, remembering every code it checks.
func (s *stubVault) validate(key, code string) (int, string) {
	switch {
	case code == "":
		return 400, `{"errors":["the code value is required"]}`
	case !s.keys[key]:
		return 400, `{"errors":["unknown key: ` + key + `"]}`
	case s.used[key+"_"+code]:
		return 400, `{"errors":["code already used; wait until the next time period"]}`
	}
	s.used[key+"_"+code] = true
	return 200, fmt.Sprintf(`{"data":{"valid":%v}}`, code == goodCode)
}

// kvv2 is KV v2's read and check-and-set write, as Vault v1.14.0 answers
// them (404 with no message for a missing record).
func (s *stubVault) kvv2(req request) (int, string) {
	path := strings.TrimPrefix(req.Path, "/v1/kv/data/")
	versions := s.kv[path]
	switch req.Method {
	case http.MethodGet:
		if len(versions) == 0 {
			return 404, `{"errors":[]}`
		}
		return 200, fmt.Sprintf(`{"request_id":"1","data":{"data":%s,"metadata":{"created_time":"x","version":%d}}}`, versions[len(versions)-1], len(versions))
	case http.MethodPut, http.MethodPost:
		var w struct {
			Options struct {
				CAS *int `json:"cas"`
			} `json:"options"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(req.Raw, &w); err != nil || w.Options.CAS == nil {
			s.t.Errorf("KV write %q is not a check-and-set write", req.Raw)
			return 400, `{"errors":["bad write"]}`
		}
		if *w.Options.CAS != len(versions) {
			return 400, `{"errors":["check-and-set parameter did not match the current version"]}`
		}
		s.kv[path] = append(versions, w.Data)
		return 200, fmt.Sprintf(`{"data":{"version":%d}}`, len(versions)+1)
	}
	return 405, `{"errors":["unsupported operation"]}`
}

func (s *stubVault) seen() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

func (s *stubVault) setFault(f func(w http.ResponseWriter, r request)) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// stateFile is user's state file in m's state_dir (ratelimit's name for it).
func stateFile(m *Mode, user string) string {
	sum := sha256.Sum256([]byte(user))
	return filepath.Join(m.cfg.StateDir, "totp-"+hex.EncodeToString(sum[:]))
}

// readState is user's state file, empty when there is none.
func readState(t *testing.T, m *Mode, user string) string {
	t.Helper()
	data, err := os.ReadFile(stateFile(m, user))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(data)
}

// failures counts the failures user's state file holds.
func failures(t *testing.T, m *Mode, user string) int {
	head, _, _ := strings.Cut(readState(t, m, user), "\n")
	return len(strings.Fields(head))
}

// recordedHere reports whether user's state file holds an accepted code.
func recordedHere(t *testing.T, m *Mode, user string) bool {
	return strings.Contains(readState(t, m, user), "used ")
}

// writeState replaces user's state file with content, in a state_dir the
// limiter made.
func writeState(t *testing.T, m *Mode, user, content string) {
	t.Helper()
	if _, err := m.openLimiter(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stateFile(m, user), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// setFailures gives user n failures made at m.Now().
func setFailures(t *testing.T, m *Mode, user string, n int) {
	t.Helper()
	stamp := strconv.FormatInt(m.Now().Unix(), 10)
	writeState(t, m, user, strings.TrimSpace(strings.Repeat(stamp+" ", n))+"\n")
}

// testMode is a TOTP mode against stub with a token file, or with AppRole
// when approle is set, and a fresh state_dir of its own.
func testMode(t *testing.T, stub *stubVault, approle bool, edit ...func(*Settings)) *Mode {
	t.Helper()
	addr, err := url.Parse(stub.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := &Settings{
		MountPoint: "totp", MaxFailures: 3, FailureWindow: 30 * time.Second, StateDir: filepath.Join(t.TempDir(), "state"), CodeLifetime: 5 * time.Minute,
		TokenFile: "/etc/vault-ssh-helper.d/token", Token: NewSecret(fileToken),
	}
	if approle {
		c.TokenFile, c.Token = "", Secret{}
		c.AppRole = &AppRole{MountPoint: "approle", RoleID: NewSecret(roleID), SecretID: NewSecret(secretID)}
	}
	for _, e := range edit {
		e(c)
	}
	cfg := &config.Config{VaultAddrs: []*url.URL{addr}, Timeout: 10 * time.Second, Dev: true}
	client, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return New(c, client)
}
