package logins

import (
	"fmt"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// verifyOnly runs `vault-ssh-helper -verify-only` as an administrator does,
// from a shell: no PAM variables, nothing on stdin.
func verifyOnly(t *testing.T, cfg string, args ...string) vaulttest.Result {
	t.Helper()
	return run(t, vaulttest.Run{Config: cfg, Args: append(args, "-verify-only"), NoPAM: true})
}

func TestVerifyOnlyAgainstTheMountSucceeds(t *testing.T) {
	s := vaulttest.Start(t)
	expect(t, verifyOnly(t, devConfig(t, s), "-dev"), 0, vaulttest.Reason("sshotp.announce", "ssh"), vaulttest.Reason("main.verified"))
	expect(t, verifyOnly(t, devConfig(t, s, `ssh_mount_point = "ssh-other"`), "-dev"), 0,
		vaulttest.Reason("sshotp.announce", "ssh-other"), vaulttest.Reason("main.verified"))
}

func TestVerifyOnlyOverHTTPSSucceeds(t *testing.T) {
	s := vaulttest.StartTLS(t)
	cfg := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile))
	expect(t, verifyOnly(t, cfg), 0, vaulttest.Reason("main.verified"))
}

func TestVerifyOnlyAgainstAMissingMountFailsWithVaultsReason(t *testing.T) {
	// Vault answers 403 {"errors":["permission denied"]} for a path no mount serves.
	s := vaulttest.Start(t)
	res := verifyOnly(t, devConfig(t, s, `ssh_mount_point = "no-such-mount"`), "-dev")
	expect(t, res, 1, vaulttest.Reason("sshotp.announce", "no-such-mount"), "permission denied")
	if res.Contains(vaulttest.Reason("main.verified")) {
		t.Fatalf("a failed echo logged success:\n%s", res.Output)
	}
}

func TestVerifyOnlyUnderPAMDenies(t *testing.T) {
	// A -verify-only left in the PAM line must not let anyone in (brief: under
	// pam_exec only a verified login exits 0).
	s := vaulttest.Start(t)
	res := run(t, vaulttest.Run{Config: devConfig(t, s), Args: []string{"-dev", "-verify-only"}, User: user, Stdin: randUUID})
	expect(t, res, 1, vaulttest.Reason("main.verified"))
}
