package config_test

import (
	"os"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/testtmp"
)

// TestMain refuses to run the tests under a TMPDIR whose files Load would
// refuse, with one message instead of one confusing failure per test.
func TestMain(m *testing.M) {
	os.Exit(testtmp.M{M: m}.Run())
}
