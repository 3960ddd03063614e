// Package sshd runs, for one test, a login exactly as the README configures it: a private
// OpenSSH server whose PAM service holds the README's pam_exec lines, a throwaway local user to
// log in as, and the real ssh client (driven by sshpass) or pamtester to log in with.
//
// Nothing of the system's own sshd is used or touched. OpenSSH takes its PAM service name from
// the basename of argv[0], so the server is /usr/sbin/sshd started through a symlink named
// sshd-vshtest-<random>, which reads /etc/pam.d/sshd-vshtest-<random>: a file this package
// creates and removes. Its sshd_config, host key and pid file live in a temporary directory
// and it listens on 127.0.0.1 only; it runs in a mount namespace of its own where a temporary
// file stands in for /var/log/btmp, so its failed logins stay out of the host's log. The user, the PAM file, /run/sshd (when it had to be
// created) and every process are removed by t.Cleanup, also when the test fails. Leftovers of
// a run that was killed before its cleanups ran (go test's -timeout panics without running
// them) carry the creating pid and are removed by the next run once that pid is gone.
//
// Everything here needs root; Require skips the test otherwise, and skips (or, under CI=true,
// fails) when the packages are missing: scripts/sshd-deps.sh installs them.
package sshd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// ServicePrefix starts the name of every PAM service (and sshd symlink) made here.
	ServicePrefix = "sshd-vshtest-"
	// UserPrefix starts the name of every test user made here.
	UserPrefix = "vsht"
	// marker is written into the PAM file and the user's GECOS field, followed by pid=<N>.
	marker = "vault-ssh-helper sshd e2e test"

	pamDir = "/etc/pam.d"
	// privsepDir must exist for sshd to accept connections (BEHAVIOUR.md §1).
	privsepDir = "/run/sshd"

	// loginTimeout bounds one ssh or pamtester run; LoginGraceTime is below it.
	loginTimeout   = 30 * time.Second
	loginGraceTime = 20 // seconds
)

// SSHDPath is the system's sshd binary (never started itself, only through a symlink).
var SSHDPath = "/usr/sbin/sshd"

// Require skips t unless it runs as root with every tool the e2e tests use. A missing tool
// is a failure instead of a skip when CI=true, so CI can't pass by skipping.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sshd e2e tests need root (they add a user and a file under /etc/pam.d, and run sshd); " +
			"run scripts/test-sshd.sh as root")
	}
	var missing []string
	if fi, err := os.Stat(SSHDPath); err != nil || fi.Mode()&0o111 == 0 {
		missing = append(missing, SSHDPath)
	}
	for _, tool := range []string{"ssh", "ssh-keygen", "sshpass", "pamtester", "useradd", "userdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("missing %s: run scripts/sshd-deps.sh as root "+
			"(apt-get install openssh-server openssh-client sshpass pamtester)", strings.Join(missing, ", "))
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatal("CI: " + msg)
		}
		t.Skip(msg)
	}
	sweepOnce.Do(func() { sweepStale(t) })
}

var sweepOnce sync.Once

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func markerLine() string { return fmt.Sprintf("%s pid=%d", marker, os.Getpid()) }

// stalePID returns the pid recorded after marker in s, and whether that process is gone.
func stalePID(s string) (int, bool) {
	i := strings.Index(s, marker+" pid=")
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+len(marker)+len(" pid="):])
	if len(f) == 0 {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimRight(f[0], ",:"))
	if err != nil || pid <= 0 {
		return 0, false
	}
	err = syscall.Kill(pid, 0)
	return pid, errors.Is(err, syscall.ESRCH)
}

// sweepStale removes PAM files and users that an earlier, killed run of this package left
// behind. Only names with our prefix whose marker names a pid that no longer exists are
// touched.
func sweepStale(t testing.TB) {
	files, _ := filepath.Glob(filepath.Join(pamDir, ServicePrefix+"*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, gone := stalePID(string(b)); gone {
			t.Logf("removing %s left by a killed test run (pid %d)", f, pid)
			_ = os.Remove(f)
		}
	}
	pw, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(pw))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 5 || !strings.HasPrefix(f[0], UserPrefix) {
			continue
		}
		if pid, gone := stalePID(f[4]); gone {
			t.Logf("removing user %s left by a killed test run (pid %d)", f[0], pid)
			deleteUser(t, f[0])
		}
	}
}

