package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// writeClientPair writes a self-signed client certificate and its key.
func writeClientPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, dir, "client.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	keyFile = writeFile(t, dir, "client-key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), 0o600)
	return certFile, keyFile
}

func clientConfig(cert, key string) string {
	text := minimal
	if cert != "" {
		text += `client_cert = "` + cert + `"` + "\n"
	}
	if key != "" {
		text += `client_key = "` + key + `"` + "\n"
	}
	return text
}

func TestClientCertificateAndKeyLoad(t *testing.T) {
	cert, key := writeClientPair(t, t.TempDir())
	cfg := mustParse(t, clientConfig(cert, key), Options{})
	if cfg.ClientCert == nil || len(cfg.ClientCert.Certificate) != 1 {
		t.Fatalf("ClientCert = %+v", cfg.ClientCert)
	}
	os.Chmod(key, 0o640) // root:ssl-cert style is fine
	mustParse(t, clientConfig(cert, key), Options{})
}

func TestClientCertificateProblems(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeClientPair(t, dir)
	otherCert, _ := writeClientPair(t, t.TempDir())
	openKey := writeFile(t, dir, "open-key.pem", readAll(t, key), 0o644)
	notKey := writeFile(t, dir, "not-key.pem", readAll(t, cert), 0o600)
	openCert := writeFile(t, dir, "open-cert.pem", readAll(t, cert), 0o666)
	groupKey := writeFile(t, dir, "group-key.pem", readAll(t, key), 0o660)
	for _, c := range []struct {
		name, cert, key string
		reason          error
		subject         string
	}{
		{"cert without key", cert, "", ErrSetBothOrNeither, "client_cert is set"},
		{"key without cert", "", key, ErrSetBothOrNeither, "client_key is set"},
		{"key readable by others", cert, openKey, ErrKeyReadable, `client_key "` + openKey + `"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantRefusedFor(t, clientConfig(c.cert, c.key), Options{}, c.reason, c.subject)
		})
	}
	for _, c := range []struct{ name, cert, key string }{
		{"key of another certificate", otherCert, key},
		{"key is not a key", cert, notKey},
	} {
		msg := parseError(t, clientConfig(c.cert, c.key), Options{})
		if want := `client_cert "` + c.cert + `" and client_key "` + c.key + `": `; !strings.HasPrefix(msg, want) {
			t.Errorf("%s: error %q does not start %q", c.name, msg, want)
		}
	}
	// Refused by the rules every trusted file follows, named by its key.
	for _, c := range []struct {
		name, cert, key string
		reason          error
		subject         string
	}{
		{"missing key", cert, dir + "/nope.pem", trust.ErrNotExist, `client_key "` + dir + `/nope.pem"`},
		{"missing cert", dir + "/nocert.pem", key, trust.ErrNotExist, `client_cert "` + dir + `/nocert.pem"`},
		{"cert writable by others", openCert, key, trust.ErrUnsafePermissions, `client_cert "` + openCert + `"`},
		{"key writable by group", cert, groupKey, trust.ErrUnsafePermissions, `client_key "` + groupKey + `"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantRefusedFor(t, clientConfig(c.cert, c.key), Options{}, c.reason, c.subject)
		})
	}
}

func TestDevModeIgnoresClientCertificates(t *testing.T) {
	cfg := mustParse(t, `vault_addr = "http://127.0.0.1:8200"
allowed_roles = "*"
client_cert = "/nonexistent.pem"
`, Options{Dev: true})
	if cfg.ClientCert != nil {
		t.Error("dev mode loaded a client certificate")
	}
}

func readAll(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
