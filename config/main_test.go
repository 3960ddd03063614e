package config_test

import (
	"os"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/testtmp"
)

// TestMain refuses to run the tests under a TMPDIR whose files Load would
// refuse, with one message instead of one confusing failure per test. It
// hands config's own tests the binary's modes, which they cannot import.
func TestMain(m *testing.M) {
	*config.Registered = helper.Registry{sshotp.Plugin, totp.Plugin}.Modes()
	os.Exit(testtmp.M{M: m}.Run())
}
