package config_test

import (
	"os"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp"
	"github.com/vault-ssh-helper/vault-ssh-helper/test-fixtures/testtmp"
)

// TestMain refuses to run the tests under a TMPDIR whose files Load would
// refuse, with one message instead of one confusing failure per test. It
// hands config's own tests the binary's modes, which they cannot import.
func TestMain(m *testing.M) {
	*config.Registered = helper.Registry{sshotp.Plugin, totp.Plugin}.Modes()
	*config.ModeSentinels = map[string]error{}
	for name, err := range map[string]error{
		"sshotp.ErrStarAlone": sshotp.ErrStarAlone, "sshotp.ErrNotCIDR": sshotp.ErrNotCIDR,
		"totp.ErrTemplateUser": totp.ErrTemplateUser, "totp.ErrNotWholeNumber": totp.ErrNotWholeNumber,
		"totp.ErrTokenAndAppRole": totp.ErrTokenAndAppRole, "totp.ErrRoleIDAlone": totp.ErrRoleIDAlone,
		"totp.ErrSecretIDAlone": totp.ErrSecretIDAlone, "totp.ErrAppRoleMountAlone": totp.ErrAppRoleMountAlone,
		"totp.ErrNoCredentials": totp.ErrNoCredentials, "totp.ErrAppRoleMountUnused": totp.ErrAppRoleMountUnused,
		"totp.ErrUsedCodesNoPrefix": totp.ErrUsedCodesNoPrefix, "totp.ErrUsedCodesKeyShort": totp.ErrUsedCodesKeyShort,
	} {
		(*config.ModeSentinels)[name] = err
	}
	os.Exit(testtmp.M{M: m}.Run())
}
