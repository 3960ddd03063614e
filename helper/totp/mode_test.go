package totp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
)

func login(m *Mode, code, user string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := m.Login(ctx, code, user)
	return r.Who, err
}

func TestValidCodeLogsInWithTheFileToken(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, false)
	setFailures(t, m, "alice", 2)
	who, err := login(m, goodCode, "alice")
	if err != nil || who != `alice (TOTP key "alice")` {
		t.Fatalf("Login = %q, %v", who, err)
	}
	reqs := stub.seen()
	want := request{Method: "PUT", Path: "/v1/totp/code/alice", Token: fileToken, Body: map[string]string{"code": goodCode}}
	if len(reqs) != 1 || !sameRequest(reqs[0], want) {
		t.Errorf("requests = %+v, want only %+v", reqs, want)
	}
	if n := failures(t, m, "alice"); n != 0 {
		t.Errorf("a valid code left %d failures", n)
	}
}

func TestValidCodeLogsInWithAnAppRoleLoginEachRun(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, true, func(c *Settings) { c.KeyTemplate = KeyTemplate{Prefix: "ssh-"} })
	who, err := login(m, goodCode, "alice")
	if err != nil || who != `alice (TOTP key "ssh-alice")` {
		t.Fatalf("Login = %q, %v", who, err)
	}
	reqs := stub.seen()
	wantLogin := request{Method: "PUT", Path: "/v1/auth/approle/login", Body: map[string]string{"role_id": roleID, "secret_id": secretID}}
	wantCode := request{Method: "PUT", Path: "/v1/totp/code/ssh-alice", Token: approleToken, Body: map[string]string{"code": goodCode}}
	if len(reqs) != 2 || !sameRequest(reqs[0], wantLogin) || !sameRequest(reqs[1], wantCode) {
		t.Errorf("requests = %+v", reqs)
	}
}

func sameRequest(a, b request) bool {
	if a.Method != b.Method || a.Path != b.Path || a.Token != b.Token || len(a.Body) != len(b.Body) {
		return false
	}
	for k, v := range b.Body {
		if a.Body[k] != v {
			return false
		}
	}
	return true
}

// TestLoginDenials pins the full text of every denial Vault's answers lead
// to; $URL stands for the stub's address.
func TestLoginDenials(t *testing.T) {
	cases := []struct {
		name    string
		approle bool
		prepare func(*stubVault, *Mode)
		code    string
		want    string
		is      error
	}{
		{"wrong code", false, nil, "111111",
			"validate at $URL/v1/totp/code/alice: the code is not valid", ErrNotValid},
		{"used code", false, func(s *stubVault, _ *Mode) { s.used["alice_"+goodCode] = true }, goodCode,
			"validate at $URL/v1/totp/code/alice: the code was already used; wait for the next one", ErrAlreadyUsed},
		{"unknown key", false, func(s *stubVault, _ *Mode) { delete(s.keys, "alice") }, goodCode,
			`validate at $URL/v1/totp/code/alice: no TOTP key "alice" on mount "totp"`, ErrNoKey},
		{"token refused", false, func(_ *stubVault, m *Mode) { m.cfg.Token = NewSecret("hvs.revoked") }, goodCode,
			"validate at $URL/v1/totp/code/alice: permission denied: Vault refused the token (revoked or expired, or its policy lacks update on totp/code/alice)", ErrTokenRefused},
		{"wrong secret_id", true, func(_ *stubVault, m *Mode) { m.cfg.AppRole.SecretID = NewSecret("wrong") }, goodCode,
			"AppRole login at $URL/v1/auth/approle/login: Vault answered 500: invalid secret id", nil},
		{"wrong role_id", true, func(_ *stubVault, m *Mode) { m.cfg.AppRole.RoleID = NewSecret("wrong") }, goodCode,
			"AppRole login at $URL/v1/auth/approle/login: Vault answered 400: invalid role ID", nil},
		{"no AppRole mount", true, func(_ *stubVault, m *Mode) { m.cfg.AppRole.MountPoint = "other" }, goodCode,
			"AppRole login at $URL/v1/auth/other/login: Vault answered 403: permission denied", nil},
		{"no TOTP mount", false, func(_ *stubVault, m *Mode) { m.cfg.MountPoint = "nomount" }, goodCode,
			`validate at $URL/v1/nomount/code/alice: Vault answered 404: no handler for route "nomount/code/alice". route entry not found.`, nil},
		{"answer without valid", false, func(s *stubVault, _ *Mode) { s.setFault(answer(200, `{"data":{"other":true}}`)) }, goodCode,
			"validate at $URL/v1/totp/code/alice: " + agent.ErrMalformed.Error() + ": data.valid is missing", agent.ErrMalformed},
		{"answer without data", false, func(s *stubVault, _ *Mode) { s.setFault(answer(200, `{"data":null}`)) }, goodCode,
			"validate at $URL/v1/totp/code/alice: " + agent.ErrNoData.Error(), agent.ErrNoData},
		{"login without auth", true, func(s *stubVault, _ *Mode) { s.setFault(answer(200, `{"data":{}}`)) }, goodCode,
			"AppRole login at $URL/v1/auth/approle/login: " + agent.ErrNoAuth.Error(), agent.ErrNoAuth},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stub := newStubVault(t)
			m := testMode(t, stub, c.approle)
			if c.prepare != nil {
				c.prepare(stub, m)
			}
			who, err := login(m, c.code, "alice")
			want := strings.ReplaceAll(c.want, "$URL", stub.srv.URL)
			if err == nil || err.Error() != want || who != "" {
				t.Fatalf("Login = %q, %v\nwant error %s", who, err, want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if n := failures(t, m, "alice"); n != 1 {
				t.Errorf("a denied attempt left %d failures, want 1", n)
			}
		})
	}
}

