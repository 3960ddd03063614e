package fleet

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// mode is one way a fleet logs in.
type mode struct {
	name, label string
	// want is the helper's requests per login, as Vault's audit log names them
	// (operation and path, a TOTP key's path as totp/code/*). The README's sizing rests on it.
	want map[string]int
	// prepare sets the mode up in Vault, writes the hosts and makes the logins; its
	// returned function (nil if none) finishes a login's password just before it runs.
	prepare func(f *fleet, t *testing.T) ([]host, []login, func(*login))
	// approle, for the AppRole modes: the role's token parameters besides token_ttl.
	approle map[string]any
	// verifyOnlyMayFail: -verify-only's result is reported, not asserted (see verifyOnly).
	verifyOnlyMayFail bool
}

var allModes = []*mode{
	{name: "ssh-otp", label: "SSH OTP",
		want:    map[string]int{"update ssh/verify": 1},
		prepare: (*fleet).prepareSSHOTP},
	{name: "totp-token-file", label: "TOTP, token file (e.g. a Vault Agent sink)",
		want:    map[string]int{"update totp/code/*": 1},
		prepare: (*fleet).prepareTOTPTokenFile},
	{name: "totp-approle-service", label: "TOTP, AppRole, service tokens",
		want:    map[string]int{"update auth/approle/login": 1, "update totp/code/*": 1},
		approle: map[string]any{"token_type": "service"}},
	{name: "totp-approle-service-1use", label: "TOTP, AppRole, service tokens, token_num_uses=1",
		want:    map[string]int{"update auth/approle/login": 1, "update totp/code/*": 1},
		approle: map[string]any{"token_type": "service", "token_num_uses": 1},
		// -verify-only uses its token more than once (capabilities, then the engine probe).
		verifyOnlyMayFail: true},
	{name: "totp-approle-batch", label: "TOTP, AppRole, batch tokens",
		want:    map[string]int{"update auth/approle/login": 1, "update totp/code/*": 1},
		approle: map[string]any{"token_type": "batch"}},
}

func modeNamed(name string) *mode {
	for _, m := range allModes {
		if m.name == name {
			return m
		}
	}
	return nil
}

func modeNames() string {
	var names []string
	for _, m := range allModes {
		names = append(names, m.name)
	}
	return strings.Join(names, ", ")
}

func user(i int) string { return fmt.Sprintf("u%05d", i) }

// prepareSSHOTP issues every OTP before the logins start: an OTP waits in Vault until used,
// and issuing it (ssh/creds) is the user's request, not the host's.
func (f *fleet) prepareSSHOTP(t *testing.T) ([]host, []login, func(*login)) {
	hosts := make([]host, f.k.hosts)
	for i := range hosts {
		hosts[i] = f.newHost(t, "ssh-otp", i, `ssh_mount_point = "ssh"`, fmt.Sprintf("allowed_roles = %q", sshRole))
	}
	logins := spread(f.k.logins, f.k.hosts, user)
	parallel(len(logins), func(i int) {
		logins[i].password = f.active.IssueOTP(t, "ssh", sshRole, logins[i].user, "127.0.0.1")
	})
	return hosts, logins, nil
}

// totpLogins gives every login a key of its own (named by the mode's key template), so that
// no code is ever refused as already used; the code is made from the key's secret just
// before the login, without asking Vault.
func (f *fleet) totpLogins(t *testing.T, prefix string) ([]login, func(*login)) {
	logins := spread(f.k.logins, f.k.hosts, user)
	secrets := make([]string, len(logins))
	parallel(len(logins), func(i int) {
		secrets[i] = randomSecret(t)
		f.totp.ImportKey(t, prefix+logins[i].user, map[string]any{"key": secrets[i]})
	})
	byUser := make(map[string]string, len(logins))
	for i, l := range logins {
		byUser[l.user] = secrets[i]
	}
	return logins, func(l *login) { l.password = totpCode(t, byUser[l.user], time.Now()) }
}

// totpHost writes a TOTP host: the mode's key template, a state_dir of its own, identity.
func (f *fleet) totpHost(t *testing.T, mode, prefix string, i int, identity ...string) host {
	t.Helper()
	dir := t.TempDir()
	lines := append([]string{
		fmt.Sprintf("totp_mount_point = %q", totpMount),
		fmt.Sprintf("totp_key_template = %q", prefix+"{{username}}"),
		// Each host counts its own failures; there should be none. The helper creates it.
		fmt.Sprintf("state_dir = %q", dir+"/state"),
	}, identity...)
	return f.newHost(t, mode, i, lines...)
}

// prepareTOTPTokenFile gives each host a long-lived token with the validate policy, as a
// Vault Agent sink would hold it.
func (f *fleet) prepareTOTPTokenFile(t *testing.T) ([]host, []login, func(*login)) {
	const prefix = "tok-"
	hosts := make([]host, f.k.hosts)
	for i := range hosts {
		tok := f.active.CreateToken(t, "2h", f.totp.Validate)
		file := vaulttest.WriteSecretFile(t, t.TempDir(), "token", tok+"\n")
		hosts[i] = f.totpHost(t, "totp-token-file", prefix, i, fmt.Sprintf("vault_token_file = %q", file))
	}
	logins, finish := f.totpLogins(t, prefix)
	return hosts, logins, finish
}

// prepareAppRole makes a role for m (its token parameters, token_ttl from the knobs) and
// gives each host a secret_id of its own.
func (f *fleet) prepareAppRole(t *testing.T, m *mode) ([]host, []login, func(*login)) {
	prefix := strings.TrimPrefix(m.name, "totp-approle-") + "-"
	role := strings.TrimSuffix(prefix, "-")
	base := "auth/" + approle + "/role/" + role
	params := map[string]any{
		"token_policies": []string{f.totp.Validate},
		"token_ttl":      f.k.tokenTTL.String(),
		"token_max_ttl":  f.k.tokenTTL.String(),
		"secret_id_ttl":  "2h",
	}
	for k, v := range m.approle {
		params[k] = v
	}
	f.active.Write(t, base, params)
	code, out := f.active.Request(t, http.MethodGet, base+"/role-id", nil)
	data, _ := out["data"].(map[string]any)
	roleID, _ := data["role_id"].(string)
	if code != http.StatusOK || roleID == "" {
		t.Fatalf("read %s/role-id: status %d, errors %v", base, code, out["errors"])
	}
	hosts := make([]host, f.k.hosts)
	for i := range hosts {
		secretID, _ := f.active.Write(t, base+"/secret-id", nil)["secret_id"].(string)
		if secretID == "" {
			t.Fatalf("%s/secret-id answered without a secret_id", base)
		}
		dir := t.TempDir()
		roleFile := vaulttest.WriteSecretFile(t, dir, "role_id", roleID+"\n")
		secretFile := vaulttest.WriteSecretFile(t, dir, "secret_id", secretID+"\n")
		hosts[i] = f.totpHost(t, m.name, prefix, i,
			fmt.Sprintf("approle_role_id_file = %q", roleFile),
			fmt.Sprintf("approle_secret_id_file = %q", secretFile),
			fmt.Sprintf("approle_mount_point = %q", approle))
	}
	logins, finish := f.totpLogins(t, prefix)
	return hosts, logins, finish
}

// randomSecret is a new 160-bit TOTP secret, base32 without padding, as Vault imports it.
func randomSecret(t *testing.T) string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		t.Errorf("random secret: %v", err)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}
