package logins

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// hangDetector is far beyond any budget these tests configure: only a run
// that waits on its log reaches it.
const hangDetector = 30 * time.Second

// runStalled runs the built helper as vaulttest.RunHelper does, with stdout
// and stderr, as with pam_exec's log=, on one file that has stopped taking
// writes (a stalled NFS or FUSE mount): a FIFO whose buffer is full and
// never read. It returns the exit code, failing the test if the helper is
// not done within hangDetector.
func runStalled(t *testing.T, r vaulttest.Run) int {
	t.Helper()
	r.Sink = fullFIFO(t)
	r.Timeout = hangDetector
	res := vaulttest.RunHelper(t, r)
	t.Logf("%q exited after %s with its log stalled (code %d)", r.Args, res.Elapsed.Round(time.Millisecond), res.Code)
	if res.TimedOut {
		t.Fatalf("the helper hung: not done after %s with its log stalled", hangDetector)
	}
	return res.Code
}

// fullFIFO returns the blocking write end of a FIFO whose buffer is full
// and whose reader never reads; the test's end closes both ends.
func fullFIFO(t *testing.T) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	rfd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(rfd) })
	wfd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sink := os.NewFile(uintptr(wfd), path)
	t.Cleanup(func() { sink.Close() })
	if err := fill(wfd); err != nil {
		t.Fatal(err)
	}
	// Blocking, as a log= file is: a write parks the thread in write(2).
	if err := syscall.SetNonblock(wfd, false); err != nil {
		t.Fatal(err)
	}
	return sink
}

// fill writes until the pipe takes nothing more, not even one byte; pipes
// hold at most 1 MiB by default, so the loop is bounded well past that.
func fill(fd int) error {
	page := make([]byte, 4096)
	for _, size := range []int{len(page), 1} {
		for i := 0; ; i++ {
			if i == 1<<16 {
				return errors.New("the FIFO never filled")
			}
			_, err := syscall.Write(fd, page[:size])
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			if err != nil {
				return fmt.Errorf("fill the FIFO: %w", err)
			}
		}
	}
	return nil
}

func TestAStalledLogChangesNoLoginOutcome(t *testing.T) {
	s := otpRole(t)
	cfg := devConfig(t, s)

	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	if code := runStalled(t, vaulttest.Run{Config: cfg, Args: []string{"-dev"}, User: user, Stdin: otp}); code != 0 {
		t.Errorf("verified login exited %d with its log stalled, want 0", code)
	}
	// Vault consumed it: a replay is denied.
	if code := runStalled(t, vaulttest.Run{Config: cfg, Args: []string{"-dev"}, User: user, Stdin: otp}); code != 1 {
		t.Errorf("replayed OTP exited %d with its log stalled, want 1", code)
	}
	otp = s.IssueOTP(t, "ssh", "otp", "bob", "127.0.0.1")
	if code := runStalled(t, vaulttest.Run{Config: cfg, Args: []string{"-dev", "-log-level=trace"}, User: user, Stdin: otp}); code != 1 {
		t.Errorf("OTP for another user exited %d with its log stalled, want 1", code)
	}
	if code := runStalled(t, vaulttest.Run{Config: cfg, Args: []string{"-dev", "-verify-only"}, NoPAM: true}); code != 0 {
		t.Errorf("-verify-only exited %d with its output stalled, want 0", code)
	}
}

func TestAStalledLogWithAHangingVaultDeniesAtTheBudget(t *testing.T) {
	// A Vault that accepts the connection and never answers.
	hung := vaulttest.NewTrap(t, "http", true)
	cfg := vaulttest.WriteConfig(t, "", config(hung.URL, `allowed_roles = "*"`, `timeout = "1s"`))
	if code := runStalled(t, vaulttest.Run{Config: cfg, Args: []string{"-dev"}, User: user, Stdin: randUUID}); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if hung.Conns() == 0 {
		t.Error("the helper never reached the hanging Vault: the test did not test the budget")
	}
}

func TestAStalledStdoutDoesNotHoldVersionOrUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		pam  bool
		want int
	}{
		{[]string{"-version"}, false, 0},
		{[]string{"-version"}, true, 1},
		{[]string{"-h"}, false, 1},
		{[]string{"-bogus"}, true, 1},
	} {
		if code := runStalled(t, vaulttest.Run{Args: c.args, NoPAM: !c.pam, User: user}); code != c.want {
			t.Errorf("%q (under PAM: %v) exited %d with stdout stalled, want %d", c.args, c.pam, code, c.want)
		}
	}
}
