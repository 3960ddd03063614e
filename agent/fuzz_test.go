package agent

import (
	"errors"
	"io"
	"net/url"
	"os"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// FuzzDecodeVerify feeds any body to the three decoders. None may panic; a
// verify answer is either an error or a Verified fit to be judged (a
// non-empty username and a valid, zone-less IP), never a zero Verified with a
// nil error; every error is one of the outcomes callers tell apart.
func FuzzDecodeVerify(f *testing.F) {
	f.Add([]byte(`{"data":{"username":"ubuntu","ip":"127.0.0.1","role_name":"otp_key_role"}}`))
	f.Add([]byte(`{"errors":["OTP not found"]}`))
	f.Add([]byte(`{"data":{"message":"verify-echo-response"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := decodeVerify(body)
		if err == nil {
			if v.Username == "" {
				t.Fatalf("Verified with an empty username and nil error from %q", body)
			}
			if !v.IP.IsValid() || v.IP.Zone() != "" {
				t.Fatalf("Verified with IP %v and nil error from %q", v.IP, body)
			}
		} else {
			if v != (Verified{}) {
				t.Fatalf("Verified %+v returned with error %v", v, err)
			}
			if !isOneOf(err, ErrEmptyBody, ErrNoData, ErrMalformed) {
				t.Fatalf("decodeVerify error %v is none of the typed outcomes", err)
			}
		}

		if err := decodeEcho(body); err != nil && !isOneOf(err, ErrBadEcho, ErrEmptyBody, ErrNoData, ErrMalformed) {
			t.Fatalf("decodeEcho error %v is none of the typed outcomes", err)
		}

		for _, status := range []int{400, 403, 500, 503} {
			err := decodeError(status, body)
			var ve *VaultError
			switch {
			case errors.Is(err, ErrOTPNotFound):
				if status != 400 {
					t.Fatalf("status %d read as OTP not found", status)
				}
			case errors.As(err, &ve):
				if ve.Status != status {
					t.Fatalf("VaultError status %d, want %d", ve.Status, status)
				}
				_ = ve.Error()
			default:
				t.Fatalf("decodeError(%d) = %v (%T), neither ErrOTPNotFound nor *VaultError", status, err, err)
			}
		}
	})
}

func isOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// The black-box tests cannot prove the proxy variables are ignored: Go never
// proxies a loopback address. The transport itself must have no proxy.
func TestTransportHasNoProxyEvenWhenTheEnvironmentNamesOne(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
	u, _ := url.Parse("https://vault.example.com:8200")
	tr := newTransport(&config.Config{VaultAddr: u})
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
	if _, err := New(&config.Config{VaultAddr: u, MountPoint: "ssh"}); err != nil {
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
	if err := decodeError(400, []byte("OTP not found\n")); !errors.Is(err, ErrOTPNotFound) {
		t.Fatalf("decodeError = %v, want ErrOTPNotFound", err)
	}
}

func TestLimitedBodyTellsExactlyTheLimitFromOver(t *testing.T) {
	for _, c := range []struct {
		size int
		over bool
	}{{0, false}, {maxBodySize - 1, false}, {maxBodySize, false}, {maxBodySize + 1, true}, {3 * maxBodySize, true}} {
		lb := &limitedBody{rc: io.NopCloser(io.LimitReader(zeros{}, int64(c.size))), left: maxBodySize}
		got, err := io.ReadAll(lb)
		n := len(got)
		switch {
		case c.over && !errors.Is(err, errBodyTooLarge):
			t.Errorf("size %d: err = %v, want errBodyTooLarge", c.size, err)
		case !c.over && (err != nil || n != c.size):
			t.Errorf("size %d: read %d, err %v", c.size, n, err)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
