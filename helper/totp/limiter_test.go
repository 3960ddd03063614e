package totp

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
)

// breakStateFile puts a symbolic link, which the limiter refuses, in place
// of user's state file.
func breakStateFile(m *Mode, user string) {
	p := stateFile(m, user)
	os.Remove(p)
	os.Symlink("/dev/null", p)
}

// TestAValidCodeIsLetInOnceOnThisHost: Vault says yes to the same code
// twice (as it does after a leader change); the mode lets it in once and
// refuses the replay before asking Vault.
func TestAValidCodeIsLetInOnceOnThisHost(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, false)
	if _, err := login(m, goodCode, "alice"); err != nil {
		t.Fatalf("first login: %v", err)
	}
	asked := len(stub.seen())
	if _, err := login(m, goodCode, "alice"); !errors.Is(err, ratelimit.ErrUsed) {
		t.Fatalf("replay: %v, want ErrUsed", err)
	}
	if n := len(stub.seen()); n != asked {
		t.Errorf("the replay asked Vault (%d requests after %d)", n, asked)
	}
}

// TestARecordThatFailsAfterVaultSaidYesDenies: the user's state file is
// replaced (here by a symbolic link, which the limiter refuses) while Vault
// validates; Vault said yes, the record cannot be written, and the login
// is denied.
func TestARecordThatFailsAfterVaultSaidYesDenies(t *testing.T) {
	stub := newStubVault(t)
	m := testMode(t, stub, false)
	stub.setFault(func(w http.ResponseWriter, r request) {
		breakStateFile(m, "alice")
		status, body := stub.answer(r)
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	_, err := login(m, goodCode, "alice")
	if err == nil || !strings.HasPrefix(err.Error(), `the code is valid, but recording it as used for "alice" failed, so denying: `) || !errors.Is(err, ratelimit.ErrState) {
		t.Fatalf("err = %v, want a denial for the record", err)
	}
}
