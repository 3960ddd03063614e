package agent_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestVerifyTrustsTheCACertFile(t *testing.T) {
	t.Parallel()
	srv, rec := serveTLS(t, answer(200, successBody), nil)
	if _, err := verify(t, hcl(srv.URL, `ca_cert = "`+serverCAFile(t, srv)+`"`)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	rec.only(t)
}

func TestVerifyTrustsACADirectory(t *testing.T) {
	t.Parallel()
	srv, _ := serveTLS(t, answer(200, successBody), nil)
	dir := filepath.Join(t.TempDir(), "ca.d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	other := newCA(t, "unrelated CA")
	writePEM(t, filepath.Join(dir, "0-other.pem"), other.der)
	writePEM(t, filepath.Join(dir, "1-vault.pem"), srv.Certificate().Raw)
	if _, err := verify(t, hcl(srv.URL, `ca_path = "`+dir+`"`)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerifyRefusesAServerSignedByAnotherCA(t *testing.T) {
	t.Parallel()
	srv, rec := serveTLS(t, answer(200, successBody), nil)
	wrong := newCA(t, "wrong CA")
	v, err := verify(t, hcl(srv.URL, `ca_cert = "`+wrong.file(t)+`"`))
	if err == nil {
		t.Fatalf("Verify trusted a server the CA did not sign: %+v", v)
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q should mention the certificate", err)
	}
	if rec.count() != 0 {
		t.Errorf("server received %d requests", rec.count())
	}
}

func TestVerifyRefusesAnUnknownServerWithTheSystemRoots(t *testing.T) {
	t.Parallel()
	srv, rec := serveTLS(t, answer(200, successBody), nil)
	_, err := verify(t, hcl(srv.URL))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Verify error = %v, want a certificate error", err)
	}
	if rec.count() != 0 {
		t.Errorf("server received %d requests", rec.count())
	}
}

func TestVerifySkipsCertificateChecksWhenTLSSkipVerifyIsSet(t *testing.T) {
	t.Parallel()
	srv, _ := serveTLS(t, answer(200, successBody), nil)
	if _, err := verify(t, hcl(srv.URL, `tls_skip_verify = true`)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// nameOnlyServer serves a certificate valid only for "vault.test", issued by
// a CA of its own, and records the SNI names clients sent.
func nameOnlyServer(t *testing.T) (addr, caFile string, sni func() []string, rec *recorder) {
	t.Helper()
	ca := newCA(t, "vault.test CA")
	cert := ca.leaf(t, "vault.test")
	var mu sync.Mutex
	var names []string
	conf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			names = append(names, hello.ServerName)
			mu.Unlock()
			return nil, nil
		},
	}
	srv, rec := serveTLS(t, answer(200, successBody), conf)
	return srv.URL, ca.file(t), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), names...)
	}, rec
}

func TestVerifyChecksTheCertificateAgainstTLSServerName(t *testing.T) {
	t.Parallel()
	addr, ca, sni, rec := nameOnlyServer(t)
	if !strings.HasPrefix(addr, "https://127.0.0.1:") {
		t.Fatalf("server at %s, want 127.0.0.1", addr)
	}
	_, err := verify(t, hcl(addr, `ca_cert = "`+ca+`"`, `tls_server_name = "vault.test"`))
	if err != nil {
		t.Fatalf("Verify with tls_server_name: %v", err)
	}
	rec.only(t)
	if got := sni(); len(got) != 1 || got[0] != "vault.test" {
		t.Errorf("SNI sent = %q, want [vault.test]", got)
	}
}

func TestVerifyRefusesACertificateForAnotherNameWithoutTLSServerName(t *testing.T) {
	t.Parallel()
	addr, ca, _, rec := nameOnlyServer(t)
	_, err := verify(t, hcl(addr, `ca_cert = "`+ca+`"`))
	if err == nil {
		t.Fatal("Verify accepted a certificate for vault.test at 127.0.0.1")
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q should mention the certificate", err)
	}
	if rec.count() != 0 {
		t.Errorf("server received %d requests", rec.count())
	}
}

func TestVerifyRefusesATLSServerNameTheCertificateDoesNotName(t *testing.T) {
	t.Parallel()
	addr, ca, _, rec := nameOnlyServer(t)
	_, err := verify(t, hcl(addr, `ca_cert = "`+ca+`"`, `tls_server_name = "other.test"`))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Verify error = %v, want a certificate error", err)
	}
	if rec.count() != 0 {
		t.Errorf("server received %d requests", rec.count())
	}
}

func TestVerifyRefusesAServerLimitedToTLSOnePointOne(t *testing.T) {
	t.Parallel()
	srv, rec := serveTLS(t, answer(200, successBody), &tls.Config{
		MinVersion: tls.VersionTLS10,
		MaxVersion: tls.VersionTLS11,
	})
	v, err := verify(t, hcl(srv.URL, `tls_skip_verify = true`))
	if err == nil {
		t.Fatalf("Verify spoke TLS 1.1: %+v", v)
	}
	if rec.count() != 0 {
		t.Errorf("server received %d requests", rec.count())
	}
}

func TestVerifyAcceptsATLSOnePointTwoServer(t *testing.T) {
	t.Parallel()
	srv, _ := serveTLS(t, answer(200, successBody), &tls.Config{
		MinVersion: tls.VersionTLS12,
		MaxVersion: tls.VersionTLS12,
	})
	if _, err := verify(t, hcl(srv.URL, `tls_skip_verify = true`)); err != nil {
		t.Fatalf("Verify over TLS 1.2: %v", err)
	}
}
