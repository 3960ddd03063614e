package agent_test

import (
	"os"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/testtmp"
)

// TestMain: the tests load CA and client files through config, which refuses
// them under a TMPDIR like /tmp; say so once, before any test runs.
func TestMain(m *testing.M) {
	os.Exit(testtmp.M{M: m}.Run())
}
