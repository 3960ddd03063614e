package quote

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextCutsLongTextWithAMarkAndLeavesShortTextAlone(t *testing.T) {
	long := strings.Repeat("a", 5000)
	cases := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"short", "permission denied", "permission denied"},
		{"exactly the limit", long[:MaxLen], long[:MaxLen]},
		{"one byte over", long[:MaxLen+1], long[:MaxLen] + "...[cut: 257 bytes in all]"},
		{"5000 bytes", long, long[:MaxLen] + "...[cut: 5000 bytes in all]"},
		{"cut inside a character", long[:MaxLen-1] + "é" + long, long[:MaxLen-1] + "...[cut: 5257 bytes in all]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Text(c.in)
			if got != c.want {
				t.Errorf("Text = %q\nwant   %q", got, c.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Text cut a character in two: %q", got)
			}
		})
	}
}

// The one place the URL redaction's output is pinned: userinfo, query
// values and the fragment go, on the raw string, parsed or not.
func TestURLRemovesCredentialsEvenFromURLsThatDoNotParse(t *testing.T) {
	cases := map[string]string{
		"https://vault.example.com:8200":        "https://vault.example.com:8200",
		"https://vault.example.com:8200/v1/ssh": "https://vault.example.com:8200/v1/ssh",
		"https://admin:secret@vault:8200":       "https://REDACTED@vault:8200",
		"https://admin@vault:8200/x":            "https://REDACTED@vault:8200/x",
		"https://admin:secret@":                 "https://REDACTED@",
		"https://admin:se cret@vault":           "https://REDACTED@vault",
		"https://admin:%zz@vault":               "https://REDACTED@vault",
		"https://admin:p@ss@vault/":             "https://REDACTED@vault/",
		"admin:secret@vault:8200":               "REDACTED@vault:8200",
		"https:admin:secret@vault":              "REDACTED@vault",
		"https://vault/?token=hvs.abc":          "https://vault/?token=REDACTED",
		"https://vault/?token=hvs.abc&x=1;y=2":  "https://vault/?token=REDACTED&x=REDACTED&y=REDACTED",
		"https://vault/?hvs.abc":                "https://vault/?REDACTED",
		"?://admin:secret@host=x":               "?REDACTED",
		"https://vault/?a:b@c=d&ok=1":           "https://vault/?REDACTED&ok=REDACTED",
		"https://vault/?":                       "https://vault/?",
		"https://vault/#frag":                   "https://vault/#REDACTED",
		"https://vault/#":                       "https://vault/#",
		"https://vault/#a?b=c":                  "https://vault/#REDACTED",
		"https://u:p@vault/?a=b#c":              "https://REDACTED@vault/?a=REDACTED#REDACTED",
		"https://vault/x?next=http://u:p@evil/": "https://vault/x?next=REDACTED",
		"https://u:p@ bad host/%zz?k=v":         "https://REDACTED@ bad host/%zz?k=REDACTED",
		"http://[::1/?secret=1":                 "http://[::1/?secret=REDACTED",
		"":                                      "",
		// An '@' in the path is the path's: the address, mount and key stay.
		"http://127.0.0.1:8200/v1/totp/code/ssh_alice@web1": "http://127.0.0.1:8200/v1/totp/code/ssh_alice@web1",
		"https://vault/v1/totp/code/alice@corp.example?x=1": "https://vault/v1/totp/code/alice@corp.example?x=REDACTED",
		"https://u:p@vault/v1/totp/code/ssh_alice@web1":     "https://REDACTED@vault/v1/totp/code/ssh_alice@web1",
		"vault:8200/v1/ssh_alice@web1":                      "vault:8200/v1/ssh_alice@web1",
		"u:p@vault:8200/v1/ssh_alice@web1":                  "REDACTED@vault:8200/v1/ssh_alice@web1",
		"https://vault/v1/a@b/c@d":                          "https://vault/v1/a@b/c@d",
		"a//b://u:p@vault/x@y":                              "a//b://REDACTED@vault/x@y",
		"a@b://u:p@vault/x@y":                               "REDACTED@b://REDACTED@vault/x@y",
		"https://admin:p/ss@vault":                          "https://REDACTED@vault",
		"https:/admin:p@vault":                              "https:/REDACTED@vault",
		"https:/vault/v1/totp/code/ssh_alice@web1":          "https:/vault/v1/totp/code/ssh_alice@web1",
		"https://vault/v1/x/a:b@c/d":                        "https://vault/v1/x/REDACTED@c/d",
		"https://admin:p/ss@vault/v1/x@y":                   "https://REDACTED@y",
		"admin:p/ss@vault:8200":                             "REDACTED@vault:8200",
		"https://vault:8200:9/x@y":                          "https://REDACTED@y",
		"http://[::1]:8200/v1/totp/code/alice@corp":         "http://[::1]:8200/v1/totp/code/alice@corp",
		"http://[::1]/v1/totp/code/alice@corp":              "http://[::1]/v1/totp/code/alice@corp",
		"https://vault/" + strings.Repeat("p", 300):         "https://vault/" + strings.Repeat("p", MaxLen-len("https://vault/")) + "...[cut: 314 bytes in all]",
		"https://a:b@vault/" + strings.Repeat("p", 9):       "https://REDACTED@vault/ppppppppp",
	}
	for in, want := range cases {
		if got := URL(in); got != want {
			t.Errorf("URL(%q)\n got  %q\n want %q", in, got, want)
		}
	}
}

