package logins

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// The TOTP mode against a real Vault: the built binary run as pam_exec runs it (PAM_USER,
// PAM_TYPE=auth, the code on stdin without a newline), at trace level, and every run checked
// for the code and the host's token or secret_id in its output. Log lines are matched by the
// stable fragments of the TOTP contract; their full texts are pinned in the mode's unit tests.

const totpMount = "totp"

type totpEnv struct {
	s     *vaulttest.Server
	m     *vaulttest.TOTP
	audit *vaulttest.AuditLog
	dir   string // token, role_id and secret_id files
	state string // state_dir

	mu      sync.Mutex
	secrets []string // tokens, role_ids and secret_ids that must never appear in any output
}

// newTOTP starts a Vault with the TOTP engine at "totp", its policies and a file audit device.
func newTOTP(t *testing.T) *totpEnv {
	t.Helper()
	s := vaulttest.Start(t)
	e := &totpEnv{s: s, m: s.EnableTOTP(t, totpMount), dir: filepath.Join(t.TempDir(), "creds")}
	e.state = filepath.Join(t.TempDir(), "state")
	e.audit = s.EnableFileAudit(t)
	return e
}

func (e *totpEnv) keep(secret string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, secret)
}

// token creates a token with policy and a fresh file holding it; it returns both.
func (e *totpEnv) token(t *testing.T, ttl, policy string) (string, string) {
	t.Helper()
	tok := e.s.CreateToken(t, ttl, policy)
	e.keep(tok)
	return tok, vaulttest.WriteSecretFile(t, e.dir, fmt.Sprintf("token-%d", len(e.secrets)), tok+"\n")
}

// config writes a TOTP config for this Vault: the host's identity lines, then extra lines.
func (e *totpEnv) config(t *testing.T, identity []string, extra ...string) string {
	t.Helper()
	lines := append([]string{
		fmt.Sprintf("vault_addr = %q", e.s.Addr),
		fmt.Sprintf("totp_mount_point = %q", totpMount),
		fmt.Sprintf("state_dir = %q", e.state),
	}, identity...)
	return vaulttest.WriteConfig(t, "", strings.Join(append(lines, extra...), "\n")+"\n")
}

// tokenConfig is a config whose token file holds a new token with policy.
func (e *totpEnv) tokenConfig(t *testing.T, policy string, extra ...string) string {
	t.Helper()
	_, file := e.token(t, "1h", policy)
	return e.config(t, []string{fmt.Sprintf("vault_token_file = %q", file)}, extra...)
}

// approleConfig is a config logging in with role's role_id and secretID (files 0600).
func (e *totpEnv) approleConfig(t *testing.T, role vaulttest.AppRole, secretID string) string {
	t.Helper()
	e.keep(secretID)
	e.keep(role.RoleID)
	n := len(e.secrets)
	roleFile := vaulttest.WriteSecretFile(t, e.dir, fmt.Sprintf("role-id-%d", n), role.RoleID+"\n")
	secretFile := vaulttest.WriteSecretFile(t, e.dir, fmt.Sprintf("secret-id-%d", n), secretID+"\n")
	return e.config(t, []string{
		fmt.Sprintf("approle_role_id_file = %q", roleFile),
		fmt.Sprintf("approle_secret_id_file = %q", secretFile),
		fmt.Sprintf("approle_mount_point = %q", role.Mount),
	})
}

var digitRun = regexp.MustCompile(`[0-9]+`)

