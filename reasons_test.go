package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// reasons names the messages that tests outside a message's own package look
// for, so those tests name a reason instead of spelling its text: a message's
// full text is pinned once. Most entries are taken from the product's Go
// values (sentinel errors, a mode's announce line), whose one pin is the
// table-driven test of their package. (trust.ErrUnsafeOwner is left out:
// its text is not part of its message, which names the owner's uid.) The texts spelled here are the
// run's own log lines, from main.go and internal/plumbing, which have no Go
// value: this table is their one pin, and the scripts that name them check
// the helper prints them. Their names keep the "main." prefix the real-Vault
// tests know them by; internal/plumbing's tests read them from reasonsFile. Texts with fmt verbs
// take arguments (see cmdReason and vaulttest.Reason).
var reasons = map[string]string{
	// The run's log lines (main.go and internal/plumbing).
	"main.verified":      "vault-ssh-helper verification successful!",
	"main.authenticated": "%s authenticated!",
	"main.devMode":       "Dev mode is enabled!",
	"main.namespace":     "using namespace: %s",
	"main.errUsage":      errUsage.Error(),
	"main.timeoutHint":   "(timeout = %s; raise it in the config file if Vault is slow)",
	"main.refuseVersion": "PAM_TYPE is set: under pam_exec only a verified login exits 0, so printing the version denies",
	"main.refuseVerify":  "PAM_TYPE is set: -verify-only checks Vault, not a user, so under pam_exec it denies",
	// -version's line on stdout: the version and the commit (the scripts
	// have them as $VERSION and $COMMIT; test-dist.sh reads this entry).
	"main.version": "vault-ssh-helper v%s (%s)",
	// The debug line before Vault is asked, naming each mode's secret.
	"main.verifyingOTP":  verifyingLine(sshotp.New(&sshotp.Settings{}, nil).About().Secret),
	"main.verifyingTOTP": verifyingLine(totp.New(&totp.Settings{}, nil).About().Secret),

	// The marks that stand in for what a message must not carry whole.
	"sshotp.OTPMark": sshotp.OTPMark,
	"quote.Hidden":   quote.Hidden,
	"quote.CutMark":  quote.CutMark,

	"sshotp.announce":            sshotp.New(&sshotp.Settings{MountPoint: "%s"}, nil).About().Announce,
	"sshotp.ErrNoPAMUser":        sshotp.ErrNoPAMUser.Error(),
	"sshotp.ErrUsernameMismatch": sshotp.ErrUsernameMismatch.Error(),
	"sshotp.ErrIPNotLocal":       sshotp.ErrIPNotLocal.Error(),
	"sshotp.ErrIPNotAllowed":     sshotp.ErrIPNotAllowed.Error(),
	"sshotp.ErrNoAllowedRoles":   sshotp.ErrNoAllowedRoles.Error(),
	"sshotp.ErrRoleNotAllowed":   sshotp.ErrRoleNotAllowed.Error(),
	"sshotp.ErrNotOTPShape":      sshotp.ErrNotOTPShape.Error(),
	"sshotp.ErrOTPNotFound":      sshotp.ErrOTPNotFound.Error(),
	"sshotp.ErrBadEcho":          sshotp.ErrBadEcho.Error(),
	"sshotp.ErrNotCIDR":          sshotp.ErrNotCIDR.Error(),

	"totp.announce": totp.New(&totp.Settings{MountPoint: "%s", KeyTemplate: totp.KeyTemplate{Prefix: "%s"}}, nil).About().Announce,
	// -verify-only's findings have no Go value: their texts are spelled here
	// and, filled in, in totp's TestVerifyOnlyFindings.
	"totp.FoundTokenFile":    "token: read from vault_token_file %s",
	"totp.FoundCapabilities": "capabilities of the token on %s (the key template with user %q): %s",
	"totp.FoundCanReadCodes": "the token can read codes (%s on %s): whoever holds it can make valid codes for every user; its policy should grant only update on %s",
	"totp.FoundEngine":       "mount %s answers as a TOTP engine (probed with an empty code, which consumes nothing)",
	"totp.ErrNotCode":        totp.ErrNotCode.Error(),
	"totp.ErrNoUser":         totp.ErrNoUser.Error(),
	"totp.ErrBadUser":        totp.ErrBadUser.Error(),
	"totp.ErrCannotUpdate":   totp.ErrCannotUpdate.Error(),
	"totp.ErrNotValid":       totp.ErrNotValid.Error(),
	"totp.ErrAlreadyUsed":    totp.ErrAlreadyUsed.Error(),
	"totp.ErrNoKey":          totp.ErrNoKey.Error(),
	"totp.ErrTokenRefused":   totp.ErrTokenRefused.Error(),
	"totp.ErrNotTOTPEngine":  totp.ErrNotTOTPEngine.Error(),
	"ratelimit.ErrLimited":   ratelimit.ErrLimited.Error(),
	"ratelimit.ErrState":     ratelimit.ErrState.Error(),
	"ratelimit.ErrUser":      ratelimit.ErrUser.Error(),
	"ratelimit.ErrUsed":      ratelimit.ErrUsed.Error(),
	"totp.FoundStateDir":     "state_dir %s is usable: %d failed codes within %s stop a user; an accepted code is refused on this host for %s",
	"totp.FoundSharedRecord": "shared record of used codes: capabilities of the token on %s: %s; reading it: OK",
	"totp.ErrUsedShared":     totp.ErrUsedShared.Error(),
	"totp.ErrSharedRace":     totp.ErrSharedRace.Error(),
	"totp.ErrSharedRecord":   totp.ErrSharedRecord.Error(),
	"totp.ErrCannotRecord":   totp.ErrCannotRecord.Error(),

	"helper.ErrPasswordEmpty":   helper.ErrPasswordEmpty.Error(),
	"helper.ErrPasswordTooLong": helper.ErrPasswordTooLong.Error(),

	"agent.ErrEmptyBody":   agent.ErrEmptyBody.Error(),
	"agent.ErrNoData":      agent.ErrNoData.Error(),
	"agent.ErrMalformed":   agent.ErrMalformed.Error(),
	"agent.ErrTimeout":     agent.ErrTimeout.Error(),
	"agent.ErrUnreachable": agent.ErrUnreachable.Error(),

	"config.ErrNotExist":          trust.ErrNotExist.Error(),
	"config.ErrUnsafePermissions": trust.ErrUnsafePermissions.Error(),
	"config.ErrIsDirectory":       trust.ErrIsDirectory.Error(),
	"config.ErrNotRegular":        trust.ErrNotRegular.Error(),
	"config.ErrMissing":           config.ErrMissing.Error() + " %q", // the key
	"config.ErrEmpty":             config.ErrEmpty.Error(),
	"config.ErrNotURL":            config.ErrNotURL.Error(),
	"config.ErrAddrCarries":       config.ErrAddrCarries.Error(),
	"config.ErrDevHTTPS":          config.ErrDevHTTPS.Error(),
	"config.ErrNeedsHTTPS":        config.ErrNeedsHTTPS.Error(),
	"config.ErrAddrTwice":         config.ErrAddrTwice.Error(),
	"config.ErrPathSegment":       config.ErrPathSegment.Error(),
	"config.ErrNotDuration":       config.ErrNotDuration.Error(),
	"config.ErrOutside":           config.ErrOutside.Error(),
	"config.ErrDuplicateKey":      config.ErrDuplicateKey.Error(),
	"config.ErrInvalidKey":        config.ErrInvalidKey.Error(),
	"config.ErrSetBothOrNeither":  config.ErrSetBothOrNeither.Error(),
	"config.ErrSecretReadable":    config.ErrSecretReadable.Error(),
	"config.ErrOtherModesKey":     config.ErrOtherModesKey.Error() + " %s mode%s; remove it from %s config%s", // the owner, how it is selected, the file's mode, how it was selected
}

