package totp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
)

const sharedKey = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"

// sharedT0 is a fixed "now" for the shared record's tests.
var sharedT0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// withShared configures the shared record at kv/vsh/used.
func withShared(c *Settings) {
	c.UsedCodes = &UsedCodes{Mount: "kv", Prefix: "vsh/used", KeyFile: "/etc/vsh/used-key", Key: NewSecret(sharedKey)}
}

// sharedHost is one host's mode: its own state_dir, the stub's KV shared
// with every other host on it.
func sharedHost(t *testing.T, stub *stubVault) *Mode {
	t.Helper()
	m := testMode(t, stub, false, withShared)
	m.Now = func() time.Time { return sharedT0 }
	return m
}

// validations counts the code checks that reached the stub.
func validations(stub *stubVault) int {
	n := 0
	for _, r := range stub.seen() {
		if strings.HasPrefix(r.Path, "/v1/totp/code/") {
			n++
		}
	}
	return n
}

// A code let in on one host is refused on another sharing the record,
// even when Vault has forgotten it (a new active node), before Vault is
// asked.
func TestSharedRecordRefusesACodeUsedOnAnotherHost(t *testing.T) {
	stub := newStubVault(t)
	a := sharedHost(t, stub)
	if _, err := login(a, goodCode, "alice"); err != nil {
		t.Fatalf("first login: %v", err)
	}
	stub.mu.Lock()
	stub.used = map[string]bool{} // the active node changed
	versions := len(stub.kv["vsh/used/alice"])
	stub.mu.Unlock()
	if versions != 1 {
		t.Fatalf("the record has %d versions after one login, want 1", versions)
	}
	before := validations(stub)
	b := sharedHost(t, stub)
	_, err := login(b, goodCode, "alice")
	want := `denied before asking Vault: code already accepted (shared record) for key "alice" at 2026-11-30T12:00:00Z; it stays refused until 2026-11-30T12:05:00Z (totp_code_lifetime 5m0s)`
	if err == nil || err.Error() != want || !errors.Is(err, ErrUsedShared) {
		t.Fatalf("replay on host b: %v\nwant %s", err, want)
	}
	if validations(stub) != before {
		t.Error("the replay was sent to Vault")
	}
	if n := failures(t, b, "alice"); n != 1 {
		t.Errorf("the refused replay left %d failures, want 1", n)
	}
	// Once the lifetime is over, the record no longer refuses it.
	b.Now = func() time.Time { return sharedT0.Add(5*time.Minute + time.Second) }
	stub.mu.Lock()
	stub.used = map[string]bool{}
	stub.mu.Unlock()
	if _, err := login(b, goodCode, "alice"); err != nil {
		t.Errorf("after the lifetime: %v", err)
	}
}

// Another host wrote the record between our read and our write: the
// check-and-set write fails, and the login is denied without a local
// record.
func TestSharedRecordRaceDenies(t *testing.T) {
	stub := newStubVault(t)
	m := sharedHost(t, stub)
	stub.setFault(func(w http.ResponseWriter, r request) {
		if strings.HasPrefix(r.Path, "/v1/totp/code/") {
			// Another host records a code meanwhile.
			stub.mu.Lock()
			stub.kv["vsh/used/alice"] = append(stub.kv["vsh/used/alice"], []byte(`{"used":[]}`))
			stub.mu.Unlock()
		}
		status, body := stub.answer(r)
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	_, err := login(m, goodCode, "alice")
	want := "the code is valid, but recording it in the shared record failed, so denying: write shared record at " + stub.srv.URL +
		"/v1/kv/data/vsh/used/alice: another login changed the shared record of used codes at the same time"
	if err == nil || err.Error() != want || !errors.Is(err, ErrSharedRace) {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if recordedHere(t, m, "alice") || failures(t, m, "alice") != 1 {
		t.Errorf("the denied login was recorded locally or cleared its failure: %q", readState(t, m, "alice"))
	}
}

// Every way the record can fail denies, with its own message.
func TestSharedRecordFailuresDeny(t *testing.T) {
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   string
		is     error
	}{
		{"read forbidden", func(w http.ResponseWriter) {
			w.WriteHeader(403)
			io.WriteString(w, `{"errors":["1 error occurred:\n\t* permission denied\n\n"]}`)
		}, "cannot check the shared record of used codes, so denying: read shared record at $URL/v1/kv/data/vsh/used/alice: " +
			"permission denied: Vault refused the token (revoked or expired, or its policy lacks read, create and update on kv/data/vsh/used/*)", ErrTokenRefused},
		{"not KV v2", func(w http.ResponseWriter) {
			w.WriteHeader(200)
			io.WriteString(w, `{"data":{"used":["x"]}}`)
		}, "cannot check the shared record of used codes, so denying: read shared record at $URL/v1/kv/data/vsh/used/alice: " +
			"the shared record of used codes is unusable: data.metadata.version is missing or not positive", ErrSharedRecord},
		{"entry not ours", func(w http.ResponseWriter) {
			w.WriteHeader(200)
			io.WriteString(w, `{"data":{"data":{"used":["1 `+goodCode+`"]},"metadata":{"version":3}}}`)
		}, "cannot check the shared record of used codes, so denying: read shared record at $URL/v1/kv/data/vsh/used/alice: " +
			`the shared record of used codes is unusable: entry 1 is not "<unix time> <64 hex digits>"`, ErrSharedRecord},
		{"server error", func(w http.ResponseWriter) {
			w.WriteHeader(500)
			io.WriteString(w, `{"errors":["internal error"]}`)
		}, "cannot check the shared record of used codes, so denying: read shared record at $URL/v1/kv/data/vsh/used/alice: " +
			"the shared record of used codes is unusable: Vault answered 500: internal error", ErrSharedRecord},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stub := newStubVault(t)
			m := sharedHost(t, stub)
			stub.setFault(func(w http.ResponseWriter, r request) {
				if strings.HasPrefix(r.Path, "/v1/kv/") {
					c.answer(w)
					return
				}
				status, body := stub.answer(r)
				w.WriteHeader(status)
				io.WriteString(w, body)
			})
			_, err := login(m, goodCode, "alice")
			want := strings.ReplaceAll(c.want, "$URL", stub.srv.URL)
			if err == nil || err.Error() != want || !errors.Is(err, c.is) {
				t.Fatalf("err = %v\nwant %s", err, want)
			}
			if validations(stub) != 0 {
				t.Error("Vault was asked to validate although the record could not be checked")
			}
		})
	}
}

