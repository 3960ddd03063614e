package config

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

func TestCAPathLoadsCertificatesInSubdirectories(t *testing.T) {
	// The original walks ca_path recursively; an existing layout must keep working.
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	sub := filepath.Join(dir, "team", "vault")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeCA(t, sub, "ca.pem")
	cfg := mustParse(t, caConfig("ca_path", dir), Options{})
	if cfg.RootCAs == nil || !cfg.RootCAs.Equal(poolOf(t, filepath.Join(sub, "ca.pem"))) {
		t.Error("the CA in a subdirectory of ca_path was not trusted")
	}
}

func TestCAPathSubdirectoryWritableByOthersIsRefused(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	writeCA(t, dir, "a.pem")
	sub := filepath.Join(dir, "drop")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(sub, 0o777)
	wantRefusedFor(t, caConfig("ca_path", dir), Options{}, trust.ErrUnsafePermissions, `ca_path directory "`+sub+`"`)
}

func TestCAPathDoesNotFollowALinkToADirectory(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	writeCA(t, dir, "a.pem")
	elsewhere := t.TempDir()
	os.WriteFile(filepath.Join(elsewhere, "junk.txt"), []byte("not a certificate"), 0o644)
	if err := os.Symlink(elsewhere, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, caConfig("ca_path", dir), Options{})
	if !cfg.RootCAs.Equal(poolOf(t, filepath.Join(dir, "a.pem"))) {
		t.Error("ca_path trusted something besides a.pem")
	}
}

func TestCAPathNamesEveryBadFileInEverySubdirectory(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	writeCA(t, dir, "a.pem")
	for _, sub := range []string{"x", "y"} {
		os.Mkdir(filepath.Join(dir, sub), 0o755)
		os.WriteFile(filepath.Join(dir, sub, "bad.pem"), []byte("hello"), 0o644)
	}
	msg := parseError(t, caConfig("ca_path", dir), Options{})
	for _, sub := range []string{"x", "y"} {
		if want := `ca_path file "` + filepath.Join(dir, sub, "bad.pem") + `" holds no PEM certificate`; !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

// poolOf is the pool ca_cert = path would give.
func poolOf(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	cfg := mustParse(t, caConfig("ca_cert", path), Options{})
	return cfg.RootCAs
}
