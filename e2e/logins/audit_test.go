package logins

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// auditEntry is the part of a file audit device's line these tests read.
type auditEntry struct {
	Type    string `json:"type"`
	Request struct {
		ID        string         `json:"id"`
		Operation string         `json:"operation"`
		Path      string         `json:"path"`
		Data      map[string]any `json:"data"`
	} `json:"request"`
	Error string `json:"error"`
}

// auditEntries reads every entry of Vault's audit log.
func auditEntries(t *testing.T, a *vaulttest.AuditLog) []auditEntry {
	t.Helper()
	f, err := os.Open(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e auditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log line is not JSON: %v", err)
		}
		out = append(out, e)
	}
	return out
}

var requestIDNote = regexp.MustCompile(`\(request_id=([0-9a-f-]{36})\)$`)

// The helper's success and denial lines name Vault's request_id; Vault's
// audit log has the request and response entries of ssh/verify under that
// id, with the OTP only as Vault's HMAC; the helper's log holds neither
// the OTP nor its HMAC.
func TestLoginLinesShareTheRequestIDOfVaultsAuditEntry(t *testing.T) {
	s := otpRole(t)
	audit := s.EnableFileAudit(t)
	cfg := devConfig(t, s)
	cases := []struct {
		name, issuedFor string
		code            int
		line            string
	}{
		{"allowed", user, 0, "[INFO]  " + vaulttest.Reason("main.authenticated", "alice@127.0.0.1") + " (request_id="},
		{"denied after Vault's answer", "bob", 1, "[ERROR] " + vaulttest.Reason("sshotp.ErrUsernameMismatch") + `: the OTP is for "bob", PAM_USER is "alice" (request_id=`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			otp := s.IssueOTP(t, "ssh", "otp", c.issuedFor, "127.0.0.1")
			res := login(t, cfg, user, otp)
			expect(t, res, c.code, c.line)
			var id string
			for _, line := range strings.Split(strings.TrimSpace(res.Output), "\n") {
				if strings.Contains(line, c.line) {
					if m := requestIDNote.FindStringSubmatch(line); m != nil {
						id = m[1]
					}
				}
			}
			if id == "" {
				t.Fatalf("no request_id at the end of the line %q:\n%s", c.line, res.Output)
			}
			var kinds []string
			for _, e := range auditEntries(t, audit) {
				if e.Request.ID != id {
					continue
				}
				kinds = append(kinds, e.Type)
				if e.Request.Path != "ssh/verify" || e.Request.Operation != "update" {
					t.Errorf("audit entry %s is %s %s, want update ssh/verify", id, e.Request.Operation, e.Request.Path)
				}
				hmac, _ := e.Request.Data["otp"].(string)
				if !strings.HasPrefix(hmac, "hmac-sha256:") {
					t.Errorf("audit entry's otp is %q, want Vault's HMAC", hmac)
				}
				if res.Contains(hmac) || res.Contains(strings.TrimPrefix(hmac, "hmac-sha256:")) {
					t.Errorf("the helper's log holds the OTP's HMAC")
				}
			}
			if strings.Join(kinds, ",") != "request,response" {
				t.Errorf("audit entries under request_id %s: %q, want a request and a response", id, kinds)
			}
			if strings.Contains(audit.Contents(t), otp) {
				t.Errorf("Vault's audit log holds the OTP in clear text")
			}
		})
	}
}

// Vault v1.14.0 answers a used OTP with 400 and no request_id (in its body
// or headers): the denial line has none, rather than a made-up one.
func TestDenialByAVaultErrorHasNoRequestID(t *testing.T) {
	s := otpRole(t)
	s.EnableFileAudit(t)
	cfg := devConfig(t, s)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, login(t, cfg, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1")+" (request_id=")
	res := login(t, cfg, user, otp)
	expect(t, res, 1, vaulttest.Reason("sshotp.ErrOTPNotFound"))
	if res.Contains("request_id") {
		t.Errorf("a denial by Vault's error answer names a request_id:\n%s", res.Output)
	}
}

var requestIDsNote = regexp.MustCompile(`\(request_id=([0-9a-f,-]+)\)$`)

// In TOTP mode with AppRole, a wrong code's denial lists the request_id of
// both of Vault's answers, the AppRole login's first: each leads to its
// audit entry, where the code and the secret_id are only HMACs.
func TestTOTPDenialListsTheRequestIDsOfBothAnswers(t *testing.T) {
	e := newTOTP(t)
	e.s.EnableAppRole(t, "approle")
	role := e.s.CreateAppRole(t, "approle", "ssh-host", e.m.Validate)
	cfg := e.approleConfig(t, role, role.SecretID)
	key := e.m.GenerateKey(t, user)
	wrong := vaulttest.WrongCodes(t, key.Secret, key.Period, 1)[0]
	res := e.login(t, cfg, user, wrong)
	expectDenied(t, res, "the code is not valid (request_id=")
	m := requestIDsNote.FindStringSubmatch(strings.TrimSpace(res.Output))
	if m == nil {
		t.Fatalf("the last line ends without request_ids:\n%s", res.Output)
	}
	ids := strings.Split(m[1], ",")
	want := []struct{ path, field, secret string }{
		{"auth/approle/login", "secret_id", role.SecretID},
		{totpMount + "/code/" + user, "code", wrong},
	}
	if len(ids) != len(want) {
		t.Fatalf("request_ids %q, want %d", ids, len(want))
	}
	entries := auditEntries(t, e.audit)
	for i, w := range want {
		found := false
		for _, entry := range entries {
			if entry.Type != "request" || entry.Request.ID != ids[i] {
				continue
			}
			found = true
			if entry.Request.Path != w.path {
				t.Errorf("request_id %s is %s in the audit log, want %s", ids[i], entry.Request.Path, w.path)
			}
			if v, _ := entry.Request.Data[w.field].(string); !strings.HasPrefix(v, "hmac-sha256:") || v == w.secret {
				t.Errorf("audit entry's %s is %q, want Vault's HMAC", w.field, v)
			}
		}
		if !found {
			t.Errorf("no audit request entry with request_id %s (%s)", ids[i], w.path)
		}
	}
}
