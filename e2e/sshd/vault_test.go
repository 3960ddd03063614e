package sshd

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// The issue's cases, each once through the real ssh client and a private sshd, and once
// through pamtester (PAM alone, no sshd), so that a failure can be placed in PAM or in sshd.
// Vault is real (vaulttest, over https with a CA of its own), the helper is the built binary,
// and the PAM line is the README's: `<bin> -config=<file>`, no -dev.

// stoppedVaultBound is the issue's upper bound for a denial when Vault is down.
const stoppedVaultBound = 2 * time.Second

// success ends the line every allowed login logs, whoever logs in.
var success = vaulttest.Reason("main.authenticated", "")

func TestSSHLoginAsTheREADMEConfiguresIt(t *testing.T) {
	e := setup(t, true)
	runCases(t, e, func(t *testing.T, password string) (Result, bool) {
		r := e.srv.SSH(t, password, "echo vsh-remote-ok; id -un")
		if r.Code == 0 {
			if want := "vsh-remote-ok\n" + e.user.Name + "\n"; r.Stdout != want {
				t.Errorf("logged in, but the remote command printed %q, want %q", r.Stdout, want)
			}
			return r, true
		}
		if !r.Denied() {
			t.Errorf("ssh failed without 'Permission denied': %v", r)
		}
		return r, false
	})
	// Nothing sshd logged holds an OTP either.
	checkNoSecret(t, "sshd log", e.srv.SSHDLog(t), e.secrets())
}

func TestPAMTesterLoginAsTheREADMEConfiguresIt(t *testing.T) {
	e := setup(t, false)
	runCases(t, e, func(t *testing.T, password string) (Result, bool) {
		r := e.svc.PAMTester(t, e.user.Name, password)
		if r.Code == 0 {
			return r, true
		}
		// pam_exec turns a helper's non-zero exit into PAM_SYSTEM_ERR ("System error",
		// Linux-PAM 1.5.2); which helper line caused it is checked in the log by runCases.
		if out := r.Stdout + r.Stderr; !strings.Contains(out, "System error") && !strings.Contains(out, "Authentication failure") {
			t.Errorf("pamtester failed other than by the PAM stack refusing: %v", r)
		}
		return r, false
	})
}

type env struct {
	vault  *vaulttest.Server
	proxy  *countingProxy
	user   *User
	svc    *Service
	srv    *Server // nil for pamtester
	bin    string
	config string // the README's config, pointing straight at Vault

	mu     sync.Mutex
	issued []string
}

// setup starts Vault (https), a user with an OTP role, the README's config and PAM service,
// and, withSSHD, a private sshd for them.
func setup(t testing.TB, withSSHD bool) *env {
	t.Helper()
	Require(t)
	e := &env{bin: vaulttest.HelperBinary(t)}
	noSpace(t, "helper binary path", e.bin)
	e.vault = vaulttest.StartTLS(t)
	e.user = NewUser(t)
	e.vault.CreateOTPRole(t, "ssh", "otp", e.user.Name, "127.0.0.0/8")
	e.config = e.writeConfig(t, e.vault.Addr)
	e.svc = NewService(t)
	e.svc.SetHelper(t, e.bin+" -config="+e.config)
	if withSSHD {
		e.srv = Start(t, e.svc, e.user)
	}
	return e
}

// writeConfig writes the README's config file (https, ca_cert, any role) for addr, plus
// extra lines.
func (e *env) writeConfig(t testing.TB, addr string, extra ...string) string {
	t.Helper()
	p := vaulttest.WriteConfig(t, "", fmt.Sprintf(`vault_addr = %q
tls_skip_verify = false
ca_cert = %q
ssh_mount_point = "ssh"
allowed_roles = "*"
`, addr, e.vault.CACertFile)+strings.Join(extra, "\n"))
	noSpace(t, "config path", p)
	return p
}

func (e *env) issue(t testing.TB, user string) string {
	t.Helper()
	otp := e.vault.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	e.mu.Lock()
	e.issued = append(e.issued, otp)
	e.mu.Unlock()
	return otp
}

func (e *env) secrets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string{nonUUIDPassword}, e.issued...)
}

const nonUUIDPassword = "correct-horse-battery-staple"

func checkNoSecret(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s holds a password that was typed at a login", where)
		}
	}
}

