package logins

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// releaseBinariesEnv lists the release binaries to log in with, one a line:
// "<goarch> <binary> [<emulator>]". scripts/test-dist.sh sets it to what
// `make dist` built, with qemu-user for the architectures this machine
// cannot run.
const releaseBinariesEnv = "VSH_RELEASE_BINARIES"

type releaseBinary struct {
	arch, path, emulator string
}

func parseReleaseBinaries(list string) ([]releaseBinary, error) {
	var bins []releaseBinary
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 0:
			continue
		case 2:
			bins = append(bins, releaseBinary{arch: f[0], path: f[1]})
		case 3:
			bins = append(bins, releaseBinary{arch: f[0], path: f[1], emulator: f[2]})
		default:
			return nil, fmt.Errorf("%s: %q is not \"<goarch> <binary> [<emulator>]\"", releaseBinariesEnv, line)
		}
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("%s names no binary", releaseBinariesEnv)
	}
	return bins, nil
}

// TestReleaseBinariesLogIn proves every release binary, not only the one
// built for this machine: each logs in once against a real Vault over TLS in
// production mode, and denies an OTP issued for another host. Under
// emulation s390x runs big-endian, where listing the interfaces (netlink),
// TLS and JSON decoding would break first.
func TestReleaseBinariesLogIn(t *testing.T) {
	list := os.Getenv(releaseBinariesEnv)
	if list == "" {
		t.Skipf("%s is not set; scripts/test-dist.sh (make test-dist) sets it to the binaries make dist built", releaseBinariesEnv)
	}
	bins, err := parseReleaseBinaries(list)
	if err != nil {
		t.Fatal(err)
	}
	s := tlsServer(t, vaulttest.TLSOptions{})
	// Emulation is slow; the budget is not what this test is about.
	cfg := tlsConfig(t, s, fmt.Sprintf("ca_cert = %q", s.CACertFile), `timeout = "60s"`)
	for _, b := range bins {
		t.Run(b.arch, func(t *testing.T) {
			login := func(otp string) vaulttest.Result {
				return run(t, vaulttest.Run{Config: cfg, User: user, Stdin: otp,
					Binary: b.path, Emulator: b.emulator, Timeout: 90 * time.Second})
			}
			expect(t, login(s.IssueOTP(t, "ssh", "otp", user, "127.0.0.1")), 0,
				vaulttest.Reason("main.authenticated", "alice@127.0.0.1"))
			expect(t, login(s.IssueOTP(t, "ssh", "otp", user, otherIP)), 1,
				vaulttest.Reason("sshotp.ErrIPNotLocal"))
		})
	}
}
