package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// FuzzDecodeError feeds any error body to the decoder, with an OTP spliced
// in at any offset. Oracles apart from the decoder: the status is kept;
// the messages are what errorsOf reads (Vault's "errors" under the exact
// key, else the body whole); the printed message is bounded and carries no
// 8-character run of the OTP.
func FuzzDecodeError(f *testing.F) {
	f.Add([]byte(`{"errors":["OTP not found"]}`), uint16(0))
	f.Add([]byte("OTP not found\n"), uint16(4))
	f.Add([]byte(`{"errors":["a"],"Errors":["OTP not found"]}`), uint16(12))
	f.Add([]byte(strings.Repeat("x", 300)), uint16(240))
	f.Fuzz(func(t *testing.T, body []byte, at uint16) {
		for _, status := range []int{400, 403, 500, 503} {
			ve := decodeError(status, body, nil)
			if ve.Status != status {
				t.Fatalf("VaultError status %d, want %d", ve.Status, status)
			}
			if want := errorsOf(body); !slices.Equal(ve.Messages, want) {
				t.Fatalf("decodeError(%q).Messages = %q, want %q", body, ve.Messages, want)
			}
		}
		i := int(at) % (len(body) + 1)
		echoed := slices.Concat(body[:i], []byte(fuzzOTP), body[i:])
		msg := decodeError(400, echoed, []Secret{{Value: fuzzOTP, Mark: "<the OTP>"}}).Error()
		if len(msg) > len("Vault answered 400: ")+quote.MaxLen+len(fmt.Sprintf(quote.CutMark, 65536)) {
			t.Fatalf("a %d-byte body made a %d-byte message", len(echoed), len(msg))
		}
		lower := strings.ToLower(msg)
		for j := 0; j+8 <= len(fuzzOTP); j++ {
			if strings.Contains(lower, fuzzOTP[j:j+8]) {
				t.Fatalf("message carries %q of the OTP: %q", fuzzOTP[j:j+8], msg)
			}
		}
	})
}

const fuzzOTP = "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3a"

// errorsOf is FuzzDecodeError's oracle: a JSON object whose only key equal
// to "errors" in any case is exactly "errors", holding strings, gives those
// (none for null or no such key); anything else is the trimmed body, or no
// message for a blank one.
func errorsOf(body []byte) []string {
	raw := func() []string {
		if s := strings.TrimSpace(string(body)); s != "" {
			return []string{s}
		}
		return []string{}
	}
	var top map[string]json.RawMessage
	if !json.Valid(body) || json.Unmarshal(body, &top) != nil || top == nil {
		return raw()
	}
	// A map keeps one value per key: count the keys in the text itself.
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, found := 0, 0
	var value json.RawMessage
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			continue
		}
		key, isString := tok.(string)
		if depth != 1 || !isString {
			continue
		}
		// At depth 1 of an object, strings alternate key, value; read the
		// value whole so its strings are not taken for keys.
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return raw()
		}
		if strings.EqualFold(key, "errors") {
			found++
			if key != "errors" {
				found += 2
			}
			value = v
		}
	}
	switch {
	case found == 0:
		return nil
	case found > 1:
		return raw()
	}
	var messages []string
	if json.Unmarshal(value, &messages) != nil {
		return raw()
	}
	return messages
}

// The black-box tests cannot prove the proxy variables are ignored: Go never
// proxies a loopback address. The transport itself must have no proxy.
func TestTransportHasNoProxyEvenWhenTheEnvironmentNamesOne(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
	u, _ := url.Parse("https://vault.example.com:8200")
	tr := newTransport(&config.Config{VaultAddrs: []*url.URL{u}})
	if tr.Proxy != nil {
		t.Fatal("transport has a Proxy function")
	}
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion < 0x0303 {
		t.Fatalf("transport TLS config allows versions below 1.2: %+v", tr.TLSClientConfig)
	}
}

func TestNewLeavesNoVaultOrProxyVariableForLibrariesToRead(t *testing.T) {
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:9")
	t.Setenv("vault_token", "x")
	t.Setenv("https_proxy", "http://127.0.0.1:9")
	t.Setenv("PATH_KEEP", "kept")
	u, _ := url.Parse("https://vault.example.com:8200")
	if _, err := New(&config.Config{VaultAddrs: []*url.URL{u}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"VAULT_ADDR", "vault_token", "https_proxy"} {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("%s=%q still set after New", name, v)
		}
	}
	if v, _ := os.LookupEnv("PATH_KEEP"); v != "kept" {
		t.Errorf("an unrelated variable was touched: PATH_KEEP=%q", v)
	}
}

