package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// A credential written into vault_addr never reaches a message, however
// else the address is wrong: every message quotes it through quote.URL,
// which works on the raw string. (The messages' texts: TestMessages.)
func TestVaultAddrMessagesCarryNoCredentialWhateverElseIsWrong(t *testing.T) {
	notURL, carries := ErrNotURL, ErrAddrCarries
	cases := []struct {
		name, addr string
		dev        bool
		shown      string
		reason     error
	}{
		{"password and no host", "https://admin:hunter2@", false, `vault_addr "https://` + quote.Hidden + `@"`, notURL},
		{"password and a bad escape", "https://admin:hunter2@vault/%zz", false, `vault_addr "https://` + quote.Hidden + `@vault/%zz"`, notURL},
		{"bad escape in the password", "https://admin:hunter2%zz@vault", false, `vault_addr "https://` + quote.Hidden + `@vault"`, notURL},
		{"password and a space", "https://admin:hunter2@va ult", false, `vault_addr "https://` + quote.Hidden + `@va ult"`, notURL},
		{"password with a space", "https://admin:hun ter2@vault", false, `vault_addr "https://` + quote.Hidden + `@vault"`, notURL},
		{"password and another scheme", "ftp://admin:hunter2@vault", false, `vault_addr "ftp://` + quote.Hidden + `@vault"`, notURL},
		{"password and no scheme", "admin:hunter2@vault:8200", false, `vault_addr "` + quote.Hidden + `@vault:8200"`, notURL},
		{"password and a bad port", "https://admin:hunter2@vault:x", false, `vault_addr "https://` + quote.Hidden + `@vault:x"`, notURL},
		{"password with a slash", "https://admin:hun/ter2@vault", false, `vault_addr "https://` + quote.Hidden + `@vault"`, notURL},
		{"password after one slash", "https:/admin:hunter2@vault", false, `vault_addr "https:/` + quote.Hidden + `@vault"`, notURL},
		{"password, parses", "https://admin:hunter2@vault", false, `vault_addr "https://` + quote.Hidden + `@vault"`, carries},
		{"password under -dev", "http://admin:hunter2@vault", true, `vault_addr "http://` + quote.Hidden + `@vault"`, carries},
		{"password and http without -dev", "http://admin:hunter2@vault", false, `vault_addr "http://` + quote.Hidden + `@vault"`, carries},
		{"token in the query", "https://vault/?token=hunter2", false, `vault_addr "https://vault/?token=` + quote.Hidden + `"`, carries},
		{"token in the query and a bad escape", "https://vault/%zz?token=hunter2", false, `vault_addr "https://vault/%zz?token=` + quote.Hidden + `"`, notURL},
		{"token in the query and no host", "https://?token=hunter2", false, `vault_addr "https://?token=` + quote.Hidden + `"`, notURL},
		{"token as the whole query", "https://vault/?hunter2", false, `vault_addr "https://vault/?` + quote.Hidden + `"`, carries},
		{"token in the fragment", "https://vault/#hunter2", false, `vault_addr "https://vault/#` + quote.Hidden + `"`, carries},
		{"token in the fragment and a space", "https://va ult/#hunter2", false, `vault_addr "https://va ult/#` + quote.Hidden + `"`, notURL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := `vault_addr = "` + c.addr + `"` + "\nallowed_roles=\"*\""
			wantRefusedFor(t, text, Options{Dev: c.dev}, c.reason, c.shown)
			msg := parseError(t, text, Options{Dev: c.dev})
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "hun") {
				t.Errorf("message carries the credential: %s", msg)
			}
		})
	}
}

// FuzzVaultAddrNeverQuotesItsPassword builds an address around a fuzzed
// password (and a fuzzed rest) and checks, independently of how the
// message is built, that the password is nowhere in it, and that a path
// holding '@' (a key named "ssh_alice@web1") is in it whole: hiding the
// userinfo must not eat the path.
func FuzzVaultAddrNeverQuotesItsPassword(f *testing.F) {
	f.Add("https", "admin", "hunter2", "vault:8200", "/x")
	f.Add("https", "a", "hunter2", "", "%zz")
	f.Add("ftp", "", "hunter2", "va ult", "?q=1")
	f.Add("https", "admin", "hunter2", "vault:8200", "/v1/totp/code/ssh_alice@web1")
	f.Add("http", "", "hunter2", "vault", "/v1/alice@corp.example?x=1")
	f.Fuzz(func(t *testing.T, scheme, user, password, host, rest string) {
		// A password the rest of the address also contains, as written or
		// as %q writes it (a byte 0x80 then "000" reads \x80000), proves
		// nothing.
		others := scheme + "://" + user + ":@" + host + rest
		if len(password) < 4 || strings.ContainsAny(password, "@/?#") || strings.ContainsAny(user, "@/?#") ||
			strings.Contains(others, password) || strings.Contains(strconv.Quote(others), password) {
			return
		}
		addr := scheme + "://" + user + ":" + password + "@" + host + rest
		for _, dev := range []bool{false, true} {
			_, err := parseVaultAddr(addr, true, dev)
			if err == nil {
				t.Fatalf("accepted %q", addr)
			}
			// The cut mark is the helper's own words: "000" before it
			// and its "." do not quote a password "000.".
			for _, part := range cutMark.Split(err.Error(), -1) {
				if strings.Contains(part, password) {
					t.Fatalf("message quotes the password %q: %v", password, err)
				}
			}
			// parseVaultAddr trims the address; a '?' or '#' in the
			// scheme starts the query, where no path is; with a ':' it
			// is no scheme, and what stands before "//" may be a
			// password cut by a '/' (quote.URL then keeps secrecy over
			// the path).
			hostRest := strings.TrimRightFunc(host+rest, unicode.IsSpace)
			if path, ok := pathWithAt(hostRest); ok && len(addr) < quote.MaxLen/2 && !strings.ContainsAny(scheme, "?#:") {
				if quoted := strconv.Quote(path); !strings.Contains(err.Error(), quoted[1:len(quoted)-1]) {
					t.Fatalf("message lost the path %q of %q: %v", path, addr, err)
				}
			}
		}
	})
}

