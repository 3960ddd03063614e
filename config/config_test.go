package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/config/configtest"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

const minimal = `
vault_addr = "https://vault.example.com:8200"
allowed_roles = "*"
`

func mustParse(t *testing.T, text string, opts Options) *Config {
	t.Helper()
	cfg, err := parse([]byte(text), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

// wantParseError checks that Parse refuses text with an error containing want.
func wantParseError(t *testing.T, text string, opts Options, want string) {
	t.Helper()
	if msg := parseError(t, text, opts); !strings.Contains(msg, want) {
		t.Errorf("error %q lacks %q", msg, want)
	}
}

// wantRefusedFor checks that Parse refuses text for reason in the problem that
// names subject (as `ca_cert "/x.pem"`). Each reason's full wording is pinned
// once, for the config file itself; the other files are held to the same
// rules, each named by its key.
func wantRefusedFor(t *testing.T, text string, opts Options, reason error, subject string) {
	t.Helper()
	_, err := parse([]byte(text), opts)
	if !configtest.Refuses(err, subject, reason) {
		t.Errorf("error %v: no problem naming %s for %q", err, subject, reason)
	}
}

func parseError(t *testing.T, text string, opts Options) string {
	t.Helper()
	_, err := parse([]byte(text), opts)
	if err == nil {
		t.Fatalf("Parse accepted:\n%s", text)
	}
	return err.Error()
}

func TestMinimalConfigGetsDefaults(t *testing.T) {
	cfg := mustParse(t, minimal, Options{})
	if cfg.VaultAddrs[0].String() != "https://vault.example.com:8200" {
		t.Errorf("VaultAddrs = %s", cfg.VaultAddrs)
	}
	if cfg.Mode != "SSH OTP" || cfg.Timeout != 10*time.Second || cfg.RootCAs != nil {
		t.Errorf("defaults wrong: %+v", cfg)
	}
}

func TestOriginalsFullConfigStillLoads(t *testing.T) {
	dir := t.TempDir()
	ca := writeCA(t, dir, "ca.pem")
	text := `vault_addr = "https://vault.example.com:8200"
ssh_mount_point = "ssh"
namespace = "team/a"
ca_cert = "` + ca + `"
tls_skip_verify = false
tls_server_name = "vault.internal"
allowed_roles = "dev, ops ,admin"
allowed_cidr_list = "10.0.0.0/8, 192.168.1.0/24,2001:db8::/32"
`
	cfg := mustParse(t, text, Options{})
	if cfg.Namespace != "team/a" || cfg.TLSServerName != "vault.internal" || cfg.RootCAs == nil {
		t.Errorf("got %+v", cfg)
	}
}

func TestJSONConfigLoads(t *testing.T) {
	cfg := mustParse(t, `{"vault_addr": "https://v:8200", "allowed_roles": "a", "tls_skip_verify": true, "timeout": "3s"}`, Options{})
	if !cfg.TLSSkipVerify || cfg.Timeout != 3*time.Second || cfg.Mode != "SSH OTP" {
		t.Errorf("got %+v", cfg)
	}
}

func TestPasswordInVaultAddrIsNotEchoed(t *testing.T) {
	msg := parseError(t, `vault_addr = "https://u:hunter2@v"`+"\nallowed_roles=\"*\"", Options{})
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error echoes the password: %s", msg)
	}
}

func TestVaultAddrWithAUserIsQuotedWithTheUserRedacted(t *testing.T) {
	for addr, shown := range map[string]string{
		"https://u:hunter2@v":    "https://" + quote.Hidden + "@v",
		"https://u@v:8200/x":     "https://" + quote.Hidden + "@v:8200/x",
		"https://u:pw@v/?q#frag": "https://" + quote.Hidden + "@v/?" + quote.Hidden + "#" + quote.Hidden,
	} {
		wantRefusedFor(t, `vault_addr = "`+addr+`"`+"\nallowed_roles=\"*\"", Options{}, ErrAddrCarries, `vault_addr "`+shown+`"`)
	}
}

func TestInputThatPanicsHCLsJSONParserNeverReachesIt(t *testing.T) {
	// HCL v1's JSON scanner panics on this (found by fuzzing). The strict
	// JSON check refuses it first; decode's recover stays as a last defence
	// for panics nobody has found yet.
	msg := parseError(t, `{"\0`, Options{})
	if want := `cannot be parsed as HCL or JSON: invalid JSON: invalid character '0' in string escape code`; msg != want {
		t.Errorf("error = %q, want %q", msg, want)
	}
}

func TestCAPathsAreTrimmed(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ca := writeCA(t, dir, "ca.pem")
	cfg := mustParse(t, caConfig("ca_cert", "  "+ca+" "), Options{})
	if cfg.RootCAs == nil {
		t.Error("a ca_cert with surrounding spaces was not loaded")
	}
	cfg = mustParse(t, caConfig("ca_path", dir+" "), Options{})
	if cfg.RootCAs == nil {
		t.Error("a ca_path with a trailing space was not loaded")
	}
}

func TestDevModeAllowsHTTPAndIgnoresCAFiles(t *testing.T) {
	cfg := mustParse(t, `vault_addr = "http://127.0.0.1:8200"
allowed_roles = "*"
ca_cert = "/does/not/exist.pem"
ca_path = "/does/not/exist"
`, Options{Dev: true})
	if cfg.RootCAs != nil || !cfg.Dev {
		t.Errorf("dev config = %+v", cfg)
	}
}

func TestTimeoutBounds(t *testing.T) {
	for in, want := range map[string]time.Duration{"1s": time.Second, "60s": time.Minute, " 2500ms ": 2500 * time.Millisecond} {
		if got := mustParse(t, minimal+`timeout = "`+in+`"`, Options{}).Timeout; got != want {
			t.Errorf("timeout %q = %v, want %v", in, got, want)
		}
	}
	wantRefusedFor(t, minimal+`timeout = "61s"`, Options{}, ErrOutside, `timeout "61s"`)
	wantRefusedFor(t, minimal+`timeout = "-5s"`, Options{}, ErrOutside, `timeout "-5s"`)
	wantRefusedFor(t, minimal+`timeout = "0s"`, Options{}, ErrOutside, `timeout "0s"`)
	wantRefusedFor(t, minimal+`timeout = "999ms"`, Options{}, ErrOutside, `timeout "999ms"`)
	wantRefusedFor(t, minimal+`timeout = "1m0.001s"`, Options{}, ErrOutside, `timeout "1m0.001s"`)
}

// --- the file system ---

func writeFile(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask may have cut bits
		t.Fatal(err)
	}
	return path
}