// checkClean fails t when output holds code (as a number of its own) or any kept secret.
func (e *totpEnv) checkClean(t *testing.T, output, code string) {
	t.Helper()
	if code != "" {
		for _, run := range digitRun.FindAllString(output, -1) {
			if run == code {
				t.Errorf("the helper's output holds the code it read")
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.secrets {
		if strings.Contains(output, s) {
			t.Errorf("the helper's output holds the host's token, role_id or secret_id")
		}
	}
}

// login runs the helper at trace level as pam_exec would, for user with stdin, and checks
// that the output keeps every secret out and the exit code is 0 or 1.
func (e *totpEnv) login(t *testing.T, cfg, user, stdin string) vaulttest.Result {
	t.Helper()
	res := vaulttest.RunHelper(t, vaulttest.Run{Config: cfg, Args: []string{"-dev", "-log-level=trace"}, User: user, Stdin: stdin})
	e.checkClean(t, res.Output, canonical(stdin))
	if res.Code != 0 && res.Code != 1 {
		t.Errorf("exit code %d: the helper exits 0 or 1 only", res.Code)
	}
	return res
}

// canonical is the code the helper should send for stdin: the digits once surrounding white
// space and bracketed-paste markers are gone ("" when that is not a code).
func canonical(stdin string) string {
	s := strings.TrimSpace(strings.TrimRight(stdin, "\x00"))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "\x1b[200~"), "\x1b[201~")
	s = strings.TrimSpace(s)
	if (len(s) == 6 || len(s) == 8) && strings.Trim(s, "0123456789") == "" {
		return s
	}
	return ""
}

// codeRequests counts the validations of user's key that reached Vault.
func (e *totpEnv) codeRequests(t *testing.T, user string) int {
	t.Helper()
	return e.audit.Requests(t, "update", totpMount+"/code/"+user)
}

func expectDenied(t *testing.T, res vaulttest.Result, wants ...string) {
	t.Helper()
	expect(t, res, 1, wants...)
	if res.Contains(success) {
		t.Fatalf("a denied login logged success:\n%s", res.Output)
	}
}

func expectLoggedIn(t *testing.T, res vaulttest.Result, user string) {
	t.Helper()
	expect(t, res, 0, user, success)
}

func TestTOTPCodeFromVaultIsAcceptedOnce(t *testing.T) {
	e := newTOTP(t)
	e.m.GenerateKey(t, user)
	cfg := e.tokenConfig(t, e.m.Validate)
	code := e.m.Code(t, user)
	expectLoggedIn(t, e.login(t, cfg, user, code), user)
	expectDenied(t, e.login(t, cfg, user, code), vaulttest.Reason("ratelimit.ErrUsed"))
}

func TestTOTPCodeFromOathtoolIsAcceptedOnce(t *testing.T) {
	// The secret as a phone scans it (from the otpauth URL), the code computed by oathtool.
	e := newTOTP(t)
	key := e.m.GenerateKey(t, user)
	cfg := e.tokenConfig(t, e.m.Validate)
	code := vaulttest.OathtoolCode(t, key.Secret, key.Period, time.Now())
	expectLoggedIn(t, e.login(t, cfg, user, code), user)
	expectDenied(t, e.login(t, cfg, user, code), vaulttest.Reason("ratelimit.ErrUsed"))
}

func TestTOTPEightDigitCodeIsAccepted(t *testing.T) {
	e := newTOTP(t)
	e.s.Write(t, totpMount+"/keys/"+user, map[string]any{
		"generate": true, "issuer": "vsh-test", "account_name": user, "digits": 8, "qr_size": 0,
	})
	code := e.m.Code(t, user)
	if len(code) != 8 {
		t.Fatalf("Vault's code for an 8-digit key has %d digits", len(code))
	}
	expectLoggedIn(t, e.login(t, e.tokenConfig(t, e.m.Validate), user, code), user)
}

// gaFile runs Debian's google-authenticator non-interactively with flags (besides those
// that make it quiet and non-interactive) and returns the secret file it wrote.
func gaFile(t *testing.T, flags ...string) string {
	t.Helper()
	bin := vaulttest.RequireTool(t, "google-authenticator", "libpam-google-authenticator")
	file := filepath.Join(t.TempDir(), ".google_authenticator")
	args := append([]string{"-t", "-d", "-f", "-r", "3", "-R", "30", "-q", "-C", "-s", file}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + t.TempDir()}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("google-authenticator %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return file
}

// importPerREADME runs the README's import script (the block after <!-- totp-import -->)
// with sh, as an operator would: user, secret file, VAULT_ADDR and VAULT_TOKEN.
func importPerREADME(t *testing.T, e *totpEnv, user, file string) string {
	t.Helper()
	vaulttest.RequireTool(t, "curl", "curl")
	script := filepath.Join(t.TempDir(), "ga-import.sh")
	if err := os.WriteFile(script, []byte(vaulttest.READMEBlock(t, "totp-import")), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", script, user, file)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "VAULT_ADDR=" + e.s.Addr, "VAULT_TOKEN=" + e.s.RootToken}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's import script: %v: %s", err, out)
	}
	return string(out)
}

// gaSecret is the first line of a google-authenticator file: the base32 secret.
func gaSecret(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

func TestTOTPGoogleAuthenticatorSecretImportedPerREADME(t *testing.T) {
	cases := []struct {
		name   string
		flags  []string
		period int
		// previousCode is what the previous period's code gets: accepted with skew 1,
		// refused with skew 0.
		previousCode string
	}{
		// -W: the minimal window, WINDOW_SIZE 3 (one code either side): skew 1.
		{"minimal window, 30s steps", []string{"-W"}, 30, success},
		// WINDOW_SIZE 1 (the current code only): skew 0; STEP_SIZE 60: period 60.
		{"window 1, 60s steps", []string{"-w", "1", "-S", "60"}, 60, vaulttest.Reason("totp.ErrNotValid")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTOTP(t)
			file := gaFile(t, c.flags...)
			out := importPerREADME(t, e, user, file)
			if strings.Contains(out, gaSecret(t, file)) {
				t.Errorf("the import script printed the secret: %s", out)
			}
			if p, _ := e.m.KeyInfo(t, user)["period"].(float64); int(p) != c.period {
				t.Fatalf("imported key has period %v, want %d", p, c.period)
			}
			cfg := e.tokenConfig(t, e.m.Validate)
			vaulttest.AwayFromPeriodEnd(c.period, 15*time.Second)
			now := time.Now()
			code := vaulttest.OathtoolCode(t, gaSecret(t, file), c.period, now)
			expectLoggedIn(t, e.login(t, cfg, user, code), user)
			expectDenied(t, e.login(t, cfg, user, code), vaulttest.Reason("ratelimit.ErrUsed"))
			previous := vaulttest.OathtoolCode(t, gaSecret(t, file), c.period, now.Add(-time.Duration(c.period)*time.Second))
			if previous == code {
				t.Skip("the previous period's code equals this one (one in a million)")
			}
			res := e.login(t, cfg, user, previous)
			if res.Contains(success) != (c.previousCode == success) || !res.Contains(c.previousCode) {
				t.Fatalf("the previous period's code: want %q (WINDOW_SIZE mapped to skew); got:\n%s", c.previousCode, res.Output)
			}
		})
	}
}

func TestTOTPKeyImportedFromAnOtpauthURLWorks(t *testing.T) {
	// The URL google-authenticator prints (and phones scan), imported with url=.
	e := newTOTP(t)
	secret := gaSecret(t, gaFile(t, "-W"))
	e.m.ImportKey(t, user, map[string]any{"url": "otpauth://totp/" + user + "@vsh-test?secret=" + secret + "&issuer=vsh-test"})
	cfg := e.tokenConfig(t, e.m.Validate)
	code := vaulttest.OathtoolCode(t, secret, 30, time.Now())
	expectLoggedIn(t, e.login(t, cfg, user, code), user)
	expectDenied(t, e.login(t, cfg, user, code), vaulttest.Reason("ratelimit.ErrUsed"))
}

func TestTOTPImportRefusesACounterBasedSecret(t *testing.T) {
	// HOTP (google-authenticator -c) cannot be mapped to Vault's TOTP engine: the README's
	// script says so and imports nothing.
	e := newTOTP(t)
	file := gaFile(t, "-W")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	hotp := strings.Replace(string(b), "\" TOTP_AUTH\n", "\" HOTP_COUNTER 1\n", 1)
	if err := os.WriteFile(file, []byte(hotp), 0o400); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "ga-import.sh")
	if err := os.WriteFile(script, []byte(vaulttest.READMEBlock(t, "totp-import")), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", script, user, file)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "VAULT_ADDR=" + e.s.Addr, "VAULT_TOKEN=" + e.s.RootToken}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "counter-based") {
		t.Fatalf("import of an HOTP file: err %v, output %s", err, out)
	}
	if code, _ := e.s.Request(t, "GET", totpMount+"/keys/"+user, nil); code != 404 {
		t.Fatalf("an HOTP file was imported anyway (GET key: %d)", code)
	}
}

