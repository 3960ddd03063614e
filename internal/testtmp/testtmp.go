// Package testtmp stops a test binary whose tests write files for the helper
// to trust when TMPDIR is a place the helper refuses to trust (/tmp, say):
// one message saying what to do instead of every such test failing on its own.
package testtmp

import (
	"fmt"
	"os"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// M wraps a test binary's *testing.M (or testscript's argument).
type M struct {
	M interface{ Run() int }
}

// Run runs the tests when TMPDIR passes the helper's own directory rule,
// and otherwise exits 2 before running any, with the fix on stderr.
func (g M) Run() int {
	if err := Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return g.M.Run()
}

// Check says why the tests cannot keep trusted files under TMPDIR, or nil.
func Check() error {
	if _, err := trust.Directory("TMPDIR", os.TempDir()); err != nil {
		return fmt.Errorf("FAIL: %w\nThe tests keep files the helper must trust under TMPDIR, so it must pass the same rule:\n"+
			"run them with `make test`, or first: export TMPDIR=$(bash scripts/test-tmpdir.sh)", err)
	}
	return nil
}
