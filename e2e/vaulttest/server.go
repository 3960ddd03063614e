package vaulttest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/audit"
	auditfile "github.com/hashicorp/vault/builtin/audit/file"
	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/builtin/logical/ssh"
	"github.com/hashicorp/vault/builtin/logical/totp"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/internalshared/configutil"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
)

// DefaultServerName is the DNS name in the certificate of a StartTLS server.
const DefaultServerName = "vault.vsh.test"

// Server is one real Vault core serving its HTTP API on 127.0.0.1.
type Server struct {
	// Addr is the base URL: "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
	Addr string
	// RootToken authenticates the harness's own requests (never the helper's).
	RootToken string
	// Core is Vault's core, for what the HTTP API cannot do.
	Core *vault.Core

	// TLS servers only: CACertFile is a 0644 PEM file of the CA that signed the
	// server certificate (ca_cert); CADir is a directory holding only that PEM
	// (ca_path); ServerName is the DNS name in the certificate (tls_server_name).
	CACertFile string
	CADir      string
	ServerName string
	// CA is the authority that signed the server certificate (TLS only).
	CA *CA
	// ClientCertFile and ClientKeyFile: a client certificate the listener
	// accepts (TLSOptions.RequireClientCert only).
	ClientCertFile, ClientKeyFile string

	client   *http.Client
	httpSrv  *http.Server
	stopOnce sync.Once
}

// TLSOptions shape the certificate of a StartTLSWith server.
type TLSOptions struct {
	// ServerName is the DNS name in the certificate; DefaultServerName if empty.
	ServerName string
	// OmitIPSAN leaves 127.0.0.1 out of the certificate, so that a client
	// dialling https://127.0.0.1 verifies only when told the ServerName
	// (tls_server_name).
	OmitIPSAN bool
	// RequireClientCert makes the listener demand a client certificate
	// signed by the server's CA, as Vault's tls_require_and_verify_client_cert
	// does; Server.ClientCertFile and ClientKeyFile hold one for the helper.
	RequireClientCert bool
}

// Options shape a harness server; the zero value is Start's.
type Options struct {
	// ListenIP is the loopback address to listen on; "127.0.0.1" if empty.
	// Any 127.0.0.0/8 address works on Linux without configuration.
	ListenIP string
	// TLS, when set, serves https with a certificate from a fresh CA.
	TLS *TLSOptions
}

// Start runs a real, unsealed Vault with plain HTTP on a free 127.0.0.1 port,
// with the SSH secrets engine mounted at "ssh" and at "ssh-other". It is
// stopped by t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartTLS is Start over https, with a certificate for 127.0.0.1 and
// DefaultServerName signed by a CA generated for this test.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{TLS: &TLSOptions{}})
}

// StartTLSWith is StartTLS with a chosen certificate shape.
func StartTLSWith(t testing.TB, opts TLSOptions) *Server {
	t.Helper()
	return StartWith(t, Options{TLS: &opts})
}

// Backends are the logical backends every harness core can mount.
func Backends() map[string]logical.Factory {
	return map[string]logical.Factory{
		"ssh":  ssh.Factory,
		"totp": totp.Factory,
		// KV v2 holds the helper's shared record of used TOTP codes.
		"kv": kv.Factory,
	}
}

// CredentialBackends are the auth methods every harness core can enable: AppRole, the way a
// TOTP host logs in.
func CredentialBackends() map[string]logical.Factory {
	return map[string]logical.Factory{"approle": approle.Factory}
}

// AuditBackends are the audit devices every harness core can enable: a file device lets a
// test count, from Vault's side, the requests that reached it.
func AuditBackends() map[string]audit.Factory {
	return map[string]audit.Factory{"file": auditfile.Factory}
}

// StartWith is Start with Options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	tlsOpts := o.TLS
	ip := o.ListenIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	logs := keepLogs(t, "vault")
	logger := hclog.New(&hclog.LoggerOptions{Name: "vault", Level: hclog.Warn, Output: logs})

	core, _, root := vault.TestCoreUnsealedWithConfig(tbT{t}, &vault.CoreConfig{
		LogicalBackends:    Backends(),
		CredentialBackends: CredentialBackends(),
		AuditBackends:      AuditBackends(),
		Logger:             logger,
	})

	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("vaulttest: listen: %v", err)
	}
	s := &Server{RootToken: root, Core: core}
	clientTLS := &tls.Config{MinVersion: tls.VersionTLS12}
	scheme := "http"
	if tlsOpts != nil {
		name := tlsOpts.ServerName
		if name == "" {
			name = DefaultServerName
		}
		var ips []net.IP
		if !tlsOpts.OmitIPSAN {
			ips = []net.IP{net.ParseIP(ip)}
		}
		s.CA = NewCA(t)
		s.CACertFile, s.CADir, s.ServerName = s.CA.CertFile, s.CA.Dir, name
		cert := s.CA.ServerCert(t, []string{name}, ips)
		serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if tlsOpts.RequireClientCert {
			serverTLS.ClientAuth = tls.RequireAndVerifyClientCert
			serverTLS.ClientCAs = s.CA.Pool()
			var own tls.Certificate
			s.ClientCertFile, s.ClientKeyFile, own = s.CA.ClientPair(t)
			clientTLS.Certificates = []tls.Certificate{own}
		}
		ln = tls.NewListener(ln, serverTLS)
		clientTLS.RootCAs = s.CA.Pool()
		clientTLS.ServerName = name
		scheme = "https"
	}
	s.Addr = scheme + "://" + ln.Addr().String()

	handler := vaulthttp.Handler.Handler(&vault.HandlerProperties{
		Core:           core,
		ListenerConfig: &configutil.Listener{Address: ln.Addr().String(), MaxRequestDuration: vault.DefaultMaxRequestDuration},
	})
	s.httpSrv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(logs, "vault-http: ", 0),
	}
	go func() { _ = s.httpSrv.Serve(ln) }()
	t.Cleanup(s.Stop)

	s.client = newClient(clientTLS)
	s.Mount(t, "ssh", "ssh")
	s.Mount(t, "ssh-other", "ssh")
	return s
}