func TestMissingConfigFileSaysSo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.hcl")
	_, err := load(path, Options{})
	if !errors.Is(err, trust.ErrNotExist) || err.Error() != `config file "`+path+`" does not exist` {
		t.Errorf("err = %v", err)
	}
}

func TestConfigDirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	_, err := load(dir, Options{})
	if want := `config file "` + dir + `" is a directory, not a file`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestConfigWritableByOthersIsRefused(t *testing.T) {
	for mode, shown := range map[os.FileMode]string{0o666: "0666", 0o620: "0620", 0o602: "0602", 0o4622: "0622"} {
		path := writeFile(t, t.TempDir(), "c.hcl", minimal, mode)
		_, err := load(path, Options{})
		want := `config file "` + path + `" is writable by group or others (mode ` + shown + `); run: chmod go-w ` + path
		if err == nil || err.Error() != want {
			t.Errorf("mode %o: err = %v\nwant %s", mode, err, want)
		}
	}
}

func TestReadableConfigLoads(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o640, 0o644, 0o400} {
		path := writeFile(t, t.TempDir(), "c.hcl", minimal, mode)
		if _, err := load(path, Options{}); err != nil {
			t.Errorf("mode %o: %v", mode, err)
		}
	}
}

func TestUnreadableConfigIsReported(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads mode 000 files; this case needs a non-root user")
	}
	path := writeFile(t, t.TempDir(), "c.hcl", minimal, 0o000)
	_, err := load(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot be read: permission denied") {
		t.Errorf("err = %v", err)
	}
}