func TestDecodeErrorMatchesOTPNotFoundInAPlainTextBody(t *testing.T) {
	if err := decodeError(400, []byte("OTP not found\n"), nil); !err.Says(400, "OTP not found") {
		t.Fatalf("decodeError = %v, want 400 OTP not found", err)
	}
}

func TestTheGuardsBoundTellsExactlyTheLimitFromOver(t *testing.T) {
	for _, c := range []struct {
		size int
		over bool
	}{{0, false}, {maxBodySize - 1, false}, {maxBodySize, false}, {maxBodySize + 1, true}, {3 * maxBodySize, true}} {
		req, _ := http.NewRequest(http.MethodGet, "http://vault.example.com/", nil)
		resp, err := (&guard{next: sized(c.size), scheme: "http"}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		n := len(got)
		switch {
		case c.over && !errors.Is(classify(req.Context(), err), errBodyTooLarge):
			t.Errorf("size %d: err = %v, want errBodyTooLarge", c.size, err)
		case !c.over && (err != nil || n != c.size):
			t.Errorf("size %d: read %d, err %v", c.size, n, err)
		}
	}
}

// sized answers 200 with a body of that many bytes.
type sized int

func (s sized) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(io.LimitReader(zeros{}, int64(s)))}, nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// fuzzAuth reads a little of every shape DecodeObject is asked for.
type fuzzAuth struct {
	ClientToken *string  `json:"client_token"`
	Policies    []string `json:"policies"`
	Renewable   *bool    `json:"renewable"`
	TTL         int32    `json:"lease_duration"`
	Metadata    *struct {
		RoleName string `json:"role_name"`
	} `json:"metadata"`
	Entities []struct {
		Name string `json:"name"`
	} `json:"entities"`
	Labels map[string]string `json:"labels"`
}

// FuzzDecodeObject holds DecodeObject (checkObject, then encoding/json) to
// encoding/json, the reference for what an answer means. encoding/json
// matches keys in any case and keeps the last, so where the two differ an
// ambiguous key got through. Taken: encoding/json reads the same struct.
// Refused while encoding/json reads an auth object: only for a key twice
// or in another case, or a value encoding/json also refuses somewhere.
func FuzzDecodeObject(f *testing.F) {
	f.Add([]byte(loginAnswer))
	for _, seed := range []string{
		`{"auth":{"client_token":"t","policies":["a",null],"renewable":true,"lease_duration":-0,"metadata":{"role_name":"r"}}}`,
		`{"auth":{"entities":[{"name":"a"},{"Name":"b"}],"labels":{"a":"b","a":"c"}}}`,
		`{"auth":{"lease_duration":2147483648}}`, `{"auth":{"lease_duration":1.0}}`, `{"auth":{"client_token":"a","Client_Token":"b"}}`,
		`{"auth":{"uſername":1,"metadata":null}}`, `{"auth":{"labels":{"x":1}}}`, `{"auth":{"policies":"x"}}`, `{"Auth":{}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got fuzzAuth
		err := DecodeObject(body, "auth", &got)
		var want struct {
			Auth *fuzzAuth `json:"auth"`
		}
		refErr := json.Unmarshal(body, &want)
		switch {
		case err == nil:
			if refErr != nil || want.Auth == nil || !reflect.DeepEqual(got, *want.Auth) {
				t.Fatalf("DecodeObject(%q) = %+v; encoding/json reads %+v, %v", body, got, want.Auth, refErr)
			}
		case !errors.Is(err, ErrEmptyBody) && !errors.Is(err, ErrNoData) && !errors.Is(err, ErrMalformed):
			t.Fatalf("DecodeObject(%q) error %v is none of the typed outcomes", body, err)
		case refErr == nil && want.Auth != nil && !errors.Is(err, errTwice) && !errors.Is(err, errOtherCase):
			t.Fatalf("DecodeObject(%q) refused with %v what encoding/json reads as %+v", body, err, *want.Auth)
		}
	})
}
