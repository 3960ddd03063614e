// Package logins runs the built vault-ssh-helper against a real Vault, as
// pam_exec would: OTP on stdin, PAM_USER set, no PATH, no HOME. Each test
// asserts the exit code and the log line a user would read.
package logins

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

const (
	user     = "alice"
	otherIP  = "192.0.2.10" // TEST-NET-1: never an address of this host
	otherNet = "192.0.2.0/24"
	anyCIDR  = "0.0.0.0/0"
	randUUID = "6c1a8e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
)

// success ends the line every allowed login logs, whoever logs in.
var success = vaulttest.Reason("main.authenticated", "")

// devConfig is the configuration for a plain-http harness Vault (run with
// -dev): vault_addr, allowed_roles "*", then extra lines.
func devConfig(t *testing.T, s *vaulttest.Server, extra ...string) string {
	t.Helper()
	return vaulttest.WriteConfig(t, "", config(s.Addr, `allowed_roles = "*"`, extra...))
}

func config(addr, roles string, extra ...string) string {
	lines := append([]string{fmt.Sprintf("vault_addr = %q", addr), roles}, extra...)
	return strings.Join(lines, "\n") + "\n"
}

// run runs the helper as pam_exec would and checks that no log line repeats
// the password it was given.
func run(t *testing.T, r vaulttest.Run) vaulttest.Result {
	t.Helper()
	res := vaulttest.RunHelper(t, r)
	if secret := strings.TrimRight(r.Stdin, "\x00"); secret != "" && res.Contains(secret) {
		t.Errorf("the helper's output repeats the password it read from stdin")
	}
	return res
}

// login runs the helper in dev mode for user with otp on stdin.
func login(t *testing.T, cfg, pamUser, otp string, args ...string) vaulttest.Result {
	t.Helper()
	return run(t, vaulttest.Run{Config: cfg, Args: append([]string{"-dev"}, args...), User: pamUser, Stdin: otp})
}

// expect fails the test unless res exited with code and its output holds
// every one of wants.
func expect(t *testing.T, res vaulttest.Result, code int, wants ...string) {
	t.Helper()
	if res.TimedOut {
		t.Fatalf("helper did not exit within its timeout (%s); output:\n%s", res.Elapsed, res.Output)
	}
	t.Logf("exit %d after %s; output:\n%s", res.Code, res.Elapsed.Round(time.Millisecond), res.Output)
	ok := res.Code == code
	for _, w := range wants {
		if !res.Contains(w) {
			ok = false
			t.Errorf("output lacks %q", w)
		}
	}
	if !ok {
		t.Fatalf("exit code %d (want %d); output:\n%s", res.Code, code, res.Output)
	}
}

// otpRole starts a Vault with role "otp" on mount "ssh" for user at any IP.
func otpRole(t *testing.T) *vaulttest.Server {
	t.Helper()
	s := vaulttest.Start(t)
	s.CreateOTPRole(t, "ssh", "otp", user, anyCIDR)
	return s
}

func TestValidOTPIsAccepted(t *testing.T) {
	s := otpRole(t)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	res := login(t, devConfig(t, s), user, otp)
	expect(t, res, 0, "[INFO]  "+vaulttest.Reason("main.authenticated", "alice@127.0.0.1"), vaulttest.Reason("sshotp.announce", "ssh"))
}

func TestOTPWithTrailingNULIsAccepted(t *testing.T) {
	// Linux-PAM before 1.4.0 writes the password and one NUL.
	s := otpRole(t)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, login(t, devConfig(t, s), user, otp+"\x00"), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestReplayedOTPIsDenied(t *testing.T) {
	s := otpRole(t)
	cfg := devConfig(t, s)
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, login(t, cfg, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
	res := login(t, cfg, user, otp)
	expect(t, res, 1, vaulttest.Reason("sshotp.ErrOTPNotFound"))
	if res.Contains(success) {
		t.Fatalf("a replay logged success:\n%s", res.Output)
	}
}

func TestRandomUUIDIsDenied(t *testing.T) {
	s := otpRole(t)
	expect(t, login(t, devConfig(t, s), user, randUUID), 1, vaulttest.Reason("sshotp.ErrOTPNotFound"))
}

func TestOTPForAnotherUserIsDeniedAndConsumed(t *testing.T) {
	s := otpRole(t)
	cfg := devConfig(t, s)
	otp := s.IssueOTP(t, "ssh", "otp", "bob", "127.0.0.1")
	expect(t, login(t, cfg, user, otp), 1, vaulttest.Reason("sshotp.ErrUsernameMismatch"))
	// Vault deleted the OTP when it answered: bob cannot use it either.
	expect(t, login(t, cfg, "bob", otp), 1, vaulttest.Reason("sshotp.ErrOTPNotFound"))
}

func TestOTPForNonLocalIPIsDeniedUntilAllowedCIDRCoversIt(t *testing.T) {
	s := otpRole(t)
	otp := s.IssueOTP(t, "ssh", "otp", user, otherIP)
	expect(t, login(t, devConfig(t, s), user, otp), 1, vaulttest.Reason("sshotp.ErrIPNotLocal"))

	allowed := devConfig(t, s, fmt.Sprintf("allowed_cidr_list = %q", "10.0.0.0/8, "+otherNet))
	otp = s.IssueOTP(t, "ssh", "otp", user, otherIP)
	expect(t, login(t, allowed, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@"+otherIP))
}

func TestOTPForNonLocalIPOutsideAllowedCIDRIsDenied(t *testing.T) {
	s := otpRole(t)
	cfg := devConfig(t, s, `allowed_cidr_list = "198.51.100.0/24"`)
	otp := s.IssueOTP(t, "ssh", "otp", user, otherIP)
	expect(t, login(t, cfg, user, otp), 1, vaulttest.Reason("sshotp.ErrIPNotAllowed"), otherIP)
}

func TestRoleNotInAllowedRolesIsDenied(t *testing.T) {
	s := otpRole(t)
	cfg := vaulttest.WriteConfig(t, "", config(s.Addr, `allowed_roles = "admins, ops"`))
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, login(t, cfg, user, otp), 1, "allowed_roles", `"otp"`)
}

func TestRoleNamedInAllowedRolesIsAccepted(t *testing.T) {
	s := otpRole(t)
	cfg := vaulttest.WriteConfig(t, "", config(s.Addr, `allowed_roles = "ops, otp"`))
	otp := s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")
	expect(t, login(t, cfg, user, otp), 0, vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestCustomMountPointIsUsed(t *testing.T) {
	s := vaulttest.Start(t)
	s.CreateOTPRole(t, "ssh-other", "otp", user, anyCIDR)
	cfg := devConfig(t, s, `ssh_mount_point = "ssh-other"`)
	otp := s.IssueOTP(t, "ssh-other", "otp", user, "127.0.0.1")
	expect(t, login(t, cfg, user, otp), 0, vaulttest.Reason("sshotp.announce", "ssh-other"), vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
}

func TestOTPFromAnotherMountIsDenied(t *testing.T) {
	s := vaulttest.Start(t)
	s.CreateOTPRole(t, "ssh-other", "otp", user, anyCIDR)
	otp := s.IssueOTP(t, "ssh-other", "otp", user, "127.0.0.1")
	// The default mount "ssh" never issued it.
	expect(t, login(t, devConfig(t, s), user, otp), 1, vaulttest.Reason("sshotp.ErrOTPNotFound"))
}
