package sshd

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// The TOTP mode as the README sets it up: sshd_config, PAM lines and the config (AppRole)
// taken from the README's own blocks (only the paths replaced), a public key first, then a code from Vault's TOTP
// engine typed at the keyboard-interactive prompt, checked by the built binary through
// pam_exec against a real Vault over https.

// README's placeholders in the TOTP PAM block, each replaced by the test's path.
const (
	readmeLog        = "/var/log/vault-ssh.log"
	readmeBinary     = "/usr/local/bin/vault-ssh-helper"
	readmeConfigPath = "/etc/vault-ssh-helper.d/totp.hcl"
)

// readmePAMLines returns the README's TOTP auth lines with the test's log, binary and config.
func readmePAMLines(t *testing.T, log, bin, cfg string) string {
	t.Helper()
	return withPaths(t, "README's TOTP PAM block", vaulttest.READMEBlock(t, "totp-pam"),
		map[string]string{readmeLog: log, readmeBinary: bin, readmeConfigPath: cfg})
}

// withPaths replaces each README path in lines (which must name it exactly once) by the test's.
func withPaths(t *testing.T, what, lines string, paths map[string]string) string {
	t.Helper()
	for from, to := range paths {
		if n := strings.Count(lines, from); n != 1 {
			t.Fatalf("%s names %s %d times, want once", what, from, n)
		}
		noSpace(t, "path", to)
		lines = strings.Replace(lines, from, to, 1)
	}
	return lines
}

// readmeTOTPConfig writes the README's TOTP config for Vault v: its address and CA replaced by
// the test's, and a state_dir of the test's own added. With a role, it is the README's AppRole
// config with the test's role_id and secret_id files; without, the README's alternative: the
// approle_ lines dropped and the commented vault_token_file line in use, naming a file that
// holds token.
func readmeTOTPConfig(t *testing.T, v *vaulttest.Server, role *vaulttest.AppRole, token string) string {
	t.Helper()
	creds := filepath.Join(t.TempDir(), "creds")
	body := vaulttest.READMEBlock(t, "totp-config")
	paths := map[string]string{
		"https://vault.example.com:8200":       v.Addr,
		"/etc/vault-ssh-helper.d/vault-ca.pem": v.CACertFile,
	}
	if role != nil {
		paths["/etc/vault-ssh-helper.d/role_id"] = vaulttest.WriteSecretFile(t, creds, "role_id", role.RoleID+"\n")
		paths["/etc/vault-ssh-helper.d/secret_id"] = vaulttest.WriteSecretFile(t, creds, "secret_id", role.SecretID+"\n")
	} else {
		body = useTokenFileLine(t, body)
		paths["/etc/vault-ssh-helper.d/token"] = vaulttest.WriteSecretFile(t, creds, "token", token+"\n")
	}
	for from, to := range paths {
		if n := strings.Count(body, `"`+from+`"`); n != 1 {
			t.Fatalf("README's TOTP config names %s %d times, want once", from, n)
		}
		body = strings.Replace(body, `"`+from+`"`, fmt.Sprintf("%q", to), 1)
	}
	body += fmt.Sprintf("state_dir = %q\n", filepath.Join(t.TempDir(), "state"))
	cfg := vaulttest.WriteConfig(t, "", body)
	noSpace(t, "config path", cfg)
	return cfg
}

// useTokenFileLine follows the README's comment: the approle_ lines out, vault_token_file in.
func useTokenFileLine(t *testing.T, body string) string {
	t.Helper()
	var out []string
	found := false
	for _, l := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(l, "approle_"):
			continue
		case strings.HasPrefix(l, "# vault_token_file"):
			l, found = strings.TrimPrefix(l, "# "), true
		}
		out = append(out, l)
	}
	if !found {
		t.Fatal("README's TOTP config has no commented-out vault_token_file line")
	}
	return strings.Join(out, "\n")
}

// pamEchoText is the text the README's pam_echo line prints before the prompt.
func pamEchoText(t *testing.T, pamLines string) string {
	t.Helper()
	for _, l := range strings.Split(pamLines, "\n") {
		if _, text, ok := strings.Cut(l, "pam_echo.so "); ok && strings.HasPrefix(l, "auth ") {
			return strings.Join(strings.Fields(text), " ")
		}
	}
	t.Fatal("README's TOTP PAM block has no `auth ... pam_echo.so <text>` line")
	return ""
}

