package agent_test

import (
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// TestReasonTexts is the one place the full texts of agent's sentinel errors
// are pinned: operators search the log for them (README, Troubleshooting).
// Every other test names the sentinel (errors.Is, or its Error() inside a
// longer message), so changing a text means changing this table and the
// README.
func TestReasonTexts(t *testing.T) {
	for _, c := range []struct {
		err  error
		text string
	}{
		{agent.ErrEmptyBody, "Vault's answer has no body"},
		{agent.ErrNoData, "Vault's answer has no data"},
		{agent.ErrNoAuth, "Vault's answer has no auth"},
		{agent.ErrMalformed, "Vault's answer is malformed"},
		{agent.ErrTimeout, "timed out"},
		{agent.ErrUnreachable, "cannot connect to Vault"},
	} {
		if got := c.err.Error(); got != c.text {
			t.Errorf("message %q, want %q", got, c.text)
		}
	}
}

// A Config from config.Load always names an address; one built otherwise
// with none gets an error from New, not a panic later.
func TestNewRefusesSettingsWithoutAnAddress(t *testing.T) {
	c, err := agent.New(&config.Config{})
	if c != nil || err == nil || err.Error() != "set up Vault client: no Vault address" {
		t.Errorf("New = %v, %v", c, err)
	}
}
