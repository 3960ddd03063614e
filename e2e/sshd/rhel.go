package sshd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A RHEL-shaped login path on this Debian machine: the README's /etc/pam.d/sshd for RHEL 8/9,
// whose account, password and session lines include password-auth and postlogin (files
// authselect writes on RHEL), and an sshd_config that, like RHEL 9's, reads a drop-in directory
// first. The included files are private ones beside the service file, shaped like authselect's.

// AddPAMFile writes /etc/pam.d/<service name>-<suffix> (for a service file to include or
// substack) and removes it when the test ends. It carries the same marker as the service file,
// so a killed run's leftover is swept like one. It returns the name to write in the include.
func (s *Service) AddPAMFile(t testing.TB, suffix, body string) string {
	t.Helper()
	noSpace(t, "PAM file suffix", suffix)
	name := s.Name + "-" + suffix
	path := filepath.Join(pamDir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatalf("create PAM file: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("remove PAM file: %v", err)
		}
	})
	_, err = f.WriteString("# " + markerLine() + ": included by a private test sshd's PAM service; removed when the test ends.\n" + body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// SetFile writes body (a whole service file, marker added) as the service file.
func (s *Service) SetFile(t testing.TB, body string) {
	t.Helper()
	body = "# " + markerLine() + ": PAM service of a private test sshd; removed when the test ends.\n" + body
	if err := os.WriteFile(s.File, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// StartWithConfig is Start with sshdLines as the login path of sshd_config (in place of the
// SSH OTP tests' otpAuthLines): for a config that reads drop-in files, as RHEL 9's does.
func StartWithConfig(t testing.TB, svc *Service, u *User, sshdLines string) *Server {
	t.Helper()
	s := &Server{Service: svc, User: u, Dir: t.TempDir()}
	s.authLines = strings.TrimRight(sshdLines, "\n") + "\n"
	return start(t, s)
}

// PAMTesterOps is PAMTester with the operations given (pamtester's names: authenticate,
// acct_mgmt, setcred, open_session, ...), run in one process on one PAM handle.
func (s *Service) PAMTesterOps(t testing.TB, user, password string, ops ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	args := append([]string{"-I", "rhost=127.0.0.1", "-I", "tty=ssh", s.Name, user}, ops...)
	cmd := exec.CommandContext(ctx, "pamtester", args...)
	// pamtester's conversation reads one line from stdin and drops its newline.
	cmd.Stdin = strings.NewReader(password + "\n")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	return run(t, cmd, cancel)
}