// runCases runs the issue's cases in order through login, which reports whether the login
// was let in. Each case also checks what the helper appended to the pam_exec log.
func runCases(t *testing.T, e *env, login func(*testing.T, string) (Result, bool)) {
	attempt := func(t *testing.T, password string, wantIn bool, wantLog string) Result {
		t.Helper()
		off := e.svc.LogSize(t)
		r, in := login(t, password)
		logged := e.svc.LogSince(t, off)
		if in != wantIn {
			t.Errorf("let in = %v, want %v: %v\npam_exec log:\n%s", in, wantIn, r, logged)
		}
		if !strings.HasPrefix(logged, "*** ") {
			t.Errorf("pam_exec log gained no '*** <date>' entry for this login: %q", logged)
		}
		if !strings.Contains(logged, wantLog) {
			t.Errorf("pam_exec log lacks %q; it gained:\n%s", wantLog, logged)
		}
		if !wantIn && strings.Contains(logged, success) {
			t.Errorf("a refused login logged success:\n%s", logged)
		}
		return r
	}
	authenticated := vaulttest.Reason("main.authenticated", e.user.Name+"@127.0.0.1")

	var used string
	t.Run("fresh OTP logs in", func(t *testing.T) {
		used = e.issue(t, e.user.Name)
		attempt(t, used, true, authenticated)
	})
	t.Run("same OTP again is denied", func(t *testing.T) {
		if used == "" {
			t.Skip("no OTP was used")
		}
		attempt(t, used, false, vaulttest.Reason("sshotp.ErrOTPNotFound"))
	})
	t.Run("OTP issued for another user is denied", func(t *testing.T) {
		attempt(t, e.issue(t, "someone-else"), false, vaulttest.Reason("sshotp.ErrUsernameMismatch"))
	})
	t.Run("non-UUID password is denied without contacting Vault", func(t *testing.T) {
		// Through a proxy that counts connections to Vault; a real OTP through it first
		// shows the count sees the helper's requests.
		e.proxy = startCountingProxy(t, e.vault.Addr)
		e.svc.SetHelper(t, e.bin+" -config="+e.writeConfig(t, e.proxy.URL))
		defer e.svc.SetHelper(t, e.bin+" -config="+e.config)
		attempt(t, e.issue(t, e.user.Name), true, authenticated)
		before := e.proxy.Conns()
		if before == 0 {
			t.Fatal("the counting proxy saw no connection for a successful login")
		}
		attempt(t, nonUUIDPassword, false, vaulttest.Reason("sshotp.ErrNotOTPShape"))
		if after := e.proxy.Conns(); after != before {
			t.Errorf("Vault was contacted for a non-UUID password: %d connection(s)", after-before)
		}
	})
	t.Run("verify-only with the same config exits 0", func(t *testing.T) {
		// Run by hand as an admin would (no PAM environment): under pam_exec it must deny.
		out, err := exec.Command(e.bin, "-config="+e.config, "-verify-only").CombinedOutput()
		if err != nil || !strings.Contains(string(out), vaulttest.Reason("main.verified")) {
			t.Errorf("-verify-only: %v\n%s", err, out)
		}
	})
	t.Run("Vault not answering is denied within 2s with timeout 1s", func(t *testing.T) {
		// Beyond the issue's list: a Vault that accepts connections and never answers (a
		// hung server, a black-holing firewall) must cost the configured timeout, not
		// LoginGraceTime; nothing would ever kill the helper.
		hole := vaulttest.NewTrap(t, "https", true) // accepts, never answers
		cfg := e.writeConfig(t, hole.URL, `timeout = "1s"`)
		e.svc.SetHelper(t, e.bin+" -config="+cfg)
		defer e.svc.SetHelper(t, e.bin+" -config="+e.config)
		r := attempt(t, e.issue(t, e.user.Name), false, vaulttest.Reason("agent.ErrTimeout"))
		if r.Elapsed > stoppedVaultBound {
			t.Errorf("denial took %v, want at most %v (LoginGraceTime is %ds)", r.Elapsed, stoppedVaultBound, loginGraceTime)
		}
		if hole.Conns() == 0 {
			t.Error("the helper never reached the unanswering Vault")
		}
	})
	// Both OTPs are issued while Vault can still issue them.
	forSealed, forStopped := e.issue(t, e.user.Name), e.issue(t, e.user.Name)
	t.Run("Vault sealed is denied", func(t *testing.T) {
		e.vault.Seal(t)
		attempt(t, forSealed, false, "sealed")
	})
	t.Run("Vault stopped is denied within 2s", func(t *testing.T) {
		otp := forStopped
		e.vault.Stop()
		r := attempt(t, otp, false, vaulttest.Reason("agent.ErrUnreachable"))
		if r.Elapsed > stoppedVaultBound {
			t.Errorf("denial took %v, want at most %v (LoginGraceTime is %ds)", r.Elapsed, stoppedVaultBound, loginGraceTime)
		}
	})
	checkNoSecret(t, "pam_exec log", e.svc.LogSince(t, 0), e.secrets())
}

// countingProxy forwards TCP connections to Vault unchanged (TLS goes end to end) and counts
// them.
type countingProxy struct {
	URL   string
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func (p *countingProxy) Conns() int64 { return p.conns.Load() }

func startCountingProxy(t *testing.T, vaultAddr string) *countingProxy {
	t.Helper()
	scheme, target, ok := strings.Cut(vaultAddr, "://")
	if !ok {
		t.Fatalf("odd Vault address %q", vaultAddr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{URL: scheme + "://" + ln.Addr().String(), ln: ln}
	var open sync.Map // net.Conn -> struct{}, closed at cleanup
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer c.Close()
				up, err := net.DialTimeout("tcp", target, 5*time.Second)
				if err != nil {
					return
				}
				defer up.Close()
				open.Store(c, struct{}{})
				open.Store(up, struct{}{})
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		p.wg.Wait()
	})
	return p
}
