package totp

import (
	"context"
	"fmt"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// loginAppRole logs the host in with its role_id and secret_id and returns
// the token Vault issued. It runs on every run, within the run's budget:
// the token is never written anywhere, so it dies with the process (and in
// Vault with its TTL).
func loginAppRole(ctx context.Context, vault *agent.Client, a *AppRole) (agent.Auth, error) {
	path := "/v1/auth/" + a.MountPoint + "/login"
	body, err := vault.Put(ctx, path, map[string]string{"role_id": a.RoleID.Reveal(), "secret_id": a.SecretID.Reveal()})
	var auth agent.Auth
	if err == nil {
		auth, err = agent.DecodeAuth(body)
	}
	if err != nil {
		return agent.Auth{}, fmt.Errorf("AppRole login at %s: %w", vault.URL(path), err)
	}
	return auth, nil
}
