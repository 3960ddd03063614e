package sshd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests pin the harness itself with stand-in helpers (shell scripts), so a failure of
// the Vault cases can be told apart from a broken sshd/PAM setup.

func TestStandInHelperDecidesTheSSHLogin(t *testing.T) {
	Require(t)
	user := NewUser(t)
	svc := NewService(t)
	srv := Start(t, svc, user)

	svc.SetHelper(t, svc.StandIn(t, 0))
	r := srv.SSH(t, "any password", "echo remote-ok; id -un")
	if r.Code != 0 || r.Stdout != "remote-ok\n"+user.Name+"\n" {
		t.Fatalf("login through a helper that exits 0: %v", r)
	}

	svc.SetHelper(t, svc.StandIn(t, 1))
	r = srv.SSH(t, "any password", "echo remote-ok")
	if !r.Denied() || strings.Contains(r.Stdout, "remote-ok") {
		t.Fatalf("login through a helper that exits 1: want Permission denied, got %v", r)
	}
	if n := strings.Count(svc.LogSince(t, 0), "*** "); n != 2 {
		t.Errorf("pam_exec log has %d '*** <date>' lines, want one per login (2)", n)
	}
}

func TestStandInHelperDecidesPAMTester(t *testing.T) {
	Require(t)
	user := NewUser(t)
	svc := NewService(t)

	svc.SetHelper(t, svc.StandIn(t, 0))
	if r := svc.PAMTester(t, user.Name, "any password"); r.Code != 0 {
		t.Fatalf("pamtester through a helper that exits 0: %v", r)
	}
	svc.SetHelper(t, svc.StandIn(t, 1))
	if r := svc.PAMTester(t, user.Name, "any password"); r.Code == 0 {
		t.Fatalf("pamtester through a helper that exits 1 was allowed: %v", r)
	}
}

// The facts of BEHAVIOUR.md §1 that the helper relies on, checked on this system: the
// password arrives on stdin with no newline and no NUL, and the environment is PAM's only.
func TestHelperGetsPasswordAndPAMEnvironmentAsDocumented(t *testing.T) {
	Require(t)
	user := NewUser(t)
	svc := NewService(t)
	srv := Start(t, svc, user)
	out := t.TempDir()
	script := svc.WriteScript(t, "record", "#!/bin/sh\n"+
		"/bin/cat >"+filepath.Join(out, "stdin")+"\n"+
		"/usr/bin/env >"+filepath.Join(out, "env")+"\n"+
		"/bin/pwd >"+filepath.Join(out, "pwd")+"\n"+
		"exit 0\n")
	svc.SetHelper(t, script+" -config=/nonexistent/config.hcl")

	const password = "not-a-real-secret"
	if r := srv.SSH(t, password, "true"); r.Code != 0 {
		t.Fatalf("login through the recording helper: %v", r)
	}
	stdin, err := os.ReadFile(filepath.Join(out, "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	// Linux-PAM < 1.4 appended one NUL; the helper accepts both, this system sends none.
	if string(stdin) != password && string(stdin) != password+"\x00" {
		t.Errorf("helper stdin = %q, want the typed password alone", stdin)
	}
	envb, err := os.ReadFile(filepath.Join(out, "env"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(envb)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		env[k] = v
	}
	for k, want := range map[string]string{
		"PAM_USER": user.Name, "PAM_RHOST": "127.0.0.1", "PAM_TYPE": "auth", "PAM_SERVICE": svc.Name,
	} {
		if env[k] != want {
			t.Errorf("helper environment %s=%q, want %q (all: %v)", k, env[k], want, env)
		}
	}
	if _, ok := env["PATH"]; ok {
		t.Errorf("helper got a PATH (%q); BEHAVIOUR.md says pam_exec passes none", env["PATH"])
	}
}

// Every trace of a test (user, PAM file, sshd processes, /run/sshd when it was missing) is
// gone once the subtest that made them has ended, and a denied login is recorded in the
// sshd's private btmp, not the host's /var/log/btmp.
func TestTeardownLeavesNoTrace(t *testing.T) {
	Require(t)
	// Whether /run/sshd was there before any of these tests made it.
	_, errRun := os.Stat(privsepDir)
	_, errMarker := os.Stat(privsepMarker)
	wasThere := errRun == nil && errMarker != nil
	var user, pamFile, sshdName string
	t.Run("login", func(t *testing.T) {
		u := NewUser(t)
		svc := NewService(t)
		srv := Start(t, svc, u)
		svc.SetHelper(t, svc.StandIn(t, 0))
		if r := srv.SSH(t, "x", "true"); r.Code != 0 {
			t.Fatalf("login: %v", r)
		}
		btmp := fileSize(hostBTMP)
		svc.SetHelper(t, svc.StandIn(t, 1))
		if r := srv.SSH(t, "x", "true"); !r.Denied() {
			t.Fatalf("denied login: %v", r)
		}
		if srv.BTMP != "" {
			if fileSize(srv.BTMP) == 0 {
				t.Errorf("the denied login left no record in the private btmp %s", srv.BTMP)
			}
			if after := fileSize(hostBTMP); after != btmp {
				t.Errorf("%s changed from %d to %d bytes with a denied test login", hostBTMP, btmp, after)
			}
		}
		user, pamFile, sshdName = u.Name, svc.File, svc.Name
	})
	if user == "" {
		t.Fatal("subtest did not get far enough")
	}
	if err := exec.Command("getent", "passwd", user).Run(); err == nil {
		t.Errorf("user %s still exists", user)
	}
	if _, err := os.Stat(pamFile); err == nil {
		t.Errorf("%s still exists", pamFile)
	}
	if out, err := exec.Command("pgrep", "-f", sshdName).Output(); err == nil {
		t.Errorf("processes of %s still run: %s", sshdName, out)
	}
	if _, err := os.Stat(privsepDir); (err == nil) != wasThere && !otherHolders() { // a concurrent run may hold it
		t.Errorf("%s was there before the tests: %v; after: %v", privsepDir, wasThere, err == nil)
	}
}

// Why the README keeps `auth optional pam_unix.so not_set_pass use_first_pass nodelay`: after
// authentication sshd calls pam_setcred, which pam_exec does not implement; without a module
// that answers it, sshd accepts the password and then drops the connection.
func TestPAMUnixLineIsWhatLetsSSHDSetCredentials(t *testing.T) {
	Require(t)
	user := NewUser(t)
	svc := NewService(t)
	srv := Start(t, svc, user)
	svc.SetHelper(t, svc.StandIn(t, 0))
	b, err := os.ReadFile(svc.File)
	if err != nil {
		t.Fatal(err)
	}
	const unixLine = "auth optional pam_unix.so not_set_pass use_first_pass nodelay\n"
	if !strings.Contains(string(b), unixLine) {
		t.Fatalf("service file lacks the README's pam_unix line:\n%s", b)
	}
	if err := os.WriteFile(svc.File, []byte(strings.Replace(string(b), unixLine, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := srv.SSH(t, "x", "echo remote-ok")
	if r.Code == 0 || strings.Contains(r.Stdout, "remote-ok") {
		t.Fatalf("without the pam_unix line the login went through (%v): the README's reason for it is stale", r)
	}
	if log := srv.SSHDLog(t); !strings.Contains(log, "pam_setcred") {
		t.Errorf("sshd's log does not name pam_setcred:\n%s", log)
	}
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return fi.Size()
}