func TestTOTPEnrolmentQRCodeInTheTerminal(t *testing.T) {
	// The README's enrolment pipes the key's otpauth URL into `qrencode -t ansiutf8`.
	bin := vaulttest.RequireTool(t, "qrencode", "qrencode")
	e := newTOTP(t)
	key := e.m.GenerateKey(t, user)
	cmd := exec.Command(bin, "-t", "ansiutf8")
	cmd.Stdin = strings.NewReader(key.URL)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("qrencode: %v", err)
	}
	if lines := strings.Count(string(out), "\n"); lines < 15 || !strings.ContainsAny(string(out), "█▀▄") {
		t.Fatalf("qrencode -t ansiutf8 printed no QR code (%d lines)", lines)
	}
}

func TestTOTPCodeOfAnotherUsersKeyIsDenied(t *testing.T) {
	e := newTOTP(t)
	e.m.GenerateKey(t, user)
	e.m.GenerateKey(t, "bob")
	cfg := e.tokenConfig(t, e.m.Validate)
	bobs := e.m.Code(t, "bob")
	alices := e.m.Code(t, user)
	if bobs == alices {
		t.Skip("the two keys gave the same code this period (one in a million)")
	}
	expectDenied(t, e.login(t, cfg, user, bobs), "is not valid")
	if n := e.codeRequests(t, "bob"); n != 0 {
		t.Errorf("a login as %s validated against bob's key (%d requests)", user, n)
	}
}

