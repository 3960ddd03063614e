package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
)

// The seam for modes, proven by a mode that exists only here: registered
// next to the binary's own, it is selected by its key, reads and checks its
// keys, refuses the others' and has its own refused by them, logs in and
// denies, and passes -verify-only, all through run, with no product file
// naming it. CONTRIBUTING.md ("Adding a mode") walks through the same steps.

// demoPlugin lets in the user demo_user with the password demo_word; it
// never asks Vault.
var demoPlugin = helper.NewPlugin(config.Mode{
	Name: "demo", Selector: "demo_user", Keys: []string{"demo_user", "demo_word"},
	Usage: "A config file with demo_user selects the demo mode.\n",
}, parseDemo, func(s *demoSettings, _ *agent.Client) demoMode { return demoMode{s} })

func parseDemo(k config.Keys) (*demoSettings, error) {
	s := &demoSettings{}
	var problems []error
	s.user = k["demo_user"]
	if s.user == "" {
		problems = append(problems, errors.New("demo_user is empty"))
	}
	s.word = k["demo_word"]
	if len(s.word) < 4 {
		problems = append(problems, errors.New("demo_word is shorter than 4 characters"))
	}
	return s, errors.Join(problems...)
}

type demoSettings struct{ user, word string }

type demoMode struct{ s *demoSettings }

var errDemoDenied = errors.New("demo: wrong user or word")

func (m demoMode) About() helper.About {
	return helper.About{Announce: "using the demo mode for " + m.s.user, Secret: "the demo word", CheckStep: "checking nothing"}
}

func (demoMode) ReadPassword(r io.Reader) (string, error) {
	pw, err := helper.ReadPassword(r)
	return string(pw), err
}

func (m demoMode) Login(_ context.Context, word, pamUser string) (helper.Result, error) {
	if pamUser != m.s.user || word != m.s.word {
		return helper.Result{}, errDemoDenied
	}
	return helper.Result{Who: pamUser + " (demo)"}, nil
}

func (m demoMode) Check(context.Context) ([]helper.Finding, error) {
	return []helper.Finding{{Text: "demo: " + m.s.user + " may log in"}}, nil
}

// withDemoMode registers demoPlugin for one test. Tests that call it do
// not run in parallel, so no run reads modes while it changes.
func withDemoMode(t *testing.T) {
	saved := modes
	modes = append(append(helper.Registry{}, modes...), demoPlugin)
	t.Cleanup(func() { modes = saved })
}

// runDemo runs the helper as pam_exec would (PAM_USER set; PAM_TYPE set
// unless verifyOnly) with config text, stdin and extra flags.
func runDemo(t *testing.T, text, stdin string, flags ...string) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.hcl")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PAM_USER": "carol", "PAM_TYPE": "auth"}
	for _, f := range flags {
		if f == "-verify-only" {
			delete(env, "PAM_TYPE")
		}
	}
	var stderr plumbingtest.SyncBuffer
	args := append([]string{"-config=" + path}, flags...)
	code := run(args, strings.NewReader(stdin), io.Discard, &stderr,
		func(k string) string { return env[k] }, func(int) { t.Error("the watchdog fired") })
	return code, stderr.String()
}

const demoConfig = "vault_addr = \"https://127.0.0.1:1\"\ndemo_user = \"carol\"\ndemo_word = \"swordfish\"\n"

func TestATestOnlyModeLogsInAndDenies(t *testing.T) {
	withDemoMode(t)
	code, log := runDemo(t, demoConfig, "swordfish\n")
	if code != 0 || !strings.Contains(log, "using the demo mode for carol") || !strings.Contains(log, reason(t, "main.authenticated", "carol (demo)")) {
		t.Errorf("the right word: exit %d, log:\n%s", code, log)
	}
	code, log = runDemo(t, demoConfig, "sword\n", "-log-level=debug")
	if code != 1 || !strings.Contains(log, errDemoDenied.Error()) || !strings.Contains(log, "verifying the demo word with Vault at") {
		t.Errorf("a wrong word: exit %d, log:\n%s", code, log)
	}
	if strings.Contains(log, "sword\n") || strings.Contains(log, `"sword"`) {
		t.Errorf("the log carries the word:\n%s", log)
	}
}

func TestATestOnlyModePassesVerifyOnly(t *testing.T) {
	withDemoMode(t)
	code, log := runDemo(t, demoConfig, "", "-verify-only", "-log-level=debug")
	for _, want := range []string{"checking nothing to https://127.0.0.1:1", "demo: carol may log in", reason(t, "main.verified")} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

// TestATestOnlyModesKeysAreItsOwn: its keys are refused in the other modes'
// configs and theirs in its own, by the one message config computes from
// the registry; its Parse reports every problem with config's own.
func TestATestOnlyModesKeysAreItsOwn(t *testing.T) {
	withDemoMode(t)
	for _, c := range []struct{ text, want string }{
		{"vault_addr = \"https://v\"\nallowed_roles = \"*\"\ndemo_word = \"swordfish\"\n",
			"demo_word belongs to the demo mode, which needs demo_user; remove it from an SSH OTP config"},
		{demoConfig + "allowed_roles = \"*\"\n",
			"allowed_roles belongs to the SSH OTP mode; remove it from a demo config (one with demo_user)"},
		{demoConfig + "totp_max_failures = 3\n",
			"totp_max_failures belongs to the TOTP mode, which needs totp_mount_point; remove it from a demo config (one with demo_user)"},
		{"vault_addr = \"ftp://v\"\ndemo_user = \"carol\"\ndemo_word = \"x\"\n", "demo_word is shorter than 4 characters"},
		{"vault_addr = \"ftp://v\"\ndemo_user = \"carol\"\ndemo_word = \"x\"\n", reason(t, "config.ErrNotURL")},
		{demoConfig + "demo_other = \"x\"\n", reason(t, "config.ErrInvalidKey") + ` "demo_other" on line 4`},
	} {
		code, log := runDemo(t, c.text, "swordfish\n")
		if code != 1 || !strings.Contains(log, c.want) {
			t.Errorf("config\n%s\nexit %d, log lacks %q:\n%s", c.text, code, c.want, log)
		}
	}
}

func TestATestOnlyModesParagraphIsInTheUsage(t *testing.T) {
	withDemoMode(t)
	var stdout plumbingtest.SyncBuffer
	code := run([]string{"-h"}, strings.NewReader(""), &stdout, io.Discard, func(string) string { return "" }, func(int) {})
	if want := "is valid for the user's key (a second factor after sshd's publickey);\n" +
		"-verify-only checks the token, its policy and totp_mount_point, without a code.\n" +
		"A config file with demo_user selects the demo mode.\n" +
		"sshd runs it through pam_exec"; code != 1 || !strings.Contains(stdout.String(), want) {
		t.Errorf("exit %d, -h lacks the demo mode's paragraph after the others:\n%s", code, stdout.String())
	}
}
