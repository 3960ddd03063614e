// Package vaulttest runs a real HashiCorp Vault (v1.14.0, MPL-2.0, built from
// the Go module proxy) inside a Go test process, and runs the product binary
// against it the way pam_exec does.
//
// A test typically does:
//
//	s := vaulttest.Start(t)                     // unsealed core, HTTP on 127.0.0.1, SSH engine at "ssh" and "ssh-other"
//	s.CreateOTPRole(t, "ssh", "otp", "alice", "127.0.0.0/8")
//	otp := s.IssueOTP(t, "ssh", "otp", "alice", "127.0.0.1")
//	cfg := vaulttest.WriteConfig(t, "", `vault_addr = "`+s.Addr+`"`+"\nallowed_roles = \"*\"\n")
//	res := vaulttest.RunHelper(t, vaulttest.Run{Config: cfg, Args: []string{"-dev"}, User: "alice", Stdin: otp})
//	// res.Code == 0, res.Output contains "alice@127.0.0.1 authenticated!"
//
// For the TOTP mode: EnableTOTP mounts the engine and writes three policies (update only;
// read and update; no update), GenerateKey / ImportKey / Code manage keys, CreateToken,
// RevokeToken and WaitTokenExpired make the host's tokens, EnableAppRole / CreateAppRole its
// AppRole credentials, WriteSecretFile puts them in 0600 files, EnableFileAudit counts from
// Vault's side the requests that reached it, OathtoolCode computes codes independently of
// Vault, and READMEBlock hands tests the README's own commands and lines.
//
// Everything the harness starts is stopped through t.Cleanup, also when the
// test fails. Vault's own log is kept in memory and printed only when the test
// fails.
package vaulttest