func TestTOTPUserWithoutKeyIsDenied(t *testing.T) {
	e := newTOTP(t)
	cfg := e.tokenConfig(t, e.m.Validate)
	expectDenied(t, e.login(t, cfg, "nokey", "123456"), vaulttest.Reason("totp.ErrNoKey"))
}

func TestTOTPWrongCodeIsDenied(t *testing.T) {
	e := newTOTP(t)
	key := e.m.GenerateKey(t, user)
	cfg := e.tokenConfig(t, e.m.Validate)
	wrong := vaulttest.WrongCodes(t, key.Secret, key.Period, 1)[0]
	expectDenied(t, e.login(t, cfg, user, wrong), "is not valid")
}

func TestTOTPWhiteSpaceVariantsSendTheCanonicalCode(t *testing.T) {
	// Vault 1.14 trims white space itself but remembers a used code as typed (CVE-2025-6014):
	// had the helper sent " 123456", the plain code would be accepted again. Each variant is
	// accepted once, then the plain code is refused as already used.
	variants := map[string]string{
		"leading and trailing spaces": "  %s  ",
		"tab and newline":             "\t%s\n",
		"bracketed paste":             "\x1b[200~%s\x1b[201~",
		"trailing NUL":                "%s\x00",
	}
	for name, format := range variants {
		t.Run(name, func(t *testing.T) {
			e := newTOTP(t)
			e.m.GenerateKey(t, user)
			cfg := e.tokenConfig(t, e.m.Validate)
			code := e.m.Code(t, user)
			expectLoggedIn(t, e.login(t, cfg, user, fmt.Sprintf(format, code)), user)
			expectDenied(t, e.login(t, cfg, user, code), vaulttest.Reason("ratelimit.ErrUsed"))
			// The host's record refused it before Vault; a host without that
			// record asks Vault, which must have remembered the plain code.
			e.state = filepath.Join(t.TempDir(), "another-host")
			expectDenied(t, e.login(t, e.tokenConfig(t, e.m.Validate), user, code), vaulttest.Reason("totp.ErrAlreadyUsed"))
		})
	}
}