// cutMark is quote.CutMark as it stands in a message.
var cutMark = regexp.MustCompile(strings.Replace(regexp.QuoteMeta(quote.CutMark), "%d", `\d+`, 1))

// pathWithAt is what follows the authority in hostRest (the address after
// its userinfo), up to its query or fragment, when it holds an '@', no
// empty segment ("//", where an authority may start again) and no ':'.
func pathWithAt(hostRest string) (string, bool) {
	slash := strings.IndexByte(hostRest, '/')
	if slash < 0 || strings.ContainsAny(hostRest[:slash], "?#") {
		return "", false
	}
	path := hostRest[slash:]
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	// A ':' before an '@' in a segment reads as "user:password@" and is
	// hidden (quote.URL's rule for segments outside an authority).
	return path, strings.Contains(path, "@") && !strings.Contains(path, "//") && !strings.Contains(path, ":")
}

func TestVaultAddrListsAddressesInTheOrderWritten(t *testing.T) {
	cfg := mustParse(t, `vault_addr = " https://b.example:8200 ,https://a.example/vault/, https://c.example"
allowed_roles = "*"`, Options{})
	want := []string{"https://b.example:8200", "https://a.example/vault/", "https://c.example"}
	if len(cfg.VaultAddrs) != len(want) {
		t.Fatalf("VaultAddrs = %v", cfg.VaultAddrs)
	}
	for i, w := range want {
		if cfg.VaultAddrs[i].String() != w {
			t.Errorf("VaultAddrs[%d] = %s, want %s", i, cfg.VaultAddrs[i], w)
		}
	}
	if got := cfg.Addrs(); len(got) != 3 || got[0] != cfg.VaultAddrs[0] {
		t.Errorf("Addrs = %v", got)
	}
}

func TestOneVaultAddrIsAListOfOne(t *testing.T) {
	cfg := mustParse(t, minimal, Options{})
	if got := cfg.Addrs(); len(got) != 1 || got[0].String() != "https://vault.example.com:8200" {
		t.Errorf("Addrs = %v", got)
	}
}

// Two spellings of one Vault are refused; addresses that differ in port,
// path or host are not. The message is pinned in vault_addrs.txtar.
func TestVaultAddrRefusesOneVaultListedTwice(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"https://v.example", "https://v.example", true},
		{"https://v.example", "https://V.EXAMPLE", true},
		{"https://v.example", "https://v.example:443", true},
		{"https://v.example:8200", "https://v.example:8200/", true},
		{"https://v.example/vault", "https://v.example/vault/", true},
		{"https://[::1]:8200", "https://[0:0::1]:8200", false}, // not resolved: two spellings, two entries
		{"https://v.example:8200", "https://v.example:8201", false},
		{"https://v.example/a", "https://v.example/b", false},
		{"https://v1.example", "https://v2.example", false},
	} {
		_, err := parse([]byte(`vault_addr = "`+c.a+`, `+c.b+`"`+"\nallowed_roles = \"*\""), Options{})
		if refused := errors.Is(err, ErrAddrTwice); refused != c.same {
			t.Errorf("%s and %s: err = %v", c.a, c.b, err)
		}
	}
}

func TestEveryBadEntryOfVaultAddrIsReported(t *testing.T) {
	_, err := parse([]byte(`vault_addr = "ftp://a, , http://b, https://c, https://c"`+"\nallowed_roles = \"*\""), Options{})
	if err == nil {
		t.Fatal("accepted")
	}
	if n := strings.Count(err.Error(), "vault_addr"); n != 4 {
		t.Errorf("%d problems named, want 4: %v", n, err)
	}
}
