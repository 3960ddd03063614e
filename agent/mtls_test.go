package agent_test

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clientPair issues a client certificate from ca and writes it and its key
// as files an operator would (cert 0644, key 0600); it returns the paths.
func (ca *testCA) clientPair(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	pair := ca.issue(t, "vault-ssh-helper on host1", nil, x509.ExtKeyUsageClientAuth)
	keyDER, err := x509.MarshalECPrivateKey(pair.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile = filepath.Join(dir, "client.pem")
	keyFile = filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pair.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// mtlsServer is a fake Vault that requires a client certificate signed by clientCA.
func mtlsServer(t *testing.T, clientCA *testCA) (addr, caFile string, rec *recorder) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	srv, rec := serveTLS(t, answer(200, successBody), &tls.Config{
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  pool,
	})
	return srv.URL, serverCAFile(t, srv), rec
}

func TestVerifyPresentsTheClientCertificateWhenVaultRequiresOne(t *testing.T) {
	t.Parallel()
	clientCA := newCA(t, "client CA")
	addr, caFile, rec := mtlsServer(t, clientCA)
	certFile, keyFile := clientCA.clientPair(t)
	v, err := verify(t, hcl(addr, `ca_cert = "`+caFile+`"`, `client_cert = "`+certFile+`"`, `client_key = "`+keyFile+`"`))
	if err != nil || v.Username == "" {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
	if rec.count() != 1 {
		t.Errorf("Vault saw %d requests", rec.count())
	}
}

func TestVerifyKeepsTheClientCertificateWithEveryOtherTLSKey(t *testing.T) {
	t.Parallel()
	clientCA := newCA(t, "client CA")
	addr, _, _ := mtlsServer(t, clientCA)
	certFile, keyFile := clientCA.clientPair(t)
	// The original dropped client certificates as soon as any TLS key was set.
	_, err := verify(t, hcl(addr, `tls_skip_verify = true`, `tls_server_name = "example.com"`,
		`client_cert = "`+certFile+`"`, `client_key = "`+keyFile+`"`))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerifyWithoutAClientCertificateIsRefusedByAnMTLSVault(t *testing.T) {
	t.Parallel()
	addr, caFile, _ := mtlsServer(t, newCA(t, "client CA"))
	v, err := verify(t, hcl(addr, `ca_cert = "`+caFile+`"`))
	if err == nil || v.Username != "" {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error does not name the certificate: %v", err)
	}
}

func TestVerifyWithAClientCertificateFromAnotherCAIsRefused(t *testing.T) {
	t.Parallel()
	addr, caFile, _ := mtlsServer(t, newCA(t, "client CA"))
	certFile, keyFile := newCA(t, "stranger").clientPair(t)
	_, err := verify(t, hcl(addr, `ca_cert = "`+caFile+`"`, `client_cert = "`+certFile+`"`, `client_key = "`+keyFile+`"`))
	if err == nil {
		t.Fatal("a client certificate from another CA was accepted")
	}
}