// verifyingLine is the login's debug line before it asks Vault (at the verb)
// about a mode's secret.
func verifyingLine(secret string) string {
	return "verifying " + secret + " with Vault at %s"
}

// verbs finds a text's fmt verbs (%s, %q, ...), each taking one argument.
var verbs = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)

// reason is the text of the reason called name, with args put in its verbs.
func reason(t testing.TB, name string, args ...any) string {
	t.Helper()
	text, ok := reasons[name]
	if !ok {
		t.Fatalf("no reason named %q in reasons (reasons_test.go)", name)
	}
	if n := len(verbs.FindAllString(text, -1)); n != len(args) {
		t.Fatalf("reason %s takes %d arguments, got %d", name, n, len(args))
	}
	return fmt.Sprintf(text, args...)
}

// scriptTB lets cmdReason use reason's checks inside a script.
type scriptTB struct {
	testing.TB
	ts *testscript.TestScript
}

func (s scriptTB) Helper()                           {}
func (s scriptTB) Fatalf(format string, args ...any) { s.ts.Fatalf(format, args...) }

// cmdReason: reason [-stdout] [LEVEL] NAME [ARG...] checks that a line of
// stderr (or stdout) holds the reason called NAME, with ARGs in its verbs and,
// with LEVEL (DEBUG, INFO, WARN, ERROR), after that level's tag. With !,
// that no line does.
func cmdReason(ts *testscript.TestScript, neg bool, args []string) {
	stream := "stderr"
	if len(args) > 0 && args[0] == "-stdout" {
		stream, args = "stdout", args[1:]
	}
	level := ""
	if len(args) > 0 && isLevel(args[0]) {
		level, args = args[0], args[1:]
	}
	if len(args) == 0 {
		ts.Fatalf("usage: reason [-stdout] [LEVEL] NAME [ARG...]")
	}
	want := reason(scriptTB{ts: ts}, args[0], scriptArgs(ts, args[0], args[1:])...)
	found := false
	for _, line := range strings.Split(ts.ReadFile(stream), "\n") {
		found = found || holds(line, level, want)
	}
	if found == neg {
		ts.Fatalf("%s: %s has %s line holding %q at level %q", args[0], stream, map[bool]string{true: "a", false: "no"}[found], want, level)
	}
}

