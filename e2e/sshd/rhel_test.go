package sshd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// The README's RHEL 8/9 recipe (blocks rhel-pam, rhel-pam-totp, rhel-sshd), run as far as
// Debian 12 can: RHEL's /etc/pam.d/sshd layout with the README's lines word for word (only the
// paths and the names of the included files differ), account/password/session included from
// files shaped like authselect's, and an sshd_config that reads a drop-in directory first, as
// RHEL 9's does, next to a copy of RHEL 9's 50-redhat.conf.

// rhelFixture returns test-fixtures/rhel9/name: RHEL's own files (authselect's password-auth
// and postlogin, RHEL 9's 50-redhat.conf), as far as Debian 12 can run them; that directory's
// README.md says what each is and what was left out.
func rhelFixture(t *testing.T, name string) string {
	t.Helper()
	root, err := vaulttest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "test-fixtures", "rhel9", name))
	if err != nil {
		t.Fatalf("RHEL fixture: %v", err)
	}
	return string(b)
}

// README's placeholder for the SSH OTP mode's config in its PAM lines.
const readmeOTPConfigPath = "/etc/vault-ssh-helper.d/config.hcl"

// rhelIncludes are the files the README's RHEL service file includes, each mapped to the
// private stand-in's name.
type rhelIncludes map[string]string

// newRHELIncludes writes the private password-auth and postlogin for svc.
func newRHELIncludes(t *testing.T, svc *Service) rhelIncludes {
	t.Helper()
	return rhelIncludes{
		"password-auth": svc.AddPAMFile(t, "password-auth", rhelFixture(t, "password-auth")),
		"postlogin":     svc.AddPAMFile(t, "postlogin", rhelFixture(t, "postlogin")),
	}
}

// rhelPAMFile returns the README's RHEL /etc/pam.d/sshd with the helper lines swapped for
// helperLines when those are given (the README's TOTP instruction), the README's paths
// replaced by the test's (paths: README path -> test path), and every include and substack
// target replaced by its stand-in: a target without one fails the test, so nothing falls
// back to this machine's own PAM files.
func rhelPAMFile(t *testing.T, helperLines string, paths map[string]string, inc rhelIncludes) string {
	t.Helper()
	file := vaulttest.READMEBlock(t, "rhel-pam")
	if helperLines != "" {
		file = withHelperLines(t, file, helperLines)
	}
	file = withPaths(t, "README's RHEL PAM file", file, paths)
	lines := strings.Split(file, "\n")
	used := map[string]bool{}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || strings.HasPrefix(f[0], "#") || (f[1] != "include" && f[1] != "substack") {
			continue
		}
		to, ok := inc[f[2]]
		if !ok {
			t.Fatalf("README's RHEL PAM file includes %q, which the test has no stand-in for", f[2])
		}
		lines[i] = strings.TrimSuffix(l, f[2]) + to
		used[f[2]] = true
	}
	for name := range inc {
		if !used[name] {
			t.Fatalf("README's RHEL PAM file no longer includes %s", name)
		}
	}
	return strings.Join(lines, "\n")
}

// isHelperLine reports whether l is one of the two lines the README's RHEL file puts in place
// of the password-auth substack: the pam_exec line and the pam_permit line.
func isHelperLine(l string) bool {
	f := strings.Fields(l)
	return len(f) >= 3 && f[0] == "auth" && (f[2] == "pam_exec.so" || f[2] == "pam_permit.so")
}