func answer(status int, body string) func(http.ResponseWriter, request) {
	return func(w http.ResponseWriter, _ request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// TestDenialsBeforeAnyTraffic pins the mode's words on the refusals made
// before Vault is asked (ratelimit's own are pinned in its package), and
// that Vault is indeed not asked.
func TestDenialsBeforeAnyTraffic(t *testing.T) {
	cases := []struct {
		name    string
		user    string
		prepare func(*testing.T, *Mode)
		want    string
		is      error
	}{
		{"no user", "", nil, ErrNoUser.Error(), ErrNoUser},
		{"limited", "alice", func(t *testing.T, m *Mode) { setFailures(t, m, "alice", 3) },
			"denied before asking Vault: " + ratelimit.ErrLimited.Error() + ` for user "alice" (3 within 30s)`, ratelimit.ErrLimited},
		{"used here", "alice", func(t *testing.T, m *Mode) {
			if _, err := login(m, goodCode, "alice"); err != nil {
				t.Fatalf("first login: %v", err)
			}
		}, "denied before asking Vault: " + ratelimit.ErrUsed.Error() + ` for user "alice" on this host`, ratelimit.ErrUsed},
		{"counts unreadable", "alice", func(t *testing.T, m *Mode) { writeState(t, m, "alice", "garbage") },
			`cannot count "alice"'s failed codes, so denying: state file "`, ratelimit.ErrState},
		{"state dir unusable", "alice", func(_ *testing.T, m *Mode) { m.cfg.StateDir = "/dev/null" },
			`rate limit: state_dir "/dev/null" is not a directory`, ratelimit.ErrState},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stub := newStubVault(t)
			m := testMode(t, stub, true)
			if c.prepare != nil {
				c.prepare(t, m)
			}
			asked := len(stub.seen())
			_, err := login(m, goodCode, c.user)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Login error = %v\nwant it to start %s", err, c.want)
			}
			if !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if reqs := stub.seen(); len(reqs) != asked {
				t.Errorf("Vault was asked: %+v", reqs[asked:])
			}
		})
	}
}

func TestBadUserDeniesWithoutCountingAnAttempt(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, false)
	if _, err := login(m, goodCode, "../alice"); !errors.Is(err, ErrBadUser) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(m.cfg.StateDir); !errors.Is(err, os.ErrNotExist) || len(stub.seen()) != 0 {
		t.Errorf("state_dir: %v, requests %v", err, stub.seen())
	}
}

func TestFailuresStopAUserBeforeVaultIsAsked(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, false)
	for i, code := range []string{"111111", "222222", "333333"} {
		if _, err := login(m, code, "alice"); !errors.Is(err, ErrNotValid) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if _, err := login(m, goodCode, "alice"); !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("fourth attempt, a valid code: %v", err)
	}
	if n := len(stub.seen()); n != 3 {
		t.Errorf("Vault was asked %d times, want 3", n)
	}
	// Another user is not affected.
	stub.keys["bob"] = true
	if _, err := login(m, goodCode, "bob"); err != nil {
		t.Errorf("bob: %v", err)
	}
}

