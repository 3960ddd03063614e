package agent

import (
	"errors"
	"io"
	"net/url"
	"os"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// FuzzDecodeError feeds any error body to the decoder: it never panics and
// always keeps the status it was given.
func FuzzDecodeError(f *testing.F) {
	f.Add([]byte(`{"errors":["OTP not found"]}`))
	f.Add([]byte("OTP not found\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{400, 403, 500, 503} {
			ve := decodeError(status, body, nil)
			if ve.Status != status {
				t.Fatalf("VaultError status %d, want %d", ve.Status, status)
			}
			_ = ve.Error()
		}
	})
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
	if err := decodeError(400, []byte("OTP not found\n"), nil); !err.Says(400, "OTP not found") {
		t.Fatalf("decodeError = %v, want 400 OTP not found", err)
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