// scriptArgs passes a script's arguments to the verbs of the reason called
// name: as numbers to %d, as written to the others.
func scriptArgs(ts *testscript.TestScript, name string, args []string) []any {
	found := verbs.FindAllString(reasons[name], -1)
	anys := make([]any, len(args))
	for i, a := range args {
		anys[i] = a
		if i < len(found) && strings.HasSuffix(found[i], "d") {
			n, err := strconv.Atoi(a)
			if err != nil {
				ts.Fatalf("reason %s: argument %d is %q, not a number", name, i+1, a)
			}
			anys[i] = n
		}
	}
	return anys
}

// holds reports whether a log line holds text after its level tag; with no
// level, anywhere. A reason is often wrapped in context ("verify at <url>:").
func holds(line, level, text string) bool {
	if level == "" {
		return strings.Contains(line, text)
	}
	tag := fmt.Sprintf(" %-7s ", "["+level+"]")
	i := strings.Index(line, tag)
	return i >= 0 && strings.Contains(line[i+len(tag):], text)
}

func isLevel(s string) bool {
	switch s {
	case "DEBUG", "INFO", "WARN", "ERROR":
		return true
	}
	return false
}

var updateReasons = flag.Bool("update-reasons", false, "rewrite "+reasonsFile+" from the reasons table")

// reasonsFile gives the reasons to the harness in e2e/, a
// separate module that cannot import the product's packages.
const reasonsFile = "testdata/reasons.json"

// TestReasonsFile fails when reasonsFile is not the reasons table, so a
// changed message cannot leave the real-Vault tests looking for the old one.
// go test -run TestReasonsFile -update-reasons rewrites it.
func TestReasonsFile(t *testing.T) {
	want := reasonsJSON(t)
	if *updateReasons {
		if err := os.WriteFile(reasonsFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(reasonsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test -run TestReasonsFile -update-reasons .", reasonsFile)
	}
}

func reasonsJSON(t *testing.T) []byte {
	names := make([]string, 0, len(reasons))
	for name := range reasons {
		names = append(names, name)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, name := range names {
		k, _ := json.Marshal(name)
		v, err := json.Marshal(reasons[name])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  %s: %s", k, v)
		if i < len(names)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// TestReasonsHaveTexts: an entry that is only arguments would match any line.
func TestReasonsHaveTexts(t *testing.T) {
	for name, text := range reasons {
		if strings.TrimSpace(verbs.ReplaceAllString(text, "")) == "" {
			t.Errorf("reason %s has no text of its own: %q", name, text)
		}
	}
}