func newClient(tlsConf *tls.Config) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		// Proxy is nil on purpose: tests set proxy variables for the helper only.
		Transport: &http.Transport{TLSClientConfig: tlsConf, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Stop closes the HTTP listener and every open connection: the address then
// refuses connections. The core itself is shut down by t.Cleanup. Idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.httpSrv != nil {
			_ = s.httpSrv.Close()
		}
	})
}

// Seal seals the core; every request then answers 503 "Vault is sealed".
func (s *Server) Seal(t testing.TB) {
	t.Helper()
	if err := s.Core.Seal(s.RootToken); err != nil {
		t.Fatalf("vaulttest: seal: %v", err)
	}
	if !s.Core.Sealed() {
		t.Fatal("vaulttest: core is not sealed after Seal")
	}
}

// Mount enables a secrets engine of the given type at path.
func (s *Server) Mount(t testing.TB, path, typ string) {
	t.Helper()
	s.Write(t, "sys/mounts/"+path, map[string]any{"type": typ})
}

// CreateOTPRole creates an OTP role at <mount>/roles/<role>. Any username may
// ask for credentials (allowed_users "*"); defaultUser is used when none is
// given; cidrList limits the IPs OTPs can be issued for (e.g. "0.0.0.0/0").
func (s *Server) CreateOTPRole(t testing.TB, mount, role, defaultUser, cidrList string) {
	t.Helper()
	s.Write(t, mount+"/roles/"+role, map[string]any{
		"key_type":      "otp",
		"default_user":  defaultUser,
		"allowed_users": "*",
		"cidr_list":     cidrList,
	})
}

// IssueOTP asks <mount>/creds/<role> for a real OTP for username@ip.
func (s *Server) IssueOTP(t testing.TB, mount, role, username, ip string) string {
	t.Helper()
	data := s.Write(t, mount+"/creds/"+role, map[string]any{"username": username, "ip": ip})
	key, _ := data["key"].(string)
	if key == "" {
		t.Fatalf("vaulttest: %s/creds/%s answered without a key", mount, role)
	}
	return key
}

// Request sends one request with the root token to /v1/<path> and returns the
// status code and the decoded JSON body (nil when empty).
func (s *Server) Request(t testing.TB, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return s.RequestAs(t, s.RootToken, method, path, body)
}

// RequestAs is Request with another token (none when token is empty).
func (s *Server) RequestAs(t testing.TB, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("vaulttest: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.Addr+"/v1/"+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	req.Header.Set("X-Vault-Request", "true")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("vaulttest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("vaulttest: %s %s: read body: %v", method, path, err)
	}
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("vaulttest: %s %s: status %d, body is not JSON", method, path, resp.StatusCode)
		}
	}
	return resp.StatusCode, out
}

// Write PUTs body to /v1/<path> and returns the response's data; any status
// other than 200/204 fails the test (with Vault's errors, never the body).
func (s *Server) Write(t testing.TB, path string, body map[string]any) map[string]any {
	t.Helper()
	code, out := s.Request(t, http.MethodPut, path, body)
	if code != http.StatusOK && code != http.StatusNoContent {
		t.Fatalf("vaulttest: PUT %s: status %d, errors %v", path, code, out["errors"])
	}
	data, _ := out["data"].(map[string]any)
	return data
}

// keepLogs returns a writer whose content is printed through t only if the
// test fails; it is registered first, so it prints after every shutdown.
func keepLogs(t testing.TB, what string) io.Writer {
	lb := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", what, lb.String())
		}
	})
	return lb
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 4<<20 {
		return len(p), nil
	}
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// tbT lets a testing.TB stand where Vault's helpers want
// github.com/mitchellh/go-testing-interface's T (which also has Parallel).
type tbT struct{ testing.TB }

func (tbT) Parallel() {}