func TestSSHKeyAndTOTPCodeAsTheREADMEConfiguresIt(t *testing.T) {
	Require(t)
	vaulttest.RequireTool(t, "oathtool", "oathtool")
	bin := vaulttest.HelperBinary(t)
	noSpace(t, "helper binary path", bin)

	v := vaulttest.StartTLS(t)
	m := v.EnableTOTP(t, "totp")
	v.WritePolicy(t, "ssh-totp-host", vaulttest.READMEBlock(t, "totp-policy"))
	v.EnableAppRole(t, "approle")
	role := v.CreateAppRole(t, "approle", "ssh-host", "ssh-totp-host")
	u := NewUser(t)
	key := m.GenerateKey(t, u.Name)
	cfg := readmeTOTPConfig(t, v, &role, "")
	// The README's check before touching PAM: the policy is enough, and no more than enough
	// (no warning, such as totp.FoundCanReadCodes).
	if out, err := exec.Command(bin, "-config="+cfg, "-verify-only").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), vaulttest.Reason("main.verified")) || strings.Contains(string(out), "[WARN]") {
		t.Fatalf("-verify-only with the README's config and policy: %v\n%s", err, out)
	}

	svc := NewService(t)
	pamLines := readmePAMLines(t, svc.Log, bin, cfg)
	svc.SetAuthLines(t, pamLines)
	srv := StartKeyAndCode(t, svc, u, vaulttest.READMEBlock(t, "totp-sshd"))
	echo := pamEchoText(t, pamLines)

	var codes []string
	attempt := func(t *testing.T, methods Methods, code string) (Result, []string, string) {
		t.Helper()
		codes = append(codes, code)
		off := svc.LogSize(t)
		r, prompts := srv.SSHWithKey(t, methods, code, "echo vsh-remote-ok; id -un")
		logged := svc.LogSince(t, off)
		t.Logf("%v\nprompts: %q\npam_exec log gained:\n%s", r, prompts, logged)
		return r, prompts, logged
	}
	denied := func(t *testing.T, r Result, logged, wantLog string) {
		t.Helper()
		if !r.Denied() || strings.Contains(r.Stdout, "vsh-remote-ok") {
			t.Errorf("want Permission denied, got %v", r)
		}
		if wantLog == "" && logged != "" {
			t.Errorf("the helper ran although sshd should not have reached PAM:\n%s", logged)
		}
		if !strings.Contains(logged, wantLog) || strings.Contains(logged, success) {
			t.Errorf("pam_exec log lacks %q (or logged success):\n%s", wantLog, logged)
		}
	}

	t.Run("key alone is refused", func(t *testing.T) {
		r, prompts, logged := attempt(t, KeyOnly, "")
		denied(t, r, logged, "")
		if !strings.Contains(r.Stderr, "Permission denied (keyboard-interactive)") {
			t.Errorf("sshd did not ask for the code after the key: %q", r.Stderr)
		}
		if len(prompts) != 0 {
			t.Errorf("prompted without keyboard-interactive: %q", prompts)
		}
	})
	t.Run("code alone is refused before PAM runs", func(t *testing.T) {
		r, _, logged := attempt(t, CodeOnly, m.Code(t, u.Name))
		denied(t, r, logged, "")
		if !strings.Contains(r.Stderr, "Permission denied (publickey)") {
			t.Errorf("sshd offered more than publickey first: %q", r.Stderr)
		}
	})
	var used string
	t.Run("key and a fresh code log in", func(t *testing.T) {
		used = m.Code(t, u.Name)
		r, prompts, logged := attempt(t, KeyAndCode, used)
		if r.Code != 0 || r.Stdout != "vsh-remote-ok\n"+u.Name+"\n" {
			t.Fatalf("login with key and code: %v\npam_exec log:\n%s", r, logged)
		}
		if !strings.Contains(logged, u.Name) || !strings.Contains(logged, success) {
			t.Errorf("pam_exec log lacks the success line:\n%s", logged)
		}
		// What the user reads: pam_echo's line, then pam_exec's fixed prompt (README, point 9).
		if len(prompts) != 1 {
			t.Fatalf("want one keyboard-interactive prompt, got %q", prompts)
		}
		i, j := strings.Index(prompts[0], echo), strings.LastIndex(prompts[0], "Password:")
		if i < 0 || j < i {
			t.Errorf("prompt %q: want %q, then \"Password:\"", prompts[0], echo)
		}
	})
	t.Run("key and the same code again are refused", func(t *testing.T) {
		if used == "" {
			t.Skip("no code was used")
		}
		r, _, logged := attempt(t, KeyAndCode, used)
		// The host's record of accepted codes refuses it before Vault is asked.
		denied(t, r, logged, vaulttest.Reason("ratelimit.ErrUsed"))
	})
	t.Run("key and a wrong code are refused", func(t *testing.T) {
		r, _, logged := attempt(t, KeyAndCode, vaulttest.WrongCodes(t, key.Secret, key.Period, 1)[0])
		denied(t, r, logged, vaulttest.Reason("totp.ErrNotValid"))
	})

	token := v.CreateToken(t, "1h", "ssh-totp-host")
	t.Run("token file: key and a code log in", func(t *testing.T) {
		// The README's other way in: the same lines, the config with vault_token_file.
		svc.SetAuthLines(t, readmePAMLines(t, svc.Log, bin, readmeTOTPConfig(t, v, nil, token)))
		// This period's code is used; the next one's is valid too (skew 1).
		next := vaulttest.OathtoolCode(t, key.Secret, key.Period, time.Now().Add(time.Duration(key.Period)*time.Second))
		if next == used {
			t.Skip("the next period's code equals this one (one in a million)")
		}
		r, _, logged := attempt(t, KeyAndCode, next)
		if r.Code != 0 || !strings.Contains(logged, success) {
			t.Fatalf("login with the token file: %v\npam_exec log:\n%s", r, logged)
		}
	})

	for name, text := range map[string]string{"pam_exec log": svc.LogSince(t, 0), "sshd log": srv.SSHDLog(t)} {
		for _, c := range codes {
			if holdsCode(text, c) {
				t.Errorf("%s holds a code that was typed", name)
			}
		}
		for _, secret := range []string{role.RoleID, role.SecretID, token} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the host's token, role_id or secret_id", name)
			}
		}
	}
}

var digitRun = regexp.MustCompile(`[0-9]+`)

// holdsCode reports whether code appears in text as a number of its own (longer numbers,
// such as those in temporary paths, may hold any six digits by chance).
func holdsCode(text, code string) bool {
	if code == "" {
		return false
	}
	for _, run := range digitRun.FindAllString(text, -1) {
		if run == code {
			return true
		}
	}
	return false
}
