package totp

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// FuzzReadCode: whatever stdin holds, a code comes back only as 6 or 8
// ASCII digits that stood in the input, and a refusal is one of the fixed
// reasons, which carry nothing of the input. Whether the typed password (as
// helper.ReadPassword shapes it) is a code is decided by the test's own
// pattern, not by the product's check: a code is accepted exactly when it
// matches.
func FuzzReadCode(f *testing.F) {
	for _, seed := range []string{"123456", "12345678", " 123456\n", "\x1b[200~123456\x1b[201~", "123456\x00",
		"1234567", "١٢٣٤٥٦", "6c1a8e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "12 3456", "", "123 4 56", "1234a678", "12 456"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		code, err := readCode(bytes.NewReader(input))
		if typed, perr := helper.ReadPassword(bytes.NewReader(input)); perr == nil {
			if want := codePattern.Match(typed); want != (err == nil) || (want && code != string(typed)) {
				t.Fatalf("readCode(%q) = %q, %v; the typed %q is a code: %t", input, code, err, typed, want)
			}
		}
		if err != nil {
			if code != "" {
				t.Fatalf("code %q returned with error %v", code, err)
			}
			if err != ErrNotCode && err != helper.ErrPasswordEmpty && err != helper.ErrPasswordTooLong {
				t.Fatalf("ReadCode error %v is none of the fixed reasons", err)
			}
			return
		}
		if !codePattern.MatchString(code) || !bytes.Contains(input, []byte(code)) {
			t.Fatalf("readCode(%q) = %q", input, code)
		}
	})
}

// codePattern is what a TOTP code is, written apart from the product's check.
var codePattern = regexp.MustCompile(`^(?:[0-9]{6}|[0-9]{8})$`)

// FuzzKeyName: for any template config accepts and any PAM_USER, the key
// is a name Vault's engine serves, made of the template and the user, and
// a template config accepts gives a key for a plain user name.
func FuzzKeyName(f *testing.F) {
	token := filepath.Join(f.TempDir(), "token")
	if err := os.WriteFile(token, []byte("hvs.fuzz"), 0o600); err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][2]string{
		{"{{username}}", "alice"}, {"ssh-{{username}}", "bob.smith"}, {"{{username}}@web1", "a@b"},
		{"-{{username}}", "alice"}, {"{{username}}", "../alice"}, {"{{username}}", ""}, {"a{{username}}b", "-"},
		{"{{username}}{{username}}", "x"}, {"ssh/{{username}}", "x"}, {"{{username}}", "alice\n"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, template, user string) {
		text, _ := json.Marshal(map[string]string{
			"vault_addr": "https://v", "totp_mount_point": "totp", "vault_token_file": token, "totp_key_template": template,
		})
		cfg, err := config.Parse(text, config.Options{Modes: []config.Mode{Plugin.Mode}})
		if err != nil {
			return
		}
		tmpl := cfg.ModeSettings.(*Settings).KeyTemplate
		if _, err := KeyName(tmpl, "a"); err != nil {
			t.Fatalf("config accepted template %q, which gives no key for user a: %v", template, err)
		}
		name, err := KeyName(tmpl, user)
		if err != nil {
			if name != "" || (!errors.Is(err, ErrNoUser) && !errors.Is(err, ErrBadUser)) {
				t.Fatalf("KeyName(%q, %q) = %q, %v", template, user, name, err)
			}
			return
		}
		if !IsKeyName(name) || !IsKeyName(user) || name != tmpl.Prefix+user+tmpl.Suffix || len(user) > MaxUserLength ||
			strings.ContainsAny(name, "/?#% \\") {
			t.Fatalf("KeyName(%q, %q) = %q", template, user, name)
		}
	})
}

// FuzzDecodeAnswers: no validate or capabilities answer panics the
// decoders; only "valid": true validates, and every error is one of the
// outcomes callers tell apart.
func FuzzDecodeAnswers(f *testing.F) {
	for _, seed := range []string{`{"data":{"valid":true}}`, `{"data":{"valid":false}}`, `{"data":{"valid":"true"}}`,
		`{"data":{"Valid":true}}`, `{"data":null}`, `{"data":{"capabilities":["update"]}}`, `{"data":{"capabilities":"update"}}`,
		`{"errors":["unknown key: alice"]}`, ``, `{"data":{"valid":true}}x`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := decodeValid(body)
		if err == nil {
			var d struct {
				Data struct {
					Valid bool `json:"valid"`
				} `json:"data"`
			}
			if json.Unmarshal(body, &d) != nil || !d.Data.Valid {
				t.Fatalf("decodeValid accepted %q", body)
			}
		} else if !isOneOf(err, ErrNotValid, agent.ErrEmptyBody, agent.ErrNoData, agent.ErrMalformed) {
			t.Fatalf("decodeValid error %v is none of the outcomes", err)
		}
		caps, err := decodeCapabilities(body)
		if err == nil && len(caps) == 0 {
			t.Fatalf("decodeCapabilities gave no capabilities and no error for %q", body)
		}
		if err != nil && !isOneOf(err, agent.ErrEmptyBody, agent.ErrNoData, agent.ErrMalformed) {
			t.Fatalf("decodeCapabilities error %v is none of the outcomes", err)
		}
	})
}

func isOneOf(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
