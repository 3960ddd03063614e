package vaulttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BinaryEnv names the variable that overrides where the product binary is.
const BinaryEnv = "VSH_BIN"

// HelperBinary returns the absolute path of the product binary: $VSH_BIN if
// set, else <repo root>/bin/vault-ssh-helper. A missing binary fails the test.
func HelperBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv(BinaryEnv)
	if p == "" {
		root, err := RepoRoot()
		if err != nil {
			t.Fatalf("vaulttest: %v; set %s to the built vault-ssh-helper", err, BinaryEnv)
		}
		p = filepath.Join(root, "bin", "vault-ssh-helper")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	fi, err := os.Stat(abs)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("vaulttest: no executable vault-ssh-helper at %s: run make first (in the repo root), or set %s", abs, BinaryEnv)
	}
	return abs
}

// RepoRoot walks up from the working directory to the product repository's
// root: the directory holding e2e/go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "e2e", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (holding e2e/go.mod) not found above the working directory")
		}
		dir = parent
	}
}

// WriteConfig writes body to a new 0600 file in dir (t.TempDir() if dir is
// empty) and returns its path.
func WriteConfig(t testing.TB, dir, body string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if why := unsafeDirectory(dir); why != "" {
		t.Fatalf("vaulttest: the helper would refuse a config in %s: %s; run the tests through "+
			"`make test` or scripts/test-vault.sh, or first: export TMPDIR=$(bash scripts/test-tmpdir.sh)", dir, why)
	}
	f, err := os.CreateTemp(dir, "config-*.hcl")
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	if _, err := f.WriteString(body); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	return f.Name()
}

// unsafeDirectory says which directory on dir's path (links resolved) the helper's StrictModes
// rule for directories refuses: writable by group or others, sticky or not, or owned by
// someone other than root or us. "" when none. The rule itself is the product's
// (config/trusted.go); this only tells a test run under /tmp why it cannot work.
func unsafeDirectory(dir string) string {
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err.Error()
	}
	d, err = filepath.Abs(d)
	if err != nil {
		return err.Error()
	}
	for {
		st, err := os.Stat(d)
		if err != nil {
			return err.Error()
		}
		if st.Mode().Perm()&0o022 != 0 {
			return fmt.Sprintf("directory %s is writable by group or others (%v)", d, st.Mode())
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 && int(sys.Uid) != os.Geteuid() {
			return fmt.Sprintf("directory %s is owned by uid %d", d, sys.Uid)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// Run describes one run of the helper as pam_exec makes it.
type Run struct {
	// Config is passed as -config=<Config> (first argument) unless empty.
	Config string
	// Args follow -config, e.g. "-dev", "-verify-only", "-log-level=debug".
	Args []string
	// User is PAM_USER.
	User string
	// RHost is PAM_RHOST; "127.0.0.1" when empty.
	RHost string
	// Stdin is what pam_exec's expose_authtok writes: the OTP, no newline.
	Stdin string
	// Env adds KEY=VALUE entries to the environment (after the PAM ones).
	Env []string
	// Timeout kills the helper (and fails nothing by itself); 30 s when zero.
	Timeout time.Duration
	// Binary overrides HelperBinary(t).
	Binary string
	// Emulator, when set, is a user-mode emulator (qemu-aarch64-static, ...)
	// that runs Binary: a release built for another architecture is then
	// run here exactly as pam_exec would run it on its own machine.
	Emulator string
	// NoPAM runs the binary as an administrator would from a shell script:
	// none of the PAM_* variables, only Env (still no PATH or HOME).
	NoPAM bool
	// Sink, when set, takes stdout and stderr instead of Result.Output, as
	// pam_exec's log= file does (a FIFO that stopped taking writes, say).
	Sink *os.File
}

// Result is what one helper run produced.
type Result struct {
	// Code is the exit status; -1 when the process was killed or did not start.
	Code int
	// Output is stdout and stderr interleaved, as pam_exec's log= records it.
	Output string
	// Elapsed is the wall time from start to exit.
	Elapsed time.Duration
	// TimedOut is true when Timeout killed the process.
	TimedOut bool
}

// Contains reports whether the output holds s.
func (r Result) Contains(s string) bool { return strings.Contains(r.Output, s) }

// RunHelper runs the product binary the way pam_exec does: environment ONLY
// PAM_USER, PAM_RHOST, PAM_SERVICE=sshd, PAM_TTY=ssh, PAM_TYPE=auth (plus
// r.Env), no PATH or HOME, working directory /, its own session, the OTP on
// stdin; it is killed after r.Timeout.
func RunHelper(t testing.TB, r Run) Result {
	t.Helper()
	bin := r.Binary
	if bin == "" {
		bin = HelperBinary(t)
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	rhost := r.RHost
	if rhost == "" {
		rhost = "127.0.0.1"
	}
	var args []string
	if r.Config != "" {
		args = append(args, "-config="+r.Config)
	}
	args = append(args, r.Args...)

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if r.Emulator != "" {
		cmd = exec.CommandContext(ctx, r.Emulator, append([]string{bin}, args...)...)
	}
	cmd.Env = []string{}
	if !r.NoPAM {
		cmd.Env = append(cmd.Env,
			"PAM_USER="+r.User,
			"PAM_RHOST="+rhost,
			"PAM_SERVICE=sshd",
			"PAM_TTY=ssh",
			"PAM_TYPE=auth",
		)
	}
	cmd.Env = append(cmd.Env, r.Env...)
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(r.Stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if r.Sink != nil {
		cmd.Stdout, cmd.Stderr = r.Sink, r.Sink
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	err := cmd.Run()
	res := Result{Output: out.String(), Elapsed: time.Since(start), Code: -1}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.TimedOut = true
	case err == nil:
		res.Code = 0
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	default:
		t.Fatalf("vaulttest: run %s: %v", bin, err)
	}
	return res
}
