package agent_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

// testOTP is a made-up OTP in Vault's UUID shape; it grants nothing anywhere.
const testOTP = "1f2e3d4c-5b6a-4789-8abc-def012345678"

// successBody is a verify answer as Vault v1.x sends it.
const successBody = `{"request_id":"8c2b5f0e-3c1a-6f7e-2a9d-1b4c5d6e7f80","lease_id":"","renewable":false,` +
	`"lease_duration":0,"data":{"ip":"127.0.0.1","role_name":"otp_key_role","username":"ubuntu"},` +
	`"wrap_info":null,"warnings":null,"auth":null}`

// seen is one request as the fake Vault received it.
type seen struct {
	Method string
	Host   string
	Path   string
	Header http.Header
	Body   []byte
}

// recorder is a fake Vault: it records every request, then hands it to
// the test's handler.
type recorder struct {
	handler http.HandlerFunc
	mu      sync.Mutex
	reqs    []seen
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body)) // the handler may read it too
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, seen{Method: r.Method, Host: r.Host, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	rec.mu.Unlock()
	if rec.handler != nil {
		rec.handler(w, r)
	}
}

func (rec *recorder) requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.reqs...)
}

func (rec *recorder) count() int { return len(rec.requests()) }

// only returns the single request the server got, failing the test when it
// got none or several.
func (rec *recorder) only(t *testing.T) seen {
	t.Helper()
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("fake Vault received %d requests, want exactly 1", len(reqs))
	}
	return reqs[0]
}

// answer is a handler that always sends status and body as JSON.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// quietLog keeps the server's TLS handshake complaints out of the test output.
var quietLog = log.New(io.Discard, "", 0)

// serveHTTP starts a plain HTTP fake Vault on 127.0.0.1.
func serveHTTP(t *testing.T, h http.HandlerFunc) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{handler: h}
	srv := httptest.NewUnstartedServer(rec)
	srv.Config.ErrorLog = quietLog
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, rec
}

// serveTLS starts an HTTPS fake Vault on 127.0.0.1 with httptest's own
// certificate (valid for 127.0.0.1), or with tlsConf when not nil.
func serveTLS(t *testing.T, h http.HandlerFunc, tlsConf *tls.Config) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{handler: h}
	srv := httptest.NewUnstartedServer(rec)
	srv.Config.ErrorLog = quietLog
	if tlsConf != nil {
		srv.TLS = tlsConf
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, rec
}

// sshOTP offers the SSH OTP mode, whose allowed_roles hcl sets.
var sshOTP = []config.Mode{sshotp.Plugin.Mode}

// hcl builds a config file for addr: allowed_roles is always set, extra lines
// are appended as written.
func hcl(addr string, extra ...string) string {
	lines := []string{fmt.Sprintf("vault_addr = %q", addr), `allowed_roles = "*"`}
	return strings.Join(append(lines, extra...), "\n") + "\n"
}

// newClient runs the file through the real config validation, then builds
// the agent from it, as the SSH OTP mode uses it: the shared transport is
// exercised through the mode's calls. dev is chosen from the address's scheme.
func newClient(t *testing.T, text string) *sshotp.Client {
	t.Helper()
	dev := strings.Contains(text, `vault_addr = "http://`)
	cfg, err := config.Parse([]byte(text), config.Options{Modes: sshOTP, Dev: dev})
	if err != nil {
		t.Fatalf("config.Parse:\n%s\n%v", text, err)
	}
	c, err := agent.New(cfg)
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return sshotp.NewClient(c, cfg.ModeSettings.(*sshotp.Settings).MountPoint)
}

// ctx is a generous deadline: the tests that want a short one set their own.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// verify builds a client for text and verifies testOTP with it.
func verify(t *testing.T, text string) (sshotp.Verified, error) {
	t.Helper()
	return newClient(t, text).Verify(ctx(t), testOTP)
}

// writePEM writes DER certificates as one PEM file with mode 0600.
func writePEM(t *testing.T, path string, ders ...[]byte) string {
	t.Helper()
	var out []byte
	for _, der := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverCAFile writes the httptest server's certificate as a CA file.
func serverCAFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	return writePEM(t, filepath.Join(t.TempDir(), "vault-ca.pem"), srv.Certificate().Raw)
}

// testCA is a CA made for one test, able to sign leaf certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

var serial struct {
	sync.Mutex
	n int64
}

func nextSerial() *big.Int {
	serial.Lock()
	defer serial.Unlock()
	serial.n++
	return big.NewInt(serial.n)
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, der: der}
}

// leaf issues a server certificate valid only for dnsName (no IP address).
func (ca *testCA) leaf(t *testing.T, dnsName string) tls.Certificate {
	t.Helper()
	return ca.issue(t, dnsName, []string{dnsName}, x509.ExtKeyUsageServerAuth)
}

// issue signs a fresh key's certificate for one purpose (server or client).
func (ca *testCA) issue(t *testing.T, cn string, dnsNames []string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dnsNames,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) file(t *testing.T) string {
	t.Helper()
	return writePEM(t, filepath.Join(t.TempDir(), "ca.pem"), ca.der)
}