// TestSecretsNeverReachAnError: a server at vault_addr that echoes what it
// was sent (a proxy's error page, say) gets every secret masked.
func TestSecretsNeverReachAnError(t *testing.T) {
	echo := func(w http.ResponseWriter, r request) {
		w.WriteHeader(502)
		io.WriteString(w, `{"errors":["bad gateway for token `+r.Token+` body `+strings.ToUpper(r.Body["code"]+r.Body["role_id"])+` `+r.Body["secret_id"]+`"]}`)
	}
	for _, approle := range []bool{false, true} {
		stub := newStubVault(t)
		m := testMode(t, stub, approle)
		stub.setFault(echo)
		_, err := login(m, goodCode, "alice")
		if err == nil {
			t.Fatal("an echo let the user in")
		}
		for _, secret := range []string{goodCode, fileToken, approleToken, roleID, strings.ToUpper(roleID), secretID} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("approle=%v: error carries a secret: %v", approle, err)
			}
		}
		_, err = m.Check(context.Background())
		if err == nil || strings.Contains(err.Error(), fileToken) || strings.Contains(err.Error(), secretID) {
			t.Errorf("approle=%v: -verify-only error = %v", approle, err)
		}
	}
	// The AppRole token Vault issued is masked in a later answer's echo too.
	stub := newStubVault(t)
	m := testMode(t, stub, true)
	stub.mu.Lock()
	stub.keys = map[string]bool{}
	stub.mu.Unlock()
	stub.setFault(func(w http.ResponseWriter, r request) {
		if strings.HasSuffix(r.Path, "/login") {
			io.WriteString(w, `{"auth":{"client_token":"`+approleToken+`"}}`)
			return
		}
		echo(w, r)
	})
	_, err := login(m, goodCode, "alice")
	if want := "validate at " + stub.srv.URL + "/v1/totp/code/alice: Vault answered 502: bad gateway for token <the token> body <the code> "; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestVerifyOnlyFindings pins every line -verify-only reports, and which
// of them are warnings.
func TestVerifyOnlyFindings(t *testing.T) {
	const (
		stateLine  = "state_dir $STATE is usable: 3 failed codes within 30s stop a user; an accepted code is refused on this host for 5m0s"
		fileLine   = "token: read from vault_token_file /etc/vault-ssh-helper.d/token"
		loginLine  = "AppRole login at auth/approle: OK (token policies: default, totp-host)"
		probePath  = "totp/code/ssh-vault-ssh-helper-probe"
		mountLine  = "mount totp answers as a TOTP engine (probed with an empty code, which consumes nothing)"
		capsPrefix = "capabilities of the token on " + probePath + ` (the key template with user "vault-ssh-helper-probe"): `
	)
	cases := []struct {
		name    string
		approle bool
		caps    []string
		want    []helper.Finding
		wantErr string
	}{
		{"least privilege", false, []string{"update"}, []helper.Finding{
			{Text: fileLine}, {Text: capsPrefix + "update"}, {Text: mountLine}, {Text: stateLine}}, ""},
		{"AppRole", true, []string{"update"}, []helper.Finding{
			{Text: loginLine}, {Text: capsPrefix + "update"}, {Text: mountLine}, {Text: stateLine}}, ""},
		{"can read codes", false, []string{"read", "update"}, []helper.Finding{
			{Text: fileLine}, {Text: capsPrefix + "read, update"},
			{Warning: true, Text: "the token can read codes (read, update on " + probePath + "): whoever holds it can make valid codes for every user; its policy should grant only update on totp/code/ssh-*"},
			{Text: mountLine}, {Text: stateLine}}, ""},
		{"root", false, []string{"root"}, []helper.Finding{
			{Text: fileLine}, {Text: capsPrefix + "root"},
			{Warning: true, Text: "the token can read codes (root on " + probePath + "): whoever holds it can make valid codes for every user; its policy should grant only update on totp/code/ssh-*"},
			{Text: mountLine}, {Text: stateLine}}, ""},
		{"sudo without update", false, []string{"sudo"}, []helper.Finding{
			{Text: fileLine}, {Text: capsPrefix + "sudo"},
			{Warning: true, Text: "the token can read codes (sudo on " + probePath + "): whoever holds it can make valid codes for every user; its policy should grant only update on totp/code/ssh-*"}},
			"the token cannot validate codes: its capabilities on " + probePath + " are sudo; its policy needs update on totp/code/ssh-*"},
		{"denied", false, []string{"deny"}, []helper.Finding{
			{Text: fileLine}, {Text: capsPrefix + "deny"}},
			"the token cannot validate codes: its capabilities on " + probePath + " are deny; its policy needs update on totp/code/ssh-*"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stub := newStubVault(t)
			stub.caps = c.caps
			m := testMode(t, stub, c.approle, func(tc *Settings) { tc.KeyTemplate = KeyTemplate{Prefix: "ssh-"} })
			found, err := m.Check(context.Background())
			if (err == nil) != (c.wantErr == "") || (err != nil && err.Error() != c.wantErr) {
				t.Errorf("Check error = %v, want %q", err, c.wantErr)
			}
			for i := range c.want {
				c.want[i].Text = strings.ReplaceAll(c.want[i].Text, "$STATE", m.cfg.StateDir)
			}
			if !sameFindings(found, c.want) {
				t.Errorf("findings:\n got  %+v\n want %+v", found, c.want)
			}
			for _, r := range stub.seen() {
				if r.Body["code"] != "" {
					t.Errorf("-verify-only sent a code: %+v", r)
				}
			}
		})
	}
}

