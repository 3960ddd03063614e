package sshotp

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// echoServer answers every request with status and whatever body is set.
func echoServer(t *testing.T, status int) (*Mode, *atomic.Value) {
	t.Helper()
	var body atomic.Value
	body.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(body.Load().(string)))
	}))
	t.Cleanup(srv.Close)
	cfg, err := config.Parse([]byte(fmt.Sprintf("vault_addr = %q\nallowed_roles = \"*\"\n", srv.URL)),
		config.Options{Dev: true, Modes: []config.Mode{Plugin.Mode}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := New(cfg.ModeSettings.(*Settings), client)
	m.Local = func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil }
	return m, &body
}

// The forms a server can echo the OTP in.
var echoForms = map[string]func(string) string{
	"as sent":        func(s string) string { return s },
	"upper case":     strings.ToUpper,
	"without dashes": func(s string) string { return strings.ReplaceAll(s, "-", "") },
	"percent-encoded": func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
		return b.String()
	},
	"JSON-escaped dashes": func(s string) string { return strings.ReplaceAll(s, "-", `\u002d`) },
	"JSON-escaped all": func(s string) string {
		var b strings.Builder
		for _, r := range s {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		return b.String()
	},
	"split across lines": func(s string) string { return s[:13] + "\r\n" + s[13:24] + "\n  " + s[24:] },
}

var escapes = regexp.MustCompile(`%[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}`)

// leaksOTP is the oracle, written apart from the redaction: an 8-character
// run of the OTP in the message as it is, or once escapes are decoded and
// dashes and white space dropped.
func leaksOTP(msg, otp string) bool {
	decoded := escapes.ReplaceAllStringFunc(msg, func(e string) string {
		n, _ := strconv.ParseUint(strings.TrimLeft(e, `%\u`), 16, 32)
		return string(rune(n))
	})
	squeeze := strings.NewReplacer("-", "", " ", "", "\n", "", "\r", "", "\t", "")
	plain := strings.ToLower(strings.ReplaceAll(otp, "-", ""))
	for _, text := range []string{strings.ToLower(msg), strings.ToLower(squeeze.Replace(msg)), strings.ToLower(squeeze.Replace(decoded))} {
		for i := 0; i+8 <= len(otp); i++ {
			if strings.Contains(text, strings.ToLower(otp[i:i+8])) {
				return true
			}
		}
		for i := 0; i+8 <= len(plain); i++ {
			if strings.Contains(text, plain[i:i+8]) {
				return true
			}
		}
	}
	return false
}

// An answer that echoes the OTP, at any offset around where a message is
// cut and in any form a server writes it, leaves no 8-character run of it in
// the error a login reports: the secret is removed before anything is cut.
func TestNoPartOfAnEchoedOTPReachesTheMessageAtAnyOffset(t *testing.T) {
	t.Parallel()
	bodies := map[string]func(pad, echo string) string{
		"plain text body": func(pad, echo string) string { return pad + echo + " tail" },
		"Vault's errors":  func(pad, echo string) string { return `{"errors":["` + pad + echo + `"]}` },
	}
	for bodyName, build := range bodies {
		mode, body := echoServer(t, 400)
		for formName, form := range echoForms {
			echo := form(otp)
			if bodyName == "Vault's errors" && strings.ContainsAny(echo, "\r\n") {
				echo = strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(echo)
			}
			for offset := 0; offset <= quote.MaxLen+len(echo); offset++ {
				body.Store(build(strings.Repeat("x", offset), echo))
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := mode.Login(ctx, otp, "alice")
				cancel()
				if err == nil {
					t.Fatalf("%s, %s, offset %d: login allowed", bodyName, formName, offset)
				}
				if leaksOTP(err.Error(), otp) {
					t.Fatalf("%s, %s, offset %d: the message carries part of the OTP:\n%s", bodyName, formName, offset, err)
				}
			}
		}
	}
}

// The one pin of OTPMark's text: an OTP the server echoes reads as the mark.
func TestAnEchoedOTPReadsAsItsMark(t *testing.T) {
	t.Parallel()
	mode, body := echoServer(t, 400)
	body.Store("bad request: " + otp)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := mode.Login(ctx, otp, "alice"); err == nil || !strings.HasSuffix(err.Error(), "bad request: <the OTP>") {
		t.Errorf("Login error = %v, want it to end with the mark", err)
	}
}

// The last pass over Login's error (agent.WithoutSecrets) is what stands
// between an error that carries the OTP unquoted and the log: here the
// host's address lookup fails with the OTP in its text, which no quoting on
// the way removes.
func TestLoginsLastPassDropsTheOTPFromAnyError(t *testing.T) {
	m, body := echoServer(t, 200)
	const otp = "6c1a8e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
	body.Store(`{"request_id":"r1","data":{"username":"alice","ip":"127.0.0.1","role_name":"dev"}}`)
	m.Local = func() ([]netip.Addr, error) { return nil, fmt.Errorf("interfaces of %s are gone", otp) }
	_, err := m.Login(context.Background(), otp, "alice")
	if want := "interfaces of " + OTPMark + " are gone"; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}