// noSpace fails t when p can't be written as one word of a PAM or sshd_config line.
func noSpace(t testing.TB, what, p string) {
	t.Helper()
	if p == "" || strings.ContainsAny(p, " \t\n\"'[]") {
		t.Fatalf("%s %q: must be non-empty and contain no spaces, quotes or brackets", what, p)
	}
}

// User is a local account created for one test.
type User struct {
	Name string
	Home string
}

// NewUser adds a local user with a home directory and /bin/sh as shell, and deletes it (and
// its home) when the test ends. Its password stays locked: only the PAM stack can let it in.
func NewUser(t testing.TB) *User {
	t.Helper()
	base, err := os.MkdirTemp(homesRoot(), "vsh-sshd-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	// The user must be able to reach its home (MkdirTemp makes it 0700).
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	u := &User{Name: UserPrefix + randHex(3)}
	u.Home = filepath.Join(base, u.Name)
	out, err := exec.Command("useradd", "--create-home", "--home-dir", u.Home, "--shell", "/bin/sh",
		"--comment", markerLine(), u.Name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v: %s", u.Name, err, out)
	}
	t.Cleanup(func() { deleteUser(t, u.Name) })
	return u
}

// homesRoot is where test users' homes go: /home, which every user can reach. The tests'
// TMPDIR may not be (scripts/test-tmpdir.sh picks $HOME/.cache/..., and /root is 0700);
// nothing the helper must trust is kept in a home.
func homesRoot() string {
	if st, err := os.Stat("/home"); err == nil && st.IsDir() {
		return "/home"
	}
	return os.TempDir()
}

// deleteUser runs userdel -r, retrying for 10 s while it reports the user busy: the last
// processes of a session (or not yet reaped zombies of an earlier user with the same uid)
// can outlive the ssh client by a moment.
func deleteUser(t testing.TB, name string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command("userdel", "--remove", name).CombinedOutput()
		if err == nil {
			return
		}
		if !strings.Contains(string(out), "currently used by process") || time.Now().After(deadline) {
			t.Errorf("userdel %s: %v: %s", name, err, out)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Service is a PAM service file /etc/pam.d/<Name> built from the README's lines.
type Service struct {
	Name string // PAM service name, also the basename of the sshd symlink
	File string // /etc/pam.d/<Name>
	Log  string // the pam_exec log= file
	dir  string
}

// NewService creates /etc/pam.d/sshd-vshtest-<random> (whose helper, until SetHelper is
// called, is /bin/false: every login is denied) and removes it when the test ends.
func NewService(t testing.TB) *Service {
	t.Helper()
	dir := t.TempDir()
	s := &Service{Name: ServicePrefix + randHex(4), dir: dir, Log: filepath.Join(dir, "vault-ssh.log")}
	s.File = filepath.Join(pamDir, s.Name)
	noSpace(t, "pam_exec log file", s.Log)
	f, err := os.OpenFile(s.File, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatalf("create PAM service file: %v", err)
	}
	f.Close()
	t.Cleanup(func() {
		if err := os.Remove(s.File); err != nil {
			t.Errorf("remove PAM service file: %v", err)
		}
	})
	s.SetHelper(t, "/bin/false")
	return s
}

// PAMConfig returns the service file for a helper command line (absolute path, then flags).
//
// The two auth lines are the README's, verbatim but for the log file and helper paths; the
// commented-out include is the README's too. The account and session lines only make the
// stack self-contained: a service file without lines for a facility makes Linux-PAM fall back
// to /etc/pam.d/other (on Debian the host's common-* files), so each facility gets one line.
// pam_unix's account check is the one Debian's common-account runs for sshd (the account
// exists and has not expired); its session line only logs the session.
func (s *Service) PAMConfig(helperCmdline string) string {
	return "# " + markerLine() + ": PAM service of a private test sshd; removed when the test ends.\n" +
		"#@include common-auth\n" +
		"auth requisite pam_exec.so quiet expose_authtok log=" + s.Log + " " + helperCmdline + "\n" +
		"auth optional pam_unix.so not_set_pass use_first_pass nodelay\n" +
		"account required pam_unix.so\n" +
		"session required pam_unix.so\n"
}

// SetHelper rewrites the service file so pam_exec runs helperCmdline. PAM reads the file
// at every pam_start, so the next login (through sshd or pamtester) uses it.
func (s *Service) SetHelper(t testing.TB, helperCmdline string) {
	t.Helper()
	f := strings.Fields(helperCmdline)
	if len(f) == 0 || !filepath.IsAbs(f[0]) {
		t.Fatalf("helper command line %q must start with an absolute path", helperCmdline)
	}
	for _, w := range f {
		noSpace(t, "helper command line word", w)
	}
	if err := os.WriteFile(s.File, []byte(s.PAMConfig(strings.Join(f, " "))), 0o644); err != nil {
		t.Fatal(err)
	}
}

// LogSize is the current size of the pam_exec log, to read what a later login appends.
func (s *Service) LogSize(t testing.TB) int64 {
	t.Helper()
	fi, err := os.Stat(s.Log)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// LogSince returns what the pam_exec log gained after offset off.
func (s *Service) LogSince(t testing.TB, off int64) string {
	t.Helper()
	b, err := os.ReadFile(s.Log)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	if off > int64(len(b)) {
		t.Fatalf("pam_exec log shrank from %d to %d bytes", off, len(b))
	}
	return string(b[off:])
}

// WriteScript writes an executable stand-in helper into the service's directory and returns
// its path. pam_exec runs it without PATH; it must read stdin (see StandIn).
func (s *Service) WriteScript(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// StandIn writes a helper that reads the password, as pam_exec expects, and exits with code
// at once. (pam_exec writes the password after starting the child; a child that exits
// without reading, like /bin/true, leaves that write racing with its exit.)
func (s *Service) StandIn(t testing.TB, code int) string {
	t.Helper()
	return s.WriteScript(t, fmt.Sprintf("stand-in-exit%d", code),
		fmt.Sprintf("#!/bin/sh\n/bin/cat >/dev/null\nexit %d\n", code))
}

// Result is what one login attempt gave.
type Result struct {
	Stdout, Stderr string
	Code           int // exit code; -1 when killed by loginTimeout
	Elapsed        time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d after %v; stdout %q; stderr %q", r.Code, r.Elapsed.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Denied reports whether an ssh attempt ended as a refused login.
func (r Result) Denied() bool {
	return r.Code == 255 && strings.Contains(r.Stderr, "Permission denied")
}

func run(t testing.TB, cmd *exec.Cmd, cancel context.CancelFunc) Result {
	t.Helper()
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Elapsed: time.Since(start), Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("run %s: %v", cmd.Path, err)
	}
	return r
}

// PAMTester runs pamtester on the service for user with password on stdin, as sshd would:
// PAM_RHOST 127.0.0.1, PAM_TTY ssh; operations authenticate then acct_mgmt. Code 0 = allowed.
func (s *Service) PAMTester(t testing.TB, user, password string) Result {
	t.Helper()
	return s.PAMTesterOps(t, user, password, "authenticate", "acct_mgmt")
}

// Server is a private sshd on 127.0.0.1 whose PAM service is Service.
type Server struct {
	Service *Service
	User    *User
	Port    int
	Dir     string
	Log     string // sshd's own log (-e)

	// BTMP is the file sshd records failed logins in: in its own mount namespace, this
	// temporary file is bind-mounted over /var/log/btmp, so denied test logins never reach
	// the host's failed-login log. Empty when no namespace could be had (or no btmp exists).
	BTMP string

	knownHosts string
	// authLines replaces the login-path part of sshd_config (see sshdConfig) when set.
	authLines string
}

// proc is one started sshd; done closes when it has been reaped.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// listeners holds the pids of running test sshd listeners (exec.Cmd children whose Wait is
// pending), which reapOrphans must leave alone.
var listeners sync.Map // int -> struct{}

var subreaperOnce sync.Once

// becomeSubreaper makes this process the parent of processes orphaned below it. sshd's
// per-connection processes leave children of their own behind when they exit; with an init
// that reaps late (as in some containers) those zombies, owned by the test user's uid, would
// block deleting the user. As their subreaper, stop reaps them itself.
func becomeSubreaper() {
	subreaperOnce.Do(func() {
		const prSetChildSubreaper = 36
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	})
}

// /run/sshd bookkeeping across test processes (several may run at once on a developer's
// machine): privsepMarker says the directory was created by these tests, and every process
// that needs it holds a file holderPrefix+<pid> meanwhile. The last holder to let go removes
// the directory, only if the marker is there; a /run/sshd that existed before is left alone.
const (
	privsepMarker = "/run/vault-ssh-helper-sshd-test-made-run-sshd"
	holderPrefix  = "/run/vault-ssh-helper-sshd-test."
)

var privsep struct {
	sync.Mutex
	users int
}

// otherHolders reports whether a live process other than this one holds /run/sshd; holder
// files of dead processes are removed on the way.
func otherHolders() bool {
	files, _ := filepath.Glob(holderPrefix + "[0-9]*")
	found := false
	for _, f := range files {
		pid, err := strconv.Atoi(strings.TrimPrefix(f, holderPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.Remove(f)
			continue
		}
		found = true
	}
	return found
}

// holdPrivsepDir makes sure /run/sshd exists while this test needs it (see above).
func holdPrivsepDir(t testing.TB) {
	t.Helper()
	privsep.Lock()
	defer privsep.Unlock()
	holder := holderPrefix + strconv.Itoa(os.Getpid())
	if privsep.users == 0 {
		// Announce first, look second: a process letting go checks holders before removing.
		if err := os.WriteFile(holder, []byte(markerLine()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	privsep.users++
	t.Cleanup(func() {
		privsep.Lock()
		defer privsep.Unlock()
		privsep.users--
		if privsep.users > 0 {
			return
		}
		_ = os.Remove(holder)
		if _, err := os.Stat(privsepMarker); err != nil || otherHolders() {
			return
		}
		if err := os.Remove(privsepDir); err == nil || errors.Is(err, os.ErrNotExist) {
			_ = os.Remove(privsepMarker)
		}
	})
	ensurePrivsepDir(t)
}

// ensurePrivsepDir creates /run/sshd (and the marker) when it is missing.
func ensurePrivsepDir(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(privsepDir); !errors.Is(err, os.ErrNotExist) {
		return
	}
	if err := os.WriteFile(privsepMarker, []byte(markerLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(privsepDir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatal(err)
	}
}

// otpAuthLines is the login path of the SSH OTP tests: keyboard-interactive through PAM only.
const otpAuthLines = `UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
HostbasedAuthentication no
AuthorizedKeysFile none
AuthenticationMethods keyboard-interactive
`

// sshdConfig is the whole configuration; the system's /etc/ssh/sshd_config is never read.
func (s *Server) sshdConfig(port int) string {
	auth := s.authLines
	if auth == "" {
		auth = otpAuthLines
	}
	return fmt.Sprintf(`# private sshd of a vault-ssh-helper e2e test
ListenAddress 127.0.0.1
Port %d
HostKey %s
PidFile %s
# The login path under test.
%s# One user, no root, nothing but running a command.
AllowUsers %s
PermitRootLogin no
LoginGraceTime %d
MaxAuthTries 3
UseDNS no
PrintMotd no
PrintLastLog no
PermitTTY no
DisableForwarding yes
PermitUserEnvironment no
LogLevel VERBOSE
`, port, filepath.Join(s.Dir, "ssh_host_ed25519_key"), filepath.Join(s.Dir, "sshd.pid"),
		auth, s.User.Name, loginGraceTime)
}

// hostBTMP is where sshd records failed logins (one record per denied test login).
const hostBTMP = "/var/log/btmp"

var (
	nsOnce sync.Once
	nsOK   bool
)

// mountNamespaceWorks reports whether unshare can give sshd a private mount namespace here.
func mountNamespaceWorks() bool {
	nsOnce.Do(func() {
		nsOK = exec.Command("unshare", "--mount", "--propagation", "private", "true").Run() == nil
	})
	return nsOK
}

// Start runs a private sshd for svc and user on a free 127.0.0.1 port and stops it (with
// every process it started) when the test ends.
func Start(t testing.TB, svc *Service, user *User) *Server {
	t.Helper()
	return start(t, &Server{Service: svc, User: user, Dir: t.TempDir()})
}

func start(t testing.TB, s *Server) *Server {
	t.Helper()
	svc := s.Service
	noSpace(t, "server directory", s.Dir)
	holdPrivsepDir(t)
	becomeSubreaper()

	key := filepath.Join(s.Dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vsh-test-host", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pubFields := strings.Fields(string(pub))
	if len(pubFields) < 2 {
		t.Fatalf("odd host public key %q", pub)
	}

	// The PAM service name is the basename of argv[0]; sshd re-executes itself by that path.
	bin := filepath.Join(s.Dir, svc.Name)
	if err := os.Symlink(SSHDPath, bin); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(hostBTMP); err == nil {
		if mountNamespaceWorks() {
			s.BTMP = filepath.Join(s.Dir, "btmp")
			if err := os.WriteFile(s.BTMP, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Logf("no private mount namespace (unshare --mount failed): denied logins are recorded in %s", hostBTMP)
		}
	}
	clientHome := filepath.Join(s.Dir, "client-home")
	if err := os.Mkdir(clientHome, 0o700); err != nil {
		t.Fatal(err)
	}

	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		cfg := filepath.Join(s.Dir, "sshd_config")
		if err := os.WriteFile(cfg, []byte(s.sshdConfig(port)), 0o600); err != nil {
			t.Fatal(err)
		}
		ensurePrivsepDir(t) // a concurrent run may have just removed the one it had made
		if out, err := exec.Command(bin, "-t", "-f", cfg).CombinedOutput(); err != nil {
			t.Fatalf("sshd -t rejects the test config: %v: %s", err, out)
		}
		s.Log = filepath.Join(s.Dir, fmt.Sprintf("sshd-%d.log", attempt))
		ok, why := s.launch(t, bin, cfg, port)
		if !ok {
			lastErr = why
			continue
		}
		s.Port = port
		s.knownHosts = filepath.Join(s.Dir, "known_hosts")
		line := fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, pubFields[0], pubFields[1])
		if err := os.WriteFile(s.knownHosts, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Fatalf("private sshd did not start: %s", lastErr)
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// launch starts sshd -D in its own process group and waits (10 s at most) for its port.
func (s *Server) launch(t testing.TB, bin, cfg string, port int) (bool, string) {
	t.Helper()
	logf, err := os.Create(s.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", cfg)
	if s.BTMP != "" {
		// unshare execs sh, which execs sshd: the pid stays sshd's, argv[0] the symlink.
		cmd = exec.Command("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
			`mount --bind "$1" `+hostBTMP+` && exec "$2" -D -e -f "$3"`, "sh", s.BTMP, bin, cfg)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start sshd: %v", err)
	}
	listeners.Store(cmd.Process.Pid, struct{}{})
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		listeners.Delete(cmd.Process.Pid)
		logf.Close()
		close(done)
	}()
	p := &proc{cmd: cmd, done: done}
	t.Cleanup(func() { s.stop(t, p) })

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			b, _ := os.ReadFile(s.Log)
			return false, fmt.Sprintf("sshd exited: %s", b)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return true, ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop(t, p)
	return false, "port never opened within 10 s"
}

// stop ends sshd and everything in its process group (per-connection children): SIGTERM,
// then SIGKILL after 5 s. Helpers run by pam_exec are in sessions of their own and end by
// their own time budget.
func (s *Server) stop(t testing.TB, p *proc) {
	select {
	case <-p.done: // exited by itself
	default:
		pgid := p.cmd.Process.Pid
		// Let connections that are closing finish first (5 s at most): the listener reaps
		// its per-connection processes, which are in sessions of their own. Killed first,
		// it would leave them to init as zombies still owned by the test user's uid.
		for deadline := time.Now().Add(5 * time.Second); hasChildren(pgid) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // children left in the group, if any
	reapOrphans(t, s.Service.Name)
	if t.Failed() {
		if b, err := os.ReadFile(s.Log); err == nil {
			t.Logf("sshd log (%s):\n%s", s.Log, b)
		}
		if b, err := os.ReadFile(s.Service.Log); err == nil {
			t.Logf("pam_exec log (%s):\n%s", s.Service.Log, b)
		}
	}
}

// procStat is what /proc/<pid>/stat says about one process.
type procStat struct {
	pid, ppid int
	comm      string
	state     byte
}

func processes() []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var ps []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(string(b[j+1:]))
		if len(f) < 2 || len(f[0]) != 1 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ps = append(ps, procStat{pid: pid, ppid: ppid, comm: string(b[i+1 : j]), state: f[0][0]})
	}
	return ps
}

// hasChildren reports whether any process has pid as its parent.
func hasChildren(pid int) bool {
	for _, p := range processes() {
		if p.ppid == pid {
			return true
		}
	}
	return false
}

// reapOrphans waits for (and reaps) the processes of the stopped sshd named name that were
// orphaned to this process (see becomeSubreaper); one still running after 5 s is killed.
func reapOrphans(t testing.TB, name string) {
	comm := name
	if len(comm) > 15 { // the kernel keeps 15 bytes of comm
		comm = comm[:15]
	}
	me := os.Getpid()
	deadline, killed := time.Now().Add(5*time.Second), false
	for {
		var left []procStat
		for _, p := range processes() {
			if _, running := listeners.Load(p.pid); p.ppid != me || p.comm != comm || running {
				continue
			}
			if p.state == 'Z' {
				_, _ = syscall.Wait4(p.pid, nil, syscall.WNOHANG, nil)
				continue
			}
			left = append(left, p)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			if killed {
				t.Errorf("processes of the test sshd outlived SIGKILL: %v", left)
				return
			}
			for _, p := range left {
				t.Logf("killing process %d (%s) left by the test sshd", p.pid, p.comm)
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
			killed, deadline = true, time.Now().Add(5*time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SSH logs in as the server's user with password typed at the one keyboard-interactive prompt
// (sshpass -e: the password travels in the environment, never in argv) and runs remoteCmd.
func (s *Server) SSH(t testing.TB, password, remoteCmd string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	cmd := exec.CommandContext(ctx, "sshpass", "-e", "ssh",
		"-F", "/dev/null", // no client config from the system or $HOME
		"-o", "UserKnownHostsFile="+s.knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "PreferredAuthentications=keyboard-interactive",
		"-o", "NumberOfPasswordPrompts=1",
		"-o", "ConnectTimeout=10",
		"-o", "LogLevel=ERROR",
		"-p", strconv.Itoa(s.Port),
		"-l", s.User.Name,
		"127.0.0.1", "--", remoteCmd)
	cmd.Env = []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
		"HOME=" + filepath.Join(s.Dir, "client-home"),
		"SSHPASS=" + password,
	}
	cmd.WaitDelay = 2 * time.Second
	return run(t, cmd, cancel)
}

// SSHDLog returns sshd's own log so far.
func (s *Server) SSHDLog(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(s.Log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