func sameFindings(a, b []helper.Finding) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVerifyOnlyFailures pins the full text of each way -verify-only fails.
func TestVerifyOnlyFailures(t *testing.T) {
	cases := []struct {
		name    string
		approle bool
		prepare func(*stubVault, *Mode)
		want    string
	}{
		{"token refused", false, func(_ *stubVault, m *Mode) { m.cfg.Token = NewSecret("hvs.revoked") },
			"capabilities at $URL/v1/sys/capabilities-self: permission denied: Vault refused the token (revoked or expired, or without the default policy, which allows sys/capabilities-self)"},
		{"wrong secret_id", true, func(_ *stubVault, m *Mode) { m.cfg.AppRole.SecretID = NewSecret("wrong") },
			"AppRole login at $URL/v1/auth/approle/login: Vault answered 500: invalid secret id"},
		{"no mount", false, func(_ *stubVault, m *Mode) { m.cfg.MountPoint = "nomount" },
			`mount check at $URL/v1/nomount/code/vault-ssh-helper-probe: the mount does not answer as a TOTP engine: Vault answered 404: no handler for route "nomount/code/vault-ssh-helper-probe". route entry not found.`},
		{"probe answered 200", false, func(s *stubVault, _ *Mode) {
			s.setFault(func(w http.ResponseWriter, r request) {
				if strings.HasSuffix(r.Path, "capabilities-self") {
					io.WriteString(w, `{"data":{"capabilities":["update"]}}`)
					return
				}
				io.WriteString(w, `{"data":{"valid":false}}`)
			})
		}, "mount check at $URL/v1/totp/code/vault-ssh-helper-probe: the mount does not answer as a TOTP engine"},
		{"probe refused", false, func(s *stubVault, _ *Mode) {
			s.setFault(func(w http.ResponseWriter, r request) {
				if strings.HasSuffix(r.Path, "capabilities-self") {
					io.WriteString(w, `{"data":{"capabilities":["update"]}}`)
					return
				}
				w.WriteHeader(403)
				io.WriteString(w, `{"errors":["1 error occurred:\n\t* permission denied\n\n"]}`)
			})
		}, "mount check at $URL/v1/totp/code/vault-ssh-helper-probe: permission denied: Vault refused the token (revoked or expired, or its policy lacks update on totp/code/vault-ssh-helper-probe)"},
		{"capabilities missing", false, func(s *stubVault, _ *Mode) { s.setFault(answer(200, `{"data":{"capabilities":[]}}`)) },
			"capabilities at $URL/v1/sys/capabilities-self: " + agent.ErrMalformed.Error() + ": data.capabilities is missing or empty"},
		{"state dir unusable", false, func(_ *stubVault, m *Mode) { m.cfg.StateDir = "/dev/null" },
			`rate limit: state_dir "/dev/null" is not a directory`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stub := newStubVault(t)
			m := testMode(t, stub, c.approle)
			c.prepare(stub, m)
			_, err := m.Check(context.Background())
			if want := strings.ReplaceAll(c.want, "$URL", stub.srv.URL); err == nil || err.Error() != want {
				t.Errorf("Check error = %v\nwant %s", err, want)
			}
		})
	}
}

