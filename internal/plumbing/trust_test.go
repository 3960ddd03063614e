package plumbing

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// A run remembers, from Start to End, the directories that passed the trust
// rule, and only then: the test opens a checked directory to others behind
// the run's back (as only root or the helper's user could) and the next file
// under it is still read during the run, and refused after End.
func TestARunRemembersCheckedDirectoriesUntilItEnds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	config, token := filepath.Join(dir, "config.hcl"), filepath.Join(dir, "token")
	for _, f := range []string{config, token} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	read := func(path string) error {
		_, _, err := trust.ReadFile(path, "file", "/", 64)
		return err
	}

	if err := read(config); err != nil {
		t.Fatalf("before the run: %v", err)
	}
	r := Start(time.Now(), io.Discard, io.Discard, func(int) { t.Error("the watchdog fired") })
	if err := read(config); err != nil {
		r.End()
		t.Fatalf("in the run: %v", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		r.End()
		t.Fatal(err)
	}
	errInRun := read(token)
	r.End()
	errAfter := read(token)

	if errInRun != nil {
		t.Errorf("second file in the run: %v; want its directory remembered", errInRun)
	}
	if !errors.Is(errAfter, trust.ErrUnsafePermissions) {
		t.Errorf("after End: err = %v, want %v", errAfter, trust.ErrUnsafePermissions)
	}
}