func TestTOTPPasswordsThatAreNotCodesNeverReachVault(t *testing.T) {
	e := newTOTP(t)
	e.m.GenerateKey(t, user)
	cfg := e.tokenConfig(t, e.m.Validate)
	for _, pw := range []string{
		"6c1a8e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b", // an SSH OTP
		"correct horse battery staple",
		"1234567", // 7 digits
		"12345",   // 5 digits
		"123 456", // inner space
		"١٢٣٤٥٦",  // Arabic-Indic digits
		"１２３４５６",  // full-width digits
		"",
	} {
		expectDenied(t, e.login(t, cfg, user, pw))
	}
	expectDenied(t, e.login(t, cfg, user, "1234567"), vaulttest.Reason("totp.ErrNotCode"))
	if n := e.codeRequests(t, user); n != 0 {
		t.Fatalf("%d validation(s) reached Vault for passwords that are not codes", n)
	}
}

func TestTOTPInvalidUserNamesNeverReachVault(t *testing.T) {
	e := newTOTP(t)
	cfg := e.tokenConfig(t, e.m.Validate)
	for _, u := range []string{"", "../sys/seal", "alice/../bob", "al ice", "-alice", "alice."} {
		expectDenied(t, e.login(t, cfg, u, "123456"))
	}
	for _, path := range []string{totpMount + "/code/", "sys/seal"} {
		if n := e.audit.Requests(t, "update", path); n != 0 {
			t.Fatalf("%d request(s) to %s for an invalid PAM_USER", n, path)
		}
	}
}

func TestTOTPRevokedTokenIsDenied(t *testing.T) {
	e := newTOTP(t)
	e.m.GenerateKey(t, user)
	tok, file := e.token(t, "1h", e.m.Validate)
	cfg := e.config(t, []string{fmt.Sprintf("vault_token_file = %q", file)})
	e.s.RevokeToken(t, tok)
	expectDenied(t, e.login(t, cfg, user, e.m.Code(t, user)), "permission denied")
}

func TestTOTPExpiredTokenIsDenied(t *testing.T) {
	e := newTOTP(t)
	e.m.GenerateKey(t, user)
	tok, file := e.token(t, "2s", e.m.Validate)
	cfg := e.config(t, []string{fmt.Sprintf("vault_token_file = %q", file)})
	e.s.WaitTokenExpired(t, tok)
	expectDenied(t, e.login(t, cfg, user, e.m.Code(t, user)), "permission denied")
}

func TestTOTPTokenWithoutUpdateIsDenied(t *testing.T) {
	e := newTOTP(t)
	e.m.GenerateKey(t, user)
	cfg := e.tokenConfig(t, e.m.NoUpdate)
	code := e.m.Code(t, user)
	expectDenied(t, e.login(t, cfg, user, code), "permission denied")
	// Vault refused the request before the engine saw the code: it is still fresh.
	expectLoggedIn(t, e.login(t, e.tokenConfig(t, e.m.Validate), user, code), user)
}

func TestTOTPAppRoleLogsInOnEveryRun(t *testing.T) {
	e := newTOTP(t)
	e.s.EnableAppRole(t, "approle")
	role := e.s.CreateAppRole(t, "approle", "ssh-host", e.m.Validate)
	cfg := e.approleConfig(t, role, role.SecretID)
	for _, u := range []string{user, "bob"} {
		e.m.GenerateKey(t, u)
		expectLoggedIn(t, e.login(t, cfg, u, e.m.Code(t, u)), u)
	}
	if n := e.audit.Requests(t, "update", "auth/approle/login"); n != 2 {
		t.Errorf("%d AppRole logins for 2 runs, want one per run", n)
	}
}

func TestTOTPAppRoleAtAnotherMountIsUsed(t *testing.T) {
	e := newTOTP(t)
	e.s.EnableAppRole(t, "hosts")
	role := e.s.CreateAppRole(t, "hosts", "ssh-host", e.m.Validate)
	e.m.GenerateKey(t, user)
	expectLoggedIn(t, e.login(t, e.approleConfig(t, role, role.SecretID), user, e.m.Code(t, user)), user)
}

func TestTOTPWrongAppRoleSecretIDIsDenied(t *testing.T) {
	e := newTOTP(t)
	e.s.EnableAppRole(t, "approle")
	role := e.s.CreateAppRole(t, "approle", "ssh-host", e.m.Validate)
	e.m.GenerateKey(t, user)
	cfg := e.approleConfig(t, role, "0f2c9a4e-7b1d-4c3e-9a8f-6e5d4c3b2a10")
	expectDenied(t, e.login(t, cfg, user, e.m.Code(t, user)), "invalid secret id")
	if n := e.codeRequests(t, user); n != 0 {
		t.Fatalf("a code was sent to Vault after a failed AppRole login (%d requests)", n)
	}
}

