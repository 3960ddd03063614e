package totpanswers

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// notBuiltIn is the one error a -verify-only run may end in before
// helper/totp/ratelimit is in the tree: every Vault finding comes first.
const notBuiltIn = "[ERROR] rate limit: the rate limiter (helper/totp/ratelimit) is not built into this binary"

// verifyOnly runs the binary's -verify-only in TOTP mode against s with a
// token holding policy, at trace level, and checks the token never shows.
func verifyOnly(t *testing.T, s *vaulttest.Server, policy string) vaulttest.Result {
	t.Helper()
	code, out := s.Request(t, http.MethodPut, "auth/token/create", map[string]any{"policies": []string{policy}})
	auth, _ := out["auth"].(map[string]any)
	token, _ := auth["client_token"].(string)
	if code != 200 || token == "" {
		t.Fatalf("auth/token/create: %d", code)
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := vaulttest.WriteConfig(t, dir, fmt.Sprintf("vault_addr = %q\ntotp_mount_point = \"totp\"\ntotp_key_template = \"ssh-{{username}}\"\nvault_token_file = %q\nstate_dir = %q\n",
		s.Addr, tokenFile, filepath.Join(dir, "state")))
	res := vaulttest.RunHelper(t, vaulttest.Run{Config: cfg, Args: []string{"-dev", "-verify-only", "-log-level=trace"}, NoPAM: true})
	t.Logf("exit %d:\n%s", res.Code, res.Output)
	if res.TimedOut || res.Contains(token) || res.Contains(strings.TrimPrefix(token, "hvs.")) {
		t.Fatalf("the run timed out or showed the token")
	}
	return res
}

func expectLines(t *testing.T, res vaulttest.Result, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !res.Contains(l) {
			t.Errorf("output lacks %q", l)
		}
	}
}

func TestVerifyOnlyReportsRealVaultsFindings(t *testing.T) {
	s := vaulttest.Start(t)
	s.Mount(t, "totp", "totp")
	s.Write(t, "sys/policies/acl/update", map[string]any{"policy": `path "totp/code/ssh-*" { capabilities = ["update"] }`})
	s.Write(t, "sys/policies/acl/read", map[string]any{"policy": `path "totp/code/*" { capabilities = ["read", "update"] }`})
	s.Write(t, "sys/policies/acl/other", map[string]any{"policy": `path "totp/code/web-*" { capabilities = ["update"] }`})
	R := vaulttest.Reason
	const probePath = "totp/code/ssh-vault-ssh-helper-probe"
	caps := func(listed string) string {
		return "[INFO]  " + R("totp.FoundCapabilities", probePath, "vault-ssh-helper-probe", listed)
	}
	mount := "[INFO]  " + R("totp.FoundEngine", "totp")
	warn := "[WARN]  " + R("totp.FoundCanReadCodes", "read, update", probePath, "totp/code/ssh-*")

	res := verifyOnly(t, s, "update")
	expectLines(t, res, "[INFO]  "+R("totp.announce", "totp", "ssh-"), "[INFO]  "+R("totp.FoundTokenFile", ""), caps("update"), mount)
	expectSuccessOrOnlyNoLimiter(t, res)
	if res.Contains("[WARN]  " + R("totp.FoundCanReadCodes", "update", probePath, "totp/code/ssh-*")) {
		t.Error("a least-privilege token was warned about")
	}

	res = verifyOnly(t, s, "read")
	expectLines(t, res, caps("read, update"), warn, mount)
	expectSuccessOrOnlyNoLimiter(t, res)

	res = verifyOnly(t, s, "other")
	expectLines(t, res, caps("deny"), "[ERROR] "+R("totp.ErrCannotUpdate"))
	if res.Code != 1 || res.Contains(mount) {
		t.Errorf("a token that cannot update passed -verify-only (exit %d)", res.Code)
	}
}

// expectSuccessOrOnlyNoLimiter: exit 0 with the success line, or (until the
// rate limiter is merged) exit 1 with exactly that one error.
func expectSuccessOrOnlyNoLimiter(t *testing.T, res vaulttest.Result) {
	t.Helper()
	switch {
	case res.Code == 0 && res.Contains("[INFO]  "+vaulttest.Reason("main.verified")):
	case res.Code == 1 && res.Contains(notBuiltIn) && strings.Count(res.Output, "[ERROR]") == 1:
	default:
		t.Errorf("exit %d without the success line", res.Code)
	}
}