// withHelperLines follows the README: the TOTP mode's lines in place of the two helper lines.
func withHelperLines(t *testing.T, file, helperLines string) string {
	t.Helper()
	var out []string
	n := 0
	for _, l := range strings.Split(file, "\n") {
		if !isHelperLine(l) {
			out = append(out, l)
			continue
		}
		if n == 0 {
			out = append(out, strings.Split(strings.TrimRight(helperLines, "\n"), "\n")...)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("README's RHEL PAM file has %d pam_exec/pam_permit auth lines, want 2", n)
	}
	return strings.Join(out, "\n")
}

// rhelDropIns writes a drop-in directory holding dropIn as 40-vault-ssh-helper.conf (the
// README's name, or another given) next to 50-redhat.conf, and returns the Include line that
// RHEL 9's sshd_config starts with, pointing at it.
func rhelDropIns(t *testing.T, name, dropIn string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sshd_config.d")
	noSpace(t, "drop-in directory", dir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, body := range map[string]string{name: dropIn, "50-redhat.conf": rhelFixture(t, "50-redhat.conf")} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "Include " + dir + "/*.conf\n"
}

const rhelDropInName = "40-vault-ssh-helper.conf"

func TestRHELRecipeLogsInInBothModes(t *testing.T) {
	Require(t)
	vaulttest.RequireTool(t, "oathtool", "oathtool")
	bin := vaulttest.HelperBinary(t)
	noSpace(t, "helper binary path", bin)
	v := vaulttest.StartTLS(t)
	u := NewUser(t)
	svc := NewService(t)
	inc := newRHELIncludes(t, svc)
	var otps, codes []string // what was typed, for the logs' check

	t.Run("SSH OTP", func(t *testing.T) {
		v.CreateOTPRole(t, "ssh", "otp", u.Name, "127.0.0.0/8")
		e := &env{vault: v, bin: bin}
		cfg := e.writeConfig(t, v.Addr)
		svc.SetFile(t, rhelPAMFile(t, "", map[string]string{
			readmeLog: svc.Log, readmeBinary: bin, readmeOTPConfigPath: cfg}, inc))
		srv := StartWithConfig(t, svc, u, rhelDropIns(t, rhelDropInName, vaulttest.READMEBlock(t, "rhel-sshd")))
		otp := v.IssueOTP(t, "ssh", "otp", u.Name, "127.0.0.1")
		otps = append(otps, otp)

		off := svc.LogSize(t)
		r := srv.SSH(t, otp, "echo vsh-remote-ok; id -un")
		logged := svc.LogSince(t, off)
		if want := "vsh-remote-ok\n" + u.Name + "\n"; r.Code != 0 || r.Stdout != want {
			t.Fatalf("fresh OTP: want a login printing %q, got %v\npam_exec log:\n%s", want, r, logged)
		}
		if want := vaulttest.Reason("main.authenticated", u.Name+"@127.0.0.1"); !strings.Contains(logged, want) {
			t.Errorf("pam_exec log lacks %q:\n%s", want, logged)
		}

		off = svc.LogSize(t)
		r = srv.SSH(t, otp, "echo vsh-remote-ok")
		logged = svc.LogSince(t, off)
		if !r.Denied() || strings.Contains(r.Stdout, "vsh-remote-ok") {
			t.Errorf("the used OTP again: want Permission denied, got %v", r)
		}
		if want := vaulttest.Reason("sshotp.ErrOTPNotFound"); !strings.Contains(logged, want) || strings.Contains(logged, success) {
			t.Errorf("pam_exec log lacks %q (or logged success):\n%s", want, logged)
		}
		checkNoSecret(t, "sshd log", srv.SSHDLog(t), otps)
	})

	t.Run("TOTP key and code", func(t *testing.T) {
		m := v.EnableTOTP(t, "totp")
		v.WritePolicy(t, "ssh-totp-host", vaulttest.READMEBlock(t, "totp-policy"))
		key := m.GenerateKey(t, u.Name)
		cfg := readmeTOTPConfig(t, v, nil, v.CreateToken(t, "1h", "ssh-totp-host"))
		svc.SetFile(t, rhelPAMFile(t, vaulttest.READMEBlock(t, "rhel-pam-totp"), map[string]string{
			readmeLog: svc.Log, readmeBinary: bin, readmeConfigPath: cfg}, inc))
		srv := StartKeyAndCode(t, svc, u, rhelDropIns(t, rhelDropInName, vaulttest.READMEBlock(t, "totp-sshd")))

		code := m.Code(t, u.Name)
		codes = append(codes, code)
		off := svc.LogSize(t)
		r, prompts := srv.SSHWithKey(t, KeyAndCode, code, "echo vsh-remote-ok; id -un")
		logged := svc.LogSince(t, off)
		if want := "vsh-remote-ok\n" + u.Name + "\n"; r.Code != 0 || r.Stdout != want {
			t.Fatalf("key and a fresh code: want a login printing %q, got %v\nprompts %q\npam_exec log:\n%s", want, r, prompts, logged)
		}
		if !strings.Contains(logged, success) {
			t.Errorf("pam_exec log lacks the success line:\n%s", logged)
		}

		wrong := vaulttest.WrongCodes(t, key.Secret, key.Period, 1)[0]
		codes = append(codes, wrong)
		off = svc.LogSize(t)
		r, _ = srv.SSHWithKey(t, KeyAndCode, wrong, "echo vsh-remote-ok")
		logged = svc.LogSince(t, off)
		if !r.Denied() || strings.Contains(r.Stdout, "vsh-remote-ok") {
			t.Errorf("key and a wrong code: want Permission denied, got %v", r)
		}
		if want := vaulttest.Reason("totp.ErrNotValid"); !strings.Contains(logged, want) || strings.Contains(logged, success) {
			t.Errorf("pam_exec log lacks %q (or logged success):\n%s", want, logged)
		}
		for name, text := range map[string]string{"pam_exec log": svc.LogSince(t, 0), "sshd log": srv.SSHDLog(t)} {
			for _, c := range codes {
				if holdsCode(text, c) {
					t.Errorf("%s holds a code that was typed", name)
				}
			}
		}
	})
	checkNoSecret(t, "pam_exec log", svc.LogSince(t, 0), otps)
}

// The README puts the sshd lines in 40-vault-ssh-helper.conf because sshd keeps the first
// value it reads and RHEL 9's 50-redhat.conf says ChallengeResponseAuthentication no: in a
// file that sorts after it, the same lines leave keyboard-interactive off.
func TestRHELDropInMustSortBefore50Redhat(t *testing.T) {
	Require(t)
	holdPrivsepDir(t) // sshd -T checks that /run/sshd exists
	root, err := vaulttest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "`/etc/ssh/sshd_config.d/" + rhelDropInName + "`"; !strings.Contains(string(readme), want) {
		t.Fatalf("README.md no longer names %s: the name this test checks is stale", want)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	effective := func(t *testing.T, name string) string {
		t.Helper()
		cfg := filepath.Join(t.TempDir(), "sshd_config")
		body := rhelDropIns(t, name, vaulttest.READMEBlock(t, "rhel-sshd")) + "HostKey " + key + "\n"
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(SSHDPath, "-T", "-f", cfg).CombinedOutput()
		if err != nil {
			t.Fatalf("sshd -T: %v: %s", err, out)
		}
		return string(out)
	}
	for name, want := range map[string]string{
		rhelDropInName:             "kbdinteractiveauthentication yes\n",
		"60-vault-ssh-helper.conf": "kbdinteractiveauthentication no\n",
	} {
		if out := effective(t, name); !strings.Contains(out, want) {
			t.Errorf("with the README's lines in %s next to 50-redhat.conf, sshd -T lacks %q:\n%s", name, want, out)
		}
	}
}

// rhelStandInService is the README's RHEL service file with a stand-in helper that exits with
// code, its pam_permit line replaced by setcredLine when that is given.
func rhelStandInService(t *testing.T, code int, setcredLine string) (*Service, *User) {
	t.Helper()
	u := NewUser(t)
	svc := NewService(t)
	file := rhelPAMFile(t, "", map[string]string{readmeLog: svc.Log, readmeBinary: svc.StandIn(t, code),
		readmeOTPConfigPath: filepath.Join(t.TempDir(), "unused.hcl")}, newRHELIncludes(t, svc))
	if setcredLine != "" {
		const permit = "auth       optional     pam_permit.so\n"
		if strings.Count(file, permit) != 1 {
			t.Fatalf("README's RHEL PAM file lacks %q", permit)
		}
		file = strings.Replace(file, permit, setcredLine+"\n", 1)
	}
	svc.SetFile(t, file)
	return svc, u
}

// Why the README's RHEL file answers pam_setcred with pam_permit, not pam_unix: a client that
// authenticates and sets credentials in one process (pamtester here; su, login) gets
// Permission denied from pam_setcred with pam_unix, because Linux-PAM replays the chain the
// authentication took and pam_unix's optional auth failed. sshd authenticates in another
// process, where pam_unix happens to answer (TestPAMUnixLineIsWhatLetsSSHDSetCredentials).
func TestRHELPermitAnswersSetcredWherePAMUnixDoesNot(t *testing.T) {
	Require(t)
	for _, c := range []struct {
		name, line string
		wantOK     bool
	}{
		{"README's pam_permit", "", true},
		{"pam_unix instead", "auth       optional     pam_unix.so use_first_pass nodelay", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc, u := rhelStandInService(t, 0, c.line)
			r := svc.PAMTesterOps(t, u.Name, "x", "authenticate", "setcred")
			out := r.Stdout + r.Stderr
			if !strings.Contains(out, "successfully authenticated") {
				t.Fatalf("the stand-in helper let in, yet authenticate failed: %v", r)
			}
			set := r.Code == 0 && strings.Contains(out, "credential info has successfully been set")
			if set != c.wantOK {
				t.Errorf("pam_setcred succeeded = %v, want %v: %v", set, c.wantOK, r)
			}
			if !c.wantOK && !strings.Contains(out, "Permission denied") {
				t.Errorf("want pam_setcred's Permission denied: %v", r)
			}
		})
	}
}

// Why the README says to keep the pam_exec line requisite: pam_permit succeeds for anyone,
// so with sufficient a helper's denial falls through to it and the login goes through.
func TestRHELPermitNeedsRequisite(t *testing.T) {
	Require(t)
	svc, u := rhelStandInService(t, 1, "")
	if r := svc.PAMTester(t, u.Name, "x"); r.Code == 0 {
		t.Fatalf("the README's file let a denying helper's user in: %v", r)
	}
	b, err := os.ReadFile(svc.File)
	if err != nil {
		t.Fatal(err)
	}
	const requisite = "auth       requisite    pam_exec.so"
	if strings.Count(string(b), requisite) != 1 {
		t.Fatalf("service file lacks %q:\n%s", requisite, b)
	}
	svc.SetFile(t, strings.Replace(string(b), requisite, "auth       sufficient   pam_exec.so", 1))
	if r := svc.PAMTester(t, u.Name, "x"); r.Code != 0 {
		t.Errorf("with sufficient, pam_permit no longer lets a denied login in (%v): the README's warning is stale", r)
	}
}