func TestOversizedConfigIsRefused(t *testing.T) {
	path := writeFile(t, t.TempDir(), "c.hcl", minimal+strings.Repeat("#", maxFileSize), 0o600)
	_, err := load(path, Options{})
	if want := `config file "` + path + `" is larger than 1048576 bytes`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestLoadNamesTheFileInParseErrors(t *testing.T) {
	path := writeFile(t, t.TempDir(), "c.hcl", "x = 1\n", 0o600)
	_, err := load(path, Options{})
	if !errors.Is(err, ErrInvalidKey) || !strings.HasPrefix(err.Error(), `config file "`+path+`": `) {
		t.Errorf("err = %v", err)
	}
}

// --- CA files ---

func writeCA(t *testing.T, dir, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA " + name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
}

func caConfig(key, path string) string {
	return minimal + key + ` = "` + path + `"` + "\n"
}

func TestCACertLoads(t *testing.T) {
	ca := writeCA(t, t.TempDir(), "ca.pem")
	if cfg := mustParse(t, caConfig("ca_cert", ca), Options{}); cfg.RootCAs == nil {
		t.Error("no pool")
	}
}

func TestCAPathLoadsEveryFile(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	writeCA(t, dir, "a.pem")
	writeCA(t, dir, "b.pem")
	cfg := mustParse(t, caConfig("ca_path", dir), Options{})
	if n := len(cfg.RootCAs.Subjects()); n != 2 { //nolint:staticcheck // counting test certificates only
		t.Errorf("pool holds %d certificates, want 2", n)
	}
}

func TestCAFileProblems(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	notPEM := writeFile(t, dir, "not.pem", "hello", 0o644)
	badCert := writeFile(t, dir, "bad.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})), 0o644)
	open := writeCA(t, dir, "open.pem")
	os.Chmod(open, 0o666)
	for _, c := range []struct {
		name, key, path string
		reason          error
	}{
		{"missing ca_cert", "ca_cert", filepath.Join(dir, "missing.pem"), trust.ErrNotExist},
		{"ca_cert writable by others", "ca_cert", open, trust.ErrUnsafePermissions},
		{"ca_cert is a directory", "ca_cert", dir, trust.ErrIsDirectory},
		{"missing ca_path", "ca_path", filepath.Join(dir, "nodir"), trust.ErrNotExist},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantRefusedFor(t, caConfig(c.key, c.path), Options{}, c.reason, c.key+` "`+c.path+`"`)
		})
	}
	cases := []struct{ name, key, path, want string }{
		{"ca_cert without certificate", "ca_cert", notPEM, `ca_cert "` + notPEM + `" holds no PEM certificate`},
		{"ca_cert that does not parse", "ca_cert", badCert, `ca_cert "` + badCert + `": certificate 1 does not parse: `},
		{"ca_path is a file", "ca_path", notPEM, `ca_path "` + notPEM + `" is not a directory (use ca_cert for a single file)`},
		{"ca_path through a file", "ca_path", notPEM + "/sub", `ca_path "` + notPEM + `/sub" cannot be read: not a directory`},
		{"ca_path with a non-certificate", "ca_path", dir, `ca_path file "` + notPEM + `" holds no PEM certificate`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantParseError(t, caConfig(c.key, c.path), Options{}, c.want) })
	}
}

func TestSpecialFilesAreRefusedWithoutWaiting(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// open(2) of a FIFO with no writer would hang Load: its type alone must refuse it.
	done := make(chan error, 1)
	go func() { _, err := load(fifo, Options{}); done <- err }()
	select {
	case err := <-done:
		if want := `config file "` + fifo + `" is not a regular file (a named pipe)`; err == nil || err.Error() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Load waited on a FIFO")
	}
	wantRefusedFor(t, caConfig("ca_cert", fifo), Options{}, trust.ErrNotRegular, `ca_cert "`+fifo+`"`)
	wantRefusedFor(t, caConfig("ca_cert", "/dev/null"), Options{}, trust.ErrNotRegular, `ca_cert "/dev/null"`)
}

func TestFileSwappedBetweenCheckAndOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	checked, err := os.Stat(writeFile(t, dir, "checked.hcl", minimal, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	opened, err := os.Stat(writeFile(t, dir, "opened.hcl", minimal, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	err = trust.CheckUnchanged("/etc/x.hcl", "config file", checked, opened)
	if want := `config file "/etc/x.hcl" was replaced while it was being read`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if err := trust.CheckUnchanged("/etc/x.hcl", "config file", checked, checked); err != nil {
		t.Errorf("the same file was refused: %v", err)
	}
}

func TestConfigThatIsASocketIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("cannot create a unix socket: %v", err)
	}
	defer ln.Close()
	_, err = load(path, Options{})
	if want := `config file "` + path + `" is not a regular file (a socket)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestConfigThatIsABlockDeviceIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blk")
	// Major 240 is for local use and has no driver here, so open(2) of the
	// node fails (ENXIO): only a check made before opening can name its kind.
	// Opening some devices acts (a watchdog starts, a tape rewinds).
	if err := syscall.Mknod(path, syscall.S_IFBLK|0o600, 240<<8); err != nil {
		t.Skipf("mknod needs CAP_MKNOD: %v", err)
	}
	if f, err := os.Open(path); err == nil {
		f.Close()
		t.Skip("block major 240 has a driver on this machine: the test cannot tell stat from open")
	}
	_, err := load(path, Options{})
	if want := `config file "` + path + `" is not a regular file (a block device)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestEmptyCAPathIsRefused(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	if msg, want := parseError(t, caConfig("ca_path", dir), Options{}), `ca_path "`+dir+`" holds no PEM certificate`; msg != want {
		t.Errorf("err = %s, want %s", msg, want)
	}
}

func TestGroupWritableCAPathIsRefused(t *testing.T) {
	dir := t.TempDir()
	writeCA(t, dir, "a.pem")
	os.Chmod(dir, 0o775)
	wantRefusedFor(t, caConfig("ca_path", dir), Options{}, trust.ErrUnsafePermissions, `ca_path "`+dir+`"`)
}

func TestJSONConfigCutShortOrWithTrailingTextIsRefused(t *testing.T) {
	// HCL's JSON parser would load what survived: here, everything but ca_cert.
	whole := `{"vault_addr": "https://v", "allowed_roles": "*", "ca_cert": "/etc/vault-ca.pem"}`
	cases := map[string]struct{ text, want string }{
		"cut short":       {whole[:strings.Index(whole, `, "ca_cert"`)], "cannot be parsed as HCL or JSON: invalid JSON: unexpected end of JSON input"},
		"trailing text":   {`{"vault_addr": "https://v", "allowed_roles": "*"} x`, "cannot be parsed as HCL or JSON: invalid JSON: invalid character 'x' after top-level value"},
		"doubled closing": {`{"vault_addr": "https://v", "allowed_roles": "*"}}`, "cannot be parsed as HCL or JSON: invalid JSON: invalid character '}' after top-level value"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { wantParseError(t, c.text, Options{}, c.want) })
	}
}

func TestJSONProblemsNameTheKeyWithoutALine(t *testing.T) {
	msg := parseError(t, `{"vault_addr": "https://v", "allowed_roles": "*", "x": 1, "namespace": true,
		"tls_skip_verify": 1, "ssh_mount_point": {"a": "b"}, "timeout": ["1s"]}`, Options{})
	for _, want := range []string{
		`invalid key "x"`,
		`key "namespace": expected a string, got a bool`,
		`key "tls_skip_verify": expected true or false, got a number`,
		`key "ssh_mount_point": expected a string, got a block`,
		`key "timeout": expected a string, got a list`,
	} {
		if !strings.Contains(msg, want) || strings.Contains(msg, "line") {
			t.Errorf("error %q lacks %q or names a line", msg, want)
		}
	}
}

func TestConfigThatCannotBeOpenedSaysWhy(t *testing.T) {
	// A path through a regular file fails to open even for root, unlike a
	// mode 000 file.
	file := writeFile(t, t.TempDir(), "c.hcl", minimal, 0o600)
	_, err := load(file+"/inner.hcl", Options{})
	if err == nil || err.Error() != `config file "`+file+`/inner.hcl" cannot be read: not a directory` {
		t.Errorf("err = %v", err)
	}
}

func TestConfigOwnedByAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file to another user")
	}
	path := writeFile(t, t.TempDir(), "c.hcl", minimal, 0o644)
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := load(path, Options{})
	if err == nil || err.Error() != `config file "`+path+`" is owned by uid 65534, not by root; run: chown root `+path {
		t.Errorf("err = %v", err)
	}
}