func TestURLRemovesSecretsBeforeItCuts(t *testing.T) {
	otp := "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3a"
	in := "https://vault/" + strings.Repeat("p", MaxLen-len("https://vault/")-10) + otp
	got := URL(in, Secret{Value: otp, Mark: "<the OTP>"})
	if strings.Contains(got, otp[:8]) {
		t.Errorf("URL kept part of the OTP: %q", got)
	}
}

const otp = "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3a"

// The forms a server echoes a secret in, each replaced by the mark.
func TestRedactFindsTheSecretInEveryFormAServerEchoesIt(t *testing.T) {
	the := Secret{Value: otp, Mark: "<the OTP>"}
	code := Secret{Value: "493817", Mark: "<the code>"}
	token := Secret{Value: "hvs.CAESIJx7Qm9uZ3Rva2VuLXRlc3Q", Mark: "<the token>"}
	cases := []struct {
		name    string
		in      string
		secrets []Secret
		want    string
	}{
		{"as sent", "bad: " + otp + "!", []Secret{the}, "bad: <the OTP>!"},
		{"upper case", "bad: " + strings.ToUpper(otp), []Secret{the}, "bad: <the OTP>"},
		{"without dashes", "bad: 9f5c7c3e0b1e4b9e8d7a6f2e1c0d4b3a.", []Secret{the}, "bad: <the OTP>."},
		{"percent-encoded dashes", "otp=9f5c7c3e%2D0b1e%2d4b9e%2D8d7a%2D6f2e1c0d4b3a&x", []Secret{the}, "otp=<the OTP>&x"},
		{"percent-encoded whole", "otp=%39%66%35%63%37%63%33%65%2D%30%62%31%65%2D%34%62%39%65%2D%38%64%37%61%2D%36%66%32%65%31%63%30%64%34%62%33%61", []Secret{the}, "otp=<the OTP>"},
		{"JSON-escaped dashes", `{"otp":"9f5c7c3e\u002d0b1e\u002D4b9e\u002d8d7a\u002d6f2e1c0d4b3a"}`, []Secret{the}, `{"otp":"<the OTP>"}`},
		{"JSON-escaped letters", `"\u0039\u0066\u0035\u0063\u0037\u0063\u0033\u0065-0b1e-4b9e-8d7a-6f2e1c0d4b3a"`, []Secret{the}, `"<the OTP>"`},
		{"split across lines", "9f5c7c3e-0b1e-4b9e\r\n  -8d7a-6f2e1c0d4b3a", []Secret{the}, "<the OTP>"},
		{"split with escaped line breaks", `9f5c7c3e-0b1e\n4b9e-8d7a\r\n6f2e1c0d4b3a`, []Secret{the}, "<the OTP>"},
		{"twice", otp + " and " + otp, []Secret{the}, "<the OTP> and <the OTP>"},
		{"a part of 8 characters", "seen 0b1e-4b9e-8 only", []Secret{the}, "seen <the OTP> only"},
		{"a part of 7 characters stays", "seen 9f5c7c3 only", []Secret{the}, "seen 9f5c7c3 only"},
		{"escape-like text just before", `\u00` + otp, []Secret{the}, `\u00<the OTP>`},
		{"a 6-digit code", "code 493817 is invalid", []Secret{code}, "code <the code> is invalid"},
		{"a 6-digit code split", "code 493\n817", []Secret{code}, "code <the code>"},
		{"a 6-digit code after an escape-like text", `%4` + "93817", []Secret{code}, `%<the code>`},
		{"5 digits of a code stay", "code 49381", []Secret{code}, "code 49381"},
		{"two secrets", "token hvs.CAESIJx7Qm9uZ3Rva2VuLXRlc3Q code 493817", []Secret{code, token}, "token <the token> code <the code>"},
		{"nothing to hide", "permission denied", []Secret{the, code}, "permission denied"},
		{"an empty secret hides nothing", "permission denied", []Secret{{Value: "", Mark: "<x>"}}, "permission denied"},
		{"a secret of separators hides nothing", "a - b", []Secret{{Value: "--", Mark: "<x>"}}, "a - b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Redact(c.in, c.secrets...); got != c.want {
				t.Errorf("Redact(%q)\n got  %q\n want %q", c.in, got, c.want)
			}
		})
	}
}

// Cutting after redacting: a 6-digit code echoed across the cut leaves no
// digit of it, at every offset.
func TestOutsideRemovesACodeBeforeItCutsAtEveryOffset(t *testing.T) {
	code := Secret{Value: "493817", Mark: "<the code>"}
	for offset := 0; offset <= MaxLen+6; offset++ {
		got := Outside(strings.Repeat("x", offset)+"493817"+strings.Repeat("y", 40), code)
		for i := 0; i+3 <= 6; i++ {
			if strings.Contains(got, "493817"[i:i+3]) {
				t.Fatalf("offset %d: %q carries part of the code", offset, got)
			}
		}
	}
}
