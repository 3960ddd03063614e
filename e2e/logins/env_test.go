package logins

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// trap is a vaulttest.Trap that closes each connection at once: whatever
// is pointed at it fails, and the count says whether it was used.
type trap struct{ *vaulttest.Trap }

func newTrap(t *testing.T) *trap {
	t.Helper()
	return &trap{vaulttest.NewTrap(t, "http", false)}
}

func (tr *trap) assertUnused(t *testing.T, what string) {
	t.Helper()
	if n := tr.Conns(); n != 0 {
		t.Fatalf("the helper connected %d time(s) to the %s", n, what)
	}
}

// hostileEnv is every environment variable vault/api (v1.23.0) or Go's
// net/http reads, each pointing away from the configured Vault: to a decoy
// Vault that never issued the OTP, to a trap, to a wrong CA, or to values
// that fail any request that honoured them.
func hostileEnv(t *testing.T, decoy *vaulttest.Server, tr *trap) []string {
	t.Helper()
	wrong := vaulttest.NewCA(t)
	env := []string{
		"VAULT_ADDR=" + decoy.Addr,
		"VAULT_AGENT_ADDR=" + decoy.Addr,
		"VAULT_PROXY_ADDR=" + decoy.Addr,
		"VAULT_HTTP_PROXY=" + tr.URL,
		"VAULT_CACERT=" + wrong.CertFile,
		"VAULT_CACERT_BYTES=" + string(wrong.CertPEM),
		"VAULT_CAPATH=" + wrong.Dir,
		"VAULT_CLIENT_CERT=/nonexistent/client.pem",
		"VAULT_CLIENT_KEY=/nonexistent/client-key.pem",
		"VAULT_CLIENT_TIMEOUT=1ns",
		"VAULT_SKIP_VERIFY=true",
		"VAULT_TLS_SERVER_NAME=wrong.invalid",
		"VAULT_SRV_LOOKUP=true",
		"VAULT_WRAP_TTL=5m",
		"VAULT_MAX_RETRIES=9",
		"VAULT_TOKEN=" + decoy.RootToken,
		"VAULT_NAMESPACE=decoy-ns",
		"VAULT_HEADERS=X-Decoy: 1",
		"VAULT_MFA=decoy:123456",
		"VAULT_RATE_LIMIT=not-a-number",
		"VAULT_DISABLE_REDIRECTS=not-a-bool",
		"VAULT_FORMAT=yaml",
		"VAULT_LOG_LEVEL=trace",
		"VAULT_CONFIG_PATH=/nonexistent/vault.hcl",
	}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
		env = append(env, k+"="+tr.URL)
	}
	return append(env, "NO_PROXY=", "no_proxy=")
}

func TestVaultEnvironmentIsIgnoredOverHTTP(t *testing.T) {
	s := otpRole(t)
	decoy := vaulttest.Start(t)
	decoy.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	tr := newTrap(t)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	res := run(t, vaulttest.Run{Config: devConfig(t, s), Args: []string{"-dev"}, User: user, Stdin: otp, Env: hostileEnv(t, decoy, tr)})
	expect(t, res, 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
	tr.assertUnused(t, "trap the proxy variables point at")
}

func TestVaultEnvironmentIsIgnoredOverHTTPS(t *testing.T) {
	s := tlsServer(t, vaulttest.TLSOptions{})
	decoy := vaulttest.StartTLS(t)
	decoy.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	tr := newTrap(t)
	cfg := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile))
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	res := run(t, vaulttest.Run{Config: cfg, User: user, Stdin: otp, Env: hostileEnv(t, decoy, tr)})
	expect(t, res, 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
	tr.assertUnused(t, "trap the proxy variables point at")
}

func TestVerifyOnlyIgnoresVaultEnvironment(t *testing.T) {
	// The echo goes to the configured mount on the configured Vault: the decoy
	// has no "custom" mount and would answer 403.
	s := vaulttest.Start(t)
	s.Mount(t, "custom", "ssh")
	decoy := vaulttest.Start(t)
	tr := newTrap(t)
	res := run(t, vaulttest.Run{Config: devConfig(t, s, `ssh_mount_point = "custom"`),
		Args: []string{"-dev", "-verify-only"}, NoPAM: true, Env: hostileEnv(t, decoy, tr)})
	expect(t, res, 0, vaulttest.Reason("main.verified"))
	tr.assertUnused(t, "trap the proxy variables point at")
}

