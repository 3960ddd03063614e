package logins

import (
	"fmt"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// tlsLogin runs the helper without -dev (production mode) for user.
func tlsLogin(t *testing.T, cfg, pamUser, otp string) vaulttest.Result {
	t.Helper()
	return run(t, vaulttest.Run{Config: cfg, User: pamUser, Stdin: otp})
}

func tlsServer(t *testing.T, opts vaulttest.TLSOptions) *vaulttest.Server {
	t.Helper()
	s := vaulttest.StartTLSWith(t, opts)
	s.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	return s
}

func tlsConfig(t *testing.T, s *vaulttest.Server, extra ...string) string {
	t.Helper()
	return vaulttest.WriteConfig(t, "", config(s.Addr, `allowed_roles = "*"`, extra...))
}

func TestHTTPSWithCACertIsAccepted(t *testing.T) {
	s := tlsServer(t, vaulttest.TLSOptions{})
	cfg := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile))
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, tlsLogin(t, cfg, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestHTTPSWithCAPathIsAccepted(t *testing.T) {
	s := tlsServer(t, vaulttest.TLSOptions{})
	cfg := tlsConfig(t, s, fmt.Sprintf("ca_path = %q", s.CADir))
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, tlsLogin(t, cfg, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestHTTPSWithTLSServerNameIsAccepted(t *testing.T) {
	// The certificate names only vault.vsh.test, not 127.0.0.1: the address
	// verifies only under tls_server_name (upstream #93, Vault behind a proxy).
	s := tlsServer(t, vaulttest.TLSOptions{OmitIPSAN: true})
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")

	without := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile))
	expect(t, tlsLogin(t, without, user, otp), 1, "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs")

	// The handshake failed before the request: the OTP is still unused.
	with := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile), fmt.Sprintf("tls_server_name = %q", s.ServerName))
	expect(t, tlsLogin(t, with, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestHTTPSWithTLSSkipVerifyIsAccepted(t *testing.T) {
	s := tlsServer(t, vaulttest.TLSOptions{})
	cfg := tlsConfig(t, s, "tls_skip_verify = true")
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, tlsLogin(t, cfg, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestHTTPSWithWrongCAIsDeniedBeforeTheOTPIsSent(t *testing.T) {
	s := tlsServer(t, vaulttest.TLSOptions{})
	wrong := vaulttest.NewCA(t)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")

	expect(t, tlsLogin(t, tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", wrong.CertFile)), user, otp), 1, "x509: certificate signed by unknown authority")
	expect(t, tlsLogin(t, tlsConfig(t, s, fmt.Sprintf("ca_path = %q", wrong.Dir)), user, otp), 1, "x509: certificate signed by unknown authority")
	// Neither run reached Vault's verify: the OTP still works with the right CA.
	expect(t, tlsLogin(t, tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile)), user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestHTTPSWithoutCAIsDenied(t *testing.T) {
	// The system roots do not know the test CA.
	s := tlsServer(t, vaulttest.TLSOptions{})
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, tlsLogin(t, tlsConfig(t, s), user, otp), 1, "x509: certificate signed by unknown authority")
}

func TestDevModeWithHTTPIsAccepted(t *testing.T) {
	s := otpRole(t)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, login(t, devConfig(t, s), user, otp), 0, "[WARN]  "+vaulttest.Reason("main.devMode"), vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestHTTPWithoutDevIsDeniedBeforeContactingVault(t *testing.T) {
	s := otpRole(t)
	cfg := devConfig(t, s)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, tlsLogin(t, cfg, user, otp), 1, vaulttest.Reason("config.ErrNeedsHTTPS"))
	// The refusal came before any request: the OTP is still unused.
	expect(t, login(t, cfg, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestDevModeWithHTTPSIsDenied(t *testing.T) {
	s := tlsServer(t, vaulttest.TLSOptions{})
	cfg := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile))
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, login(t, cfg, user, otp), 1, vaulttest.Reason("config.ErrDevHTTPS"))
}

func TestHTTPSWithAClientCertificateIsAcceptedByAVaultThatRequiresOne(t *testing.T) {
	s := tlsServer(t, vaulttest.TLSOptions{RequireClientCert: true})
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")

	// Without the certificate the handshake fails before the request: the
	// OTP stays unused.
	without := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile))
	expect(t, tlsLogin(t, without, user, otp), 1, "tls: certificate required")

	// The original dropped client certificates whenever a TLS key was set;
	// here they travel with ca_cert and tls_server_name alike.
	with := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile),
		fmt.Sprintf("tls_server_name = %q", s.ServerName),
		fmt.Sprintf("client_cert = %q", s.ClientCertFile),
		fmt.Sprintf("client_key = %q", s.ClientKeyFile))
	expect(t, tlsLogin(t, with, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}
