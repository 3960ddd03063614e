package sshd

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A login that needs a public key AND a code (the TOTP mode's set-up): sshd's
// `AuthenticationMethods publickey,keyboard-interactive:pam`, the client holding a key the
// user's authorized_keys lists, and the code typed at the keyboard-interactive prompt. The
// client is the real ssh; the code reaches it through SSH_ASKPASS (forced), which also records
// the prompt sshd sent, so a test can check what a user would read.

// StartKeyAndCode is Start with sshdLines (the README's sshd_config lines for key + code) as
// the login path, and a client key installed in the user's ~/.ssh/authorized_keys.
func StartKeyAndCode(t testing.TB, svc *Service, u *User, sshdLines string) *Server {
	t.Helper()
	s := &Server{Service: svc, User: u, Dir: t.TempDir()}
	s.authLines = strings.TrimRight(sshdLines, "\n") + "\nHostbasedAuthentication no\nAuthorizedKeysFile .ssh/authorized_keys\n"
	key := filepath.Join(s.Dir, "client_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vsh-test-client", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authorize(t, u, pub)
	return start(t, s)
}

// authorize writes pub as the user's only authorized key, owned by the user as StrictModes
// demands.
func authorize(t testing.TB, u *User, pub []byte) {
	t.Helper()
	acct, err := user.Lookup(u.Name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(acct.Uid)
	gid, _ := strconv.Atoi(acct.Gid)
	dir := filepath.Join(u.Home, ".ssh")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(file, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, file} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// SetAuthLines writes the service file with authLines (the README's auth lines, paths already
// filled in) and the same account and session lines as PAMConfig.
func (s *Service) SetAuthLines(t testing.TB, authLines string) {
	t.Helper()
	body := "# " + markerLine() + ": PAM service of a private test sshd; removed when the test ends.\n" +
		strings.TrimRight(authLines, "\n") + "\n" +
		"account required pam_unix.so\n" +
		"session required pam_unix.so\n"
	if err := os.WriteFile(s.File, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Methods says what the client offers: its key, the code (keyboard-interactive), or both.
type Methods string

const (
	KeyOnly    Methods = "publickey"
	CodeOnly   Methods = "keyboard-interactive"
	KeyAndCode Methods = "publickey,keyboard-interactive"
)

// SSHWithKey logs in offering methods, answers the keyboard-interactive prompt with code, and
// runs remoteCmd. It returns the result and the prompts ssh showed (each as askpass got it).
func (s *Server) SSHWithKey(t testing.TB, methods Methods, code, remoteCmd string) (Result, []string) {
	t.Helper()
	dir := t.TempDir()
	prompts := filepath.Join(dir, "prompts")
	askpass := filepath.Join(dir, "askpass")
	// ssh runs askpass with the prompt as its argument and reads the answer from its stdout.
	script := "#!/bin/sh\nprintf '%s\\n\\036\\n' \"$1\" >>\"$VSH_TEST_PROMPTS\"\nprintf '%s\\n' \"$VSH_TEST_CODE\"\n"
	if err := os.WriteFile(askpass, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-F", "/dev/null",
		"-o", "UserKnownHostsFile=" + s.knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "IdentityAgent=none",
		"-o", "IdentitiesOnly=yes",
		"-o", "PreferredAuthentications=" + string(methods),
		"-o", "NumberOfPasswordPrompts=1",
		"-o", "ConnectTimeout=10",
		"-o", "LogLevel=ERROR",
	}
	if methods == CodeOnly {
		args = append(args, "-o", "PubkeyAuthentication=no")
	} else {
		args = append(args, "-i", filepath.Join(s.Dir, "client_key"))
	}
	args = append(args, "-p", strconv.Itoa(s.Port), "-l", s.User.Name, "127.0.0.1", "--", remoteCmd)
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Env = []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
		"HOME=" + filepath.Join(s.Dir, "client-home"),
		"SSH_ASKPASS=" + askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0",
		"VSH_TEST_CODE=" + code, "VSH_TEST_PROMPTS=" + prompts,
	}
	cmd.Stdin = nil // /dev/null: nothing but askpass can answer
	cmd.WaitDelay = 2 * time.Second
	r := run(t, cmd, cancel)
	b, err := os.ReadFile(prompts)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var shown []string
	for _, p := range strings.Split(string(b), "\n\036\n") {
		if p != "" {
			shown = append(shown, p)
		}
	}
	return r, shown
}
