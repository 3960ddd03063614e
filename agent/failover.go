package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Skip is one address a request passed over, and why: what it answered
// or how connecting to it failed. Main logs each at WARN.
type Skip struct {
	Addr   string // quoted
	Next   string // quoted: the address asked next
	Reason error
}

func (s Skip) String() string {
	return fmt.Sprintf("skipped Vault at %s, asking %s next: %v", s.Addr, s.Next, s.Reason)
}

// OnSkip has report called for every address a request passes over, as it
// does.
func (c *Client) OnSkip(report func(Skip)) { c.onSkip = report }

// Addresses lists vault_addr's addresses in the order they are tried.
func (c *Client) Addresses() []string { return append([]string(nil), c.addrs...) }

// At is a client for the i-th address alone, sharing this one's transport
// and settings: -verify-only checks every address through one each.
func (c *Client) At(i int) *Client {
	return &Client{vault: c.vault, addrs: []string{c.addrs[i]}, token: c.token}
}

// unserved is true only when the request certainly did not reach a Vault
// that could act on it, so the secret in it (an OTP, a code) cannot have
// been used up and the next address may be asked. Anything else is the
// outcome, whatever it is: an answer about the secret, a timeout after
// the request went out, a refused redirect, any doubt.
func unserved(ctx context.Context, hops *trail, err error) bool {
	var ve *VaultError
	switch {
	case err == nil, ctx.Err() != nil:
		// Nothing left to try for, or no time left to try it in.
		return false
	case hops.redirectedTo != "":
		// A standby answers 307 also when forwarding to the active node
		// failed, which may be after the active node acted on the request
		// (Vault 1.14 http/handler.go, forwardRequest): whatever happened
		// after a redirect is final.
		return false
	case !hops.connected.Load():
		// No connection was ever made: the dial failed (refused, no
		// route, the connect limit) or the TLS handshake did (an alert, a
		// certificate that does not verify). net/http writes nothing of a
		// request before it has a connection, so nothing was sent. The
		// guard's own refusals and the request's encoding would fail the
		// same way anywhere.
		return !errors.As(err, &ve) && !errors.Is(err, ErrMalformed)
	}
	return errors.As(err, &ve) && len(ve.Messages) == 1 && vaultDidNotServe(ve)
}

// vaultDidNotServe is true for Vault v1.14.0's answers, word for word, that
// it gives before a request reaches the engine that would use the secret.
// Each is safe to pass over because of where Vault gives it:
//   - 503 "Vault is sealed": a sealed node refuses every request in
//     Core.switchedLockHandleRequest before routing it, or, in a cluster,
//     in handleRequestForwarding (Core.Leader) before forwarding it; a
//     node marks itself sealed first and only then waits for requests
//     already routed to finish, which never answer this.
//   - 500 "local node not active but active cluster node not found": a
//     standby that knows no active node says so in handleRequestForwarding
//     instead of forwarding the request.
//   - 500 "active context canceled after getting state lock": a node that
//     is losing its active role says so in switchedLockHandleRequest
//     before routing the request.
//
// Not among them: 503 "no active Vault instance found", which a standby
// also gives after a failed forward that the active node may have acted
// on; 429 (a rate limit quota: the operator asked Vault to slow this host
// down, and the next node would undo that); any 5xx from a proxy.
func vaultDidNotServe(ve *VaultError) bool {
	return ve.Says(http.StatusServiceUnavailable, "Vault is sealed") ||
		ve.Says(http.StatusInternalServerError, "local node not active but active cluster node not found") ||
		ve.Says(http.StatusInternalServerError, "active context canceled after getting state lock")
}