func TestTrustFromVaultEnvironmentIsNotUsed(t *testing.T) {
	// The config names no CA: VAULT_SKIP_VERIFY or a VAULT_CACERT that would
	// verify the server must not make it trusted.
	s := tlsServer(t, vaulttest.TLSOptions{})
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	env := []string{
		"VAULT_SKIP_VERIFY=true",
		"VAULT_CACERT=" + s.CACertFile,
		"VAULT_CAPATH=" + s.CADir,
		"VAULT_CACERT_BYTES=" + string(s.CA.CertPEM),
		"VAULT_TLS_SERVER_NAME=" + s.ServerName,
		// Go's own: they would add roots to the system pool.
		"SSL_CERT_FILE=" + s.CACertFile,
		"SSL_CERT_DIR=" + s.CADir,
	}
	res := run(t, vaulttest.Run{Config: tlsConfig(t, s), User: user, Stdin: otp, Env: env})
	expect(t, res, 1, "x509: certificate signed by unknown authority")
	// Nothing was sent: the OTP still verifies once the config names the CA.
	expect(t, tlsLogin(t, tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile)), user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestVaultAddrFromEnvironmentDoesNotStandInForTheConfig(t *testing.T) {
	s := otpRole(t)
	cfg := vaulttest.WriteConfig(t, "", "allowed_roles = \"*\"\n")
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	res := run(t, vaulttest.Run{Config: cfg, Args: []string{"-dev"}, User: user, Stdin: otp,
		Env: []string{"VAULT_ADDR=" + s.Addr, "VAULT_AGENT_ADDR=" + s.Addr}})
	expect(t, res, 1, vaulttest.Reason("config.ErrMissing", "vault_addr"))
}

func TestProxyVariablesAreIgnoredForANamedVaultHost(t *testing.T) {
	// Go's net/http never proxies a request to "localhost" or a loopback IP
	// literal, so the cases above cannot tell whether HTTP(S)_PROXY was
	// honoured. A host name that /etc/hosts maps to a loopback address can.
	name, ip := loopbackHostName(t)
	s := vaulttest.StartWith(t, vaulttest.Options{ListenIP: ip})
	s.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.Addr, "http://"))
	addr := "http://" + net.JoinHostPort(name, port)
	cfg := vaulttest.WriteConfig(t, "", config(addr, `allowed_roles = "*"`))
	tr := newTrap(t)
	var env []string
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "VAULT_HTTP_PROXY"} {
		env = append(env, k+"="+tr.URL)
	}
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	res := run(t, vaulttest.Run{Config: cfg, Args: []string{"-dev"}, User: user, Stdin: otp, Env: env})
	expect(t, res, 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
	tr.assertUnused(t, "proxy")
}

// loopbackHostName finds a name other than localhost that /etc/hosts maps to
// exactly one IPv4 loopback address, or skips the test.
func loopbackHostName(t *testing.T) (name, ip string) {
	t.Helper()
	f, err := os.Open("/etc/hosts")
	if err != nil {
		t.Skipf("no /etc/hosts (%v): cannot name a loopback Vault host", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		addr := net.ParseIP(fields[0])
		if addr == nil || addr.To4() == nil || !addr.IsLoopback() {
			continue
		}
		for _, n := range fields[1:] {
			if n == "localhost" || strings.HasSuffix(n, ".localhost") {
				continue
			}
			if got, err := net.LookupHost(n); err == nil && len(got) == 1 && got[0] == fields[0] {
				return n, fields[0]
			}
		}
	}
	t.Skip("no /etc/hosts name other than localhost maps to one IPv4 loopback address; " +
		"Go never proxies loopback literals, so HTTP(S)_PROXY cannot be exercised here")
	return "", ""
}