func TestModeDescribesItself(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, false, func(c *Settings) { c.KeyTemplate = KeyTemplate{Prefix: "ssh-", Suffix: "@h"} })
	if got, want := m.About().Announce, "using TOTP mount point: totp, key template: ssh-{{username}}@h"; got != want {
		t.Errorf("Announce = %q, want %q", got, want)
	}
	if got, want := m.About().Secret, "the TOTP code"; got != want {
		t.Errorf("Secret = %q, want %q", got, want)
	}
	if got, want := m.About().CheckStep, "sending sys/capabilities-self and an empty code"; got != want {
		t.Errorf("CheckStep = %q, want %q", got, want)
	}
	m = testMode(t, stub, true)
	if got, want := m.About().CheckStep, "sending an AppRole login, sys/capabilities-self and an empty code"; got != want {
		t.Errorf("CheckStep = %q, want %q", got, want)
	}
}

// TestNoPartOfASecretSurvivesTheCutAtAnyOffset: a plain-text error page
// that echoes the code and the token lands each of them across the point
// where quoted text is cut; no 8 characters of the token and never the
// code may reach the message, whatever the offset.
func TestNoPartOfASecretSurvivesTheCutAtAnyOffset(t *testing.T) {
	for pad := quote.MaxLen - 40; pad <= quote.MaxLen+8; pad++ {
		stub := newStubVault(t)
		m := testMode(t, stub, false)
		stub.setFault(func(w http.ResponseWriter, r request) {
			w.WriteHeader(502)
			io.WriteString(w, strings.Repeat("x", pad)+r.Token+" "+r.Body["code"]+" "+r.Token)
		})
		_, err := login(m, goodCode, "alice")
		if err == nil {
			t.Fatal("an echo let the user in")
		}
		msg := err.Error()
		if strings.Contains(msg, goodCode) {
			t.Errorf("pad %d: the code reaches the message: %s", pad, msg)
		}
		for i := 0; i+8 <= len(fileToken); i++ {
			if strings.Contains(msg, fileToken[i:i+8]) {
				t.Errorf("pad %d: 8 characters of the token reach the message: %s", pad, msg)
				break
			}
		}
	}
}

// A key name with '@' (PAM_USER alice@corp.example, or a template such as
// ssh_{{username}}@web1) stays in the message whole with the Vault address
// and mount: the '@' is the path's, not userinfo.
func TestDenialKeepsAKeyNameWithAt(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, false)
	_, err := login(m, goodCode, "alice@corp.example")
	want := "validate at " + stub.srv.URL + `/v1/totp/code/alice@corp.example: no TOTP key "alice@corp.example" on mount "totp"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
}

// The last pass over Login's error (withoutSecrets) is what stands between
// an error that carries a secret unquoted and the log: the limiter's
// errors are not quoted on the way, and the issued token is not among the
// secrets Login starts with. Here the secrets are in state_dir's path,
// which the limiter's errors name.
func TestLoginsLastPassDropsEverySecretFromAnyError(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, false)
	m.cfg.StateDir = filepath.Join(t.TempDir(), goodCode, fileToken)
	if err := os.MkdirAll(filepath.Dir(m.cfg.StateDir), 0o755); err != nil {
		t.Fatal(err)
	}
	writeState(t, m, "alice", "garbage")
	_, err := login(m, goodCode, "alice")
	if want := "/<the code>/<the token>/totp-"; err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), goodCode) {
		t.Errorf("err = %v\nwant it to hold %s", err, want)
	}

	m = testMode(t, stub, true)
	m.cfg.StateDir = filepath.Join(t.TempDir(), approleToken, roleID, secretID)
	if err := os.MkdirAll(filepath.Dir(m.cfg.StateDir), 0o755); err != nil {
		t.Fatal(err)
	}
	stub.setFault(func(w http.ResponseWriter, r request) {
		breakStateFile(m, "alice")
		status, body := stub.answer(r)
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	_, err = login(m, goodCode, "alice")
	// The wrapper's words are pinned with the record's messages; here only
	// what the last pass leaves of the limiter's error.
	if want := "/<the token>/<the role_id>/<the secret_id>/totp-"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to hold %s", err, want)
	}
}