// The record holds neither the code nor a cheap hash of it.
func TestSharedRecordHoldsNoCheapFormOfTheCode(t *testing.T) {
	stub := newStubVault(t)
	m := sharedHost(t, stub)
	if _, err := login(m, goodCode, "alice"); err != nil {
		t.Fatal(err)
	}
	stored := string(stub.kv["vsh/used/alice"][0])
	sum := sha256.Sum256([]byte(goodCode))
	if strings.Contains(stored, goodCode) || strings.Contains(stored, hex.EncodeToString(sum[:])) {
		t.Errorf("the record %s holds the code or its SHA-256", stored)
	}
	if !strings.Contains(stored, ratelimit.CodeSum([]byte(sharedKey), "alice", goodCode)) {
		t.Errorf("the record %s lacks the code's HMAC", stored)
	}
	if ratelimit.CodeSum([]byte(strings.Repeat("1", 64)), "alice", goodCode) == ratelimit.CodeSum([]byte(sharedKey), "alice", goodCode) {
		t.Error("the HMAC does not depend on the key")
	}
}

// -verify-only checks the record's capabilities and reads it.
func TestVerifyOnlyChecksTheSharedRecord(t *testing.T) {
	stub := newStubVault(t)
	m := sharedHost(t, stub)
	if got, want := m.About().CheckStep, "sending sys/capabilities-self and an empty code, then reading the shared record of used codes"; got != want {
		t.Errorf("CheckStep = %q, want %q", got, want)
	}
	stub.caps = []string{"update"}
	_, err := m.Check(context.Background())
	want := "the token cannot keep the shared record of used codes: its capabilities on kv/data/vsh/used/vault-ssh-helper-probe are update; its policy needs read, create and update on kv/data/vsh/used/*"
	if err == nil || err.Error() != want || !errors.Is(err, ErrCannotRecord) {
		t.Fatalf("Check = %v\nwant %s", err, want)
	}
	stub.caps = []string{"create", "read", "update"}
	found, err := m.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	line := helper.Finding{Text: "shared record of used codes: capabilities of the token on kv/data/vsh/used/vault-ssh-helper-probe: create, read, update; reading it: OK"}
	ok := false
	for _, f := range found {
		ok = ok || f == line
	}
	if !ok {
		t.Errorf("findings %+v lack %+v", found, line)
	}
}

// FuzzDecodeRecord: whatever a KV answer holds, the record is refused with
// ErrMalformed or ErrSharedRecord (and no entries), or read as at most
// maxSharedCodes well-formed entries and a positive version.
func FuzzDecodeRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		rec, err := decodeRecord(body)
		if err != nil {
			if rec.entries != nil || rec.version != 0 {
				t.Fatalf("record %+v with error %v", rec, err)
			}
			return
		}
		if rec.version < 1 || len(rec.entries) > maxSharedCodes {
			t.Fatalf("record %+v accepted", rec)
		}
		for _, e := range rec.entries {
			if e.Stamp < 0 || len(e.Sum) != 64 || strings.Trim(e.Sum, "0123456789abcdef") != "" {
				t.Fatalf("entry %+v accepted", e)
			}
		}
	})
}

// A key whose record already holds maxSharedCodes live codes is refused
// after Vault's yes rather than forgetting one.
func TestSharedRecordFullDenies(t *testing.T) {
	stub := newStubVault(t)
	m := sharedHost(t, stub)
	used := make([]string, maxSharedCodes)
	for i := range used {
		used[i] = fmt.Sprintf(`"%d %064x"`, sharedT0.Unix(), i)
	}
	stub.kv["vsh/used/alice"] = []json.RawMessage{json.RawMessage(`{"used":[` + strings.Join(used, ",") + `]}`)}
	_, err := login(m, goodCode, "alice")
	want := "the code is valid, but recording it in the shared record failed, so denying: " +
		`the shared record of used codes is unusable: key "alice" has 100 codes accepted within 5m0s, as many as it holds; refusing rather than forgetting one`
	if err == nil || err.Error() != want || !errors.Is(err, ErrSharedRecord) {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if recordedHere(t, m, "alice") {
		t.Error("the code was recorded on the host")
	}
}