func TestTOTPRateLimitHoldsUnder20ConcurrentWrongCodes(t *testing.T) {
	// 20 logins with wrong codes for one user at once: at most totp_max_failures of them
	// may reach Vault (counted by Vault's audit device), every one is denied, and after them
	// even the right code is refused without contacting Vault until the window passes.
	const max, attempts = 3, 20
	e := newTOTP(t)
	key := e.m.GenerateKey(t, user)
	cfg := e.tokenConfig(t, e.m.Validate, fmt.Sprintf("totp_max_failures = %d", max), `totp_failure_window = "10m"`)
	wrong := vaulttest.WrongCodes(t, key.Secret, key.Period, attempts)

	results := make([]vaulttest.Result, attempts)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.login(t, cfg, user, wrong[i])
		}()
	}
	wg.Wait()
	limited := 0
	for i, r := range results {
		if r.Code != 1 || r.Contains(success) {
			t.Errorf("attempt %d with a wrong code: exit %d\n%s", i, r.Code, r.Output)
		}
		if r.Contains(vaulttest.Reason("ratelimit.ErrLimited")) {
			limited++
		}
	}
	reached := e.codeRequests(t, user)
	t.Logf("%d of %d wrong codes reached Vault, %d were refused by the rate limit", reached, attempts, limited)
	if reached > max {
		t.Fatalf("%d validations reached Vault, want at most totp_max_failures = %d", reached, max)
	}
	if reached+limited != attempts {
		t.Errorf("%d reached Vault + %d refused by the limit != %d attempts", reached, limited, attempts)
	}
	expectDenied(t, e.login(t, cfg, user, e.m.Code(t, user)), vaulttest.Reason("ratelimit.ErrLimited"))
	if n := e.codeRequests(t, user); n != reached {
		t.Fatalf("the right code reached Vault while the user was rate limited")
	}
	// Another user is not limited by alice's failures.
	e.m.GenerateKey(t, "bob")
	expectLoggedIn(t, e.login(t, cfg, "bob", e.m.Code(t, "bob")), "bob")
}

func TestTOTPVerifyOnly(t *testing.T) {
	e := newTOTP(t)
	e.m.GenerateKey(t, user)
	// A code taken before the -verify-only runs is still accepted after them: they consume
	// nothing. (Skew 1 keeps it valid into the next period.)
	vaulttest.AwayFromPeriodEnd(30, 5*time.Second)
	code := e.m.Code(t, user)
	verify := func(cfg string) vaulttest.Result {
		res := vaulttest.RunHelper(t, vaulttest.Run{Config: cfg, Args: []string{"-dev", "-verify-only", "-log-level=trace"}, NoPAM: true})
		e.checkClean(t, res.Output, "")
		return res
	}
	t.Run("update only: success, no warning", func(t *testing.T) {
		res := verify(e.tokenConfig(t, e.m.Validate))
		expect(t, res, 0)
		if res.Contains("can read codes") {
			t.Fatalf("warned about reading codes with the least-privilege policy:\n%s", res.Output)
		}
	})
	t.Run("read and update: success with the warning", func(t *testing.T) {
		expect(t, verify(e.tokenConfig(t, e.m.ReadValidate)), 0, "can read codes")
	})
	t.Run("no update: failure", func(t *testing.T) {
		expect(t, verify(e.tokenConfig(t, e.m.NoUpdate)), 1)
	})
	t.Run("AppRole: success", func(t *testing.T) {
		e.s.EnableAppRole(t, "approle")
		role := e.s.CreateAppRole(t, "approle", "ssh-host", e.m.Validate)
		expect(t, verify(e.approleConfig(t, role, role.SecretID)), 0)
	})
	expectLoggedIn(t, e.login(t, e.tokenConfig(t, e.m.Validate), user, code), user)
	// The audit device saw only hashed values: no token in clear there either.
	e.checkClean(t, e.audit.Contents(t), "")
}
