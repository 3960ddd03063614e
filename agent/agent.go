// Package agent is what every mode shares about talking to Vault: a
// vault/api client built from the config's Settings alone, TLS, the connect limit, the
// redirect guard, the size bound, the error classes, and keeping the
// password out of errors. What a mode asks and what the answer means live
// with the mode (helper/sshotp, helper/totp).
package agent

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/vault/api"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

const (
	// ConnectTimeout bounds one TCP connect, so a Vault address that drops
	// packets costs seconds, not the whole budget.
	ConnectTimeout = 2 * time.Second
	// maxBodySize bounds what we read of any answer, and maxHeaderSize its
	// headers: Vault's are a few hundred bytes; a Location is quoted.
	maxBodySize   = 64 << 10
	maxHeaderSize = 64 << 10
)

// Client talks to Vault on behalf of a mode: to the one address of
// vault_addr, or to the first of several that can serve (see send).
type Client struct {
	// vaults[i] is vault/api's client for addrs[i], made on first use; its
	// NewRequest gives a request that address's URL, path and Host header.
	// Every one sends through http (one transport, one guard).
	vaults    []*api.Client
	http      *http.Client
	namespace string
	addrs     []string
	token     string
	// at is the address the last request went to; pinned is set once an
	// address answered, and every later request goes there alone.
	at     int
	pinned bool
	onSkip func(Skip)
	// requestIDs are those of Vault's 2xx answers, which lead to their
	// audit log entries; the watchdog may read them while the run asks.
	mu         sync.Mutex
	requestIDs []string
}

// Settings is what a Client is built from: the config file's shared keys,
// parsed and checked. *config.Config provides it. agent does not import
// config (config uses agent/quote), so neither package depends on the other.
type Settings interface {
	// Addrs is every Vault address, in the order they are tried; at
	// least one.
	Addrs() []*url.URL
	// VaultNamespace is sent as X-Vault-Namespace when not empty.
	VaultNamespace() string
	// TLSClientConfig is the operator's TLS choices (roots, server name,
	// skip-verify, client certificate), fresh on every call.
	TLSClientConfig() *tls.Config
}

// New builds a client from cfg alone: no VAULT_* variable, proxy variable or
// token from the environment takes part.
//
// vault/api makes every request, over go-cleanhttp's transport; the agent
// works against it only where a login must mean one thing: the VAULT_* and
// proxy variables it and net/http read are scrubbed (the root-owned config
// is the only authority); MaxRetries is 0 (Vault consumes an OTP or a code
// as it answers); request uses RawRequestWithContext (Logical().Write reads
// answers through a map, hiding the duplicate keys DecodeObject refuses;
// WriteRaw re-sends "null" on vault/api's one redirect); guard refuses the
// 301s and 302s vault/api follows and bounds the error bodies it reads.
func New(cfg Settings) (*Client, error) {
	scrubEnvironment()
	c := &Client{namespace: cfg.VaultNamespace()}
	for _, u := range cfg.Addrs() {
		c.addrs = append(c.addrs, strings.TrimSuffix(u.String(), "/"))
	}
	if len(c.addrs) == 0 {
		return nil, errors.New("set up Vault client: no Vault address")
	}
	c.http = &http.Client{
		Transport:     &guard{next: newTransport(cfg), scheme: cfg.Addrs()[0].Scheme},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.vaults = make([]*api.Client, len(c.addrs))
	if _, err := c.vault(0); err != nil {
		return nil, err
	}
	return c, nil
}

// vault is vault/api's client for addrs[i], made on first use.
func (c *Client) vault(i int) (*api.Client, error) {
	if c.vaults[i] != nil {
		return c.vaults[i], nil
	}
	vc, err := api.NewClient(&api.Config{Address: c.addrs[i], MaxRetries: 0, HttpClient: c.http})
	if err != nil {
		return nil, fmt.Errorf("set up Vault client for %s: %w", quote.URL(c.addrs[i]), quoted(context.Background(), err))
	}
	vc.SetHeaders(http.Header{api.RequestHeaderName: []string{"true"}})
	if c.namespace != "" {
		vc.SetNamespace(c.namespace)
	}
	c.vaults[i] = vc
	return vc, nil
}

// SetToken makes every later request carry token as X-Vault-Token. The
// client starts without one: ssh/verify needs none, and a login must not
// send one.
func (c *Client) SetToken(token string) { c.token = token }

// RequestIDs lists the request_id of every answer Vault gave this client,
// in order. Vault v1.14.0 sends one only with a 2xx answer: an error
// answer ({"errors": [...]}) carries none, in its body or its headers.
func (c *Client) RequestIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.requestIDs...)
}

// URL is the full address of path (such as /v1/ssh/verify) at the address
// the last request went to, for messages.
func (c *Client) URL(path string) string { return quote.URL(c.addrs[c.at] + path) }

// Put sends body (flat strings, or any value encoding/json writes, such as
// a KV v2 write with its options) as JSON to path (such as /v1/ssh/verify)
// and returns the body of a 2xx answer. Any other answer is a *VaultError;
// transport problems are ErrTimeout, ErrUnreachable or ErrMalformed,
// saying where Vault's one redirect led when it was followed. Callers name
// the call in the error; what the server said is quoted without ctx's
// secrets (see WithSecrets). Which address serves it: see send.
func (c *Client) Put(ctx context.Context, path string, body any) ([]byte, error) {
	return c.send(ctx, http.MethodPut, path, body)
}

// Get is Put's reading twin: no body, the same answers and errors.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	return c.send(ctx, http.MethodGet, path, nil)
}

// send asks the pinned address, or else each address in turn until one
// answers with something other than "I could not have acted on this
// request"; that answer, or the last address's, is the outcome, and that
// address serves every later request (a TOTP login's token and the code it
// validates go to one node).
func (c *Client) send(ctx context.Context, method, path string, body any) ([]byte, error) {
	first, last := c.at, c.at
	if !c.pinned {
		first, last = 0, len(c.addrs)-1
	}
	for i := first; ; i++ {
		answer, hops, err := c.sendAt(ctx, i, method, path, body)
		if i == last || !unserved(ctx, hops, err) {
			c.pinned = true
			return answer, err
		}
		if c.onSkip != nil {
			c.onSkip(Skip{Addr: QuoteURL(ctx, c.addrs[i]), Next: QuoteURL(ctx, c.addrs[i+1]), Reason: WithoutSecrets(ctx, err)})
		}
	}
}

// sendAt is one request to addrs[i], with its own redirect guard trail.
func (c *Client) sendAt(ctx context.Context, i int, method, path string, body any) ([]byte, *trail, error) {
	c.at = i
	hops := &trail{}
	ctx = httptrace.WithClientTrace(context.WithValue(ctx, trailKey{}, hops), &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { hops.connected.Store(true) },
	})
	answer, err := c.request(ctx, i, path, method, body)
	if id, ok := requestIDOf(answer); err == nil && ok {
		c.mu.Lock()
		c.requestIDs = append(c.requestIDs, id)
		c.mu.Unlock()
	}
	if err != nil && hops.redirectedTo != "" {
		err = fmt.Errorf("redirected (307) to %q: %w", hops.redirectedTo, err)
	}
	return answer, hops, err
}

func (c *Client) request(ctx context.Context, i int, path, method string, body any) ([]byte, error) {
	vc, err := c.vault(i)
	if err != nil {
		return nil, err
	}
	r := vc.NewRequest(method, path)
	r.ClientToken = c.token // none from anywhere else
	if body != nil {
		if err := r.SetJSONBody(body); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	//nolint:staticcheck // deprecated, but the one call that fits (see New)
	resp, err := vc.RawRequestWithContext(ctx, r)
	if resp == nil {
		return nil, classify(ctx, cmp.Or(err, ErrEmptyBody))
	}
	defer resp.Body.Close()
	// vault/api already read an error body into memory (bounded by guard);
	// whatever it kept is still in resp.Body.
	var respErr *api.ResponseError
	if err != nil && !errors.As(err, &respErr) {
		return nil, classify(ctx, err)
	}
	answer, err := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, decodeError(resp.StatusCode, answer, secretsIn(ctx))
	case err != nil:
		return nil, classify(ctx, err)
	}
	return answer, nil
}

// classify names what a transport error means for the operator. Text that
// came from elsewhere (a host name from a redirect, a certificate's names)
// is quoted through Quote.
func classify(ctx context.Context, err error) error {
	// The URL a *url.Error names is ours or the redirect's: both are said
	// by the caller and by Put, quoted.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var opErr *net.OpError
	switch {
	case errors.Is(err, ErrMalformed):
		return err // the guard's refusal, built from quoted parts
	case errors.As(err, new(*http.MaxBytesError)):
		return fmt.Errorf("%w: %w", ErrMalformed, errBodyTooLarge)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the answer was cut short", ErrMalformed)
	case strings.Contains(err.Error(), "server response headers exceeded"):
		// net/http has no sentinel for MaxResponseHeaderBytes; should its
		// words change, the error still denies, quoted below.
		return fmt.Errorf("%w: %w", ErrMalformed, errHeadersTooLarge)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w waiting for Vault to answer", ErrTimeout)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		// Checked before DeadlineExceeded: a dial timeout matches it too.
		if opErr.Timeout() {
			return fmt.Errorf("%w: no connection within %s", ErrUnreachable, ConnectTimeout)
		}
		return fmt.Errorf("%w: %w", ErrUnreachable, quoted(ctx, opErr.Err))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w waiting for Vault to answer", ErrTimeout)
	case ctx.Err() != nil:
		return fmt.Errorf("request cancelled: %w", ctx.Err())
	}
	return quoted(ctx, err)
}

func quoted(ctx context.Context, err error) error {
	return &shown{err: err, msg: Quote(ctx, err.Error())}
}

// newTransport is cleanhttp's pooled transport (a run that asks Vault more
// than once, an AppRole login then the code, reuses the first connection
// instead of paying a second TLS handshake, over a third of such a run's
// instructions by scripts/bench-startup.sh), without proxies from the
// environment, with our connect limit and TLS settings.
func newTransport(cfg Settings) *http.Transport {
	t := cleanhttp.DefaultPooledTransport()
	t.Proxy = nil
	// One request per process: HTTP/2's set-up is pure cost here
	// (measured by scripts/bench-startup.sh).
	t.ForceAttemptHTTP2 = false
	t.DialContext = (&net.Dialer{Timeout: ConnectTimeout, KeepAlive: -1}).DialContext
	t.TLSHandshakeTimeout = 0 // the budget's context bounds it
	t.MaxResponseHeaderBytes = maxHeaderSize
	t.TLSClientConfig = cfg.TLSClientConfig()
	t.TLSClientConfig.MinVersion = tls.VersionTLS12
	return t
}

// scrubEnvironment removes what vault/api, net/http or crypto/x509 would
// otherwise read. SSL_CERT_FILE and SSL_CERT_DIR would add trusted roots
// when the config names no CA; Go reads them when it first verifies a
// certificate, which is after this.
func scrubEnvironment() {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "VAULT_") || strings.HasSuffix(upper, "_PROXY") ||
			upper == "SSL_CERT_FILE" || upper == "SSL_CERT_DIR" {
			os.Unsetenv(name)
		}
	}
}

var (
	errBodyTooLarge    = fmt.Errorf("answer larger than %d bytes", maxBodySize)
	errHeadersTooLarge = fmt.Errorf("answer headers larger than %d bytes", maxHeaderSize)
	errSchemeChange    = errors.New("refusing a redirect to another scheme")
	// Vault redirects (a standby to the active node) only with 307, which
	// keeps method and body. A 301 or 302 comes from something else (a proxy
	// sending a browser to a login page), where vault/api would re-send the OTP.
	errRedirectRefused = errors.New("refusing to follow a redirect Vault does not send (only 307 is followed)")
	errBadRedirect     = errors.New("refusing a redirect without a valid target")
	// A standby redirects to the active node, which answers: a second
	// redirect is a loop or something that is not Vault.
	errSecondRedirect = errors.New("refusing a second redirect (only one is followed)")
)

// guard sits under vault/api: it refuses every redirect but the first 307
// to the configured scheme before vault/api can follow it, saying which
// and where to, and bounds every answer's size, including error bodies
// vault/api would otherwise read whole.
type guard struct {
	next   http.RoundTripper
	scheme string
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := g.checkRedirect(req.Context(), resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	// It reads one byte more, to tell "exactly the limit" from "over it".
	resp.Body = http.MaxBytesReader(nil, resp.Body, maxBodySize)
	return resp, nil
}

// checkRedirect lets through anything that is not a redirect net/http or a
// browser follows (301, 302, 303, 307, 308), and the first 307 to a valid
// URL on the configured scheme, which it records in the request's trail.
// Its refusals are ErrMalformed.
func (g *guard) checkRedirect(ctx context.Context, resp *http.Response) error {
	status := resp.StatusCode
	if !slices.Contains([]int{301, 302, 303, 307, 308}, status) {
		return nil
	}
	raw := resp.Header.Get("Location")
	target, parseErr := resp.Location() // relative to the request, as followed
	shown := ""
	if parseErr == nil {
		shown = QuoteURL(ctx, target.String())
	}
	hops, _ := ctx.Value(trailKey{}).(*trail)
	if hops == nil {
		hops = &trail{} // a request sent without sendAt
	}
	switch {
	case raw == "" && status != http.StatusTemporaryRedirect:
		return fmt.Errorf("%w: %w: %d without a Location", ErrMalformed, errRedirectRefused, status)
	case raw == "":
		return fmt.Errorf("%w: %w: %d without a Location", ErrMalformed, errBadRedirect, status)
	case parseErr != nil:
		return fmt.Errorf("%w: %w: %d to %q, which is not a URL", ErrMalformed, errBadRedirect, status, QuoteURL(ctx, raw))
	case status != http.StatusTemporaryRedirect:
		return fmt.Errorf("%w: %w: %d to %q", ErrMalformed, errRedirectRefused, status, shown)
	case hops.redirectedTo != "":
		return fmt.Errorf("%w: %w: %d to %q", ErrMalformed, errSecondRedirect, status, shown)
	case target.Scheme != g.scheme:
		return fmt.Errorf("%w: %w: %d from %s to %q", ErrMalformed, errSchemeChange, status, g.scheme, shown)
	}
	hops.redirectedTo = shown
	return nil
}

// trail is what the guard saw of one Put: where Vault's redirect led, for
// the messages of whatever happened there.
type trail struct {
	redirectedTo string // quoted; empty when no redirect was followed
	// connected is set once net/http has a connection for the request,
	// before it writes any of it.
	connected atomic.Bool
}

type trailKey struct{}

// Secret is a value no message may carry (an OTP, a code, a token), and the
// mark written in its place.
type Secret = quote.Secret

type secretsKey struct{}

// WithSecrets returns ctx carrying secrets besides those it already
// carries. Everything the agent quotes from the server while serving a
// request with that context (error bodies, redirect targets, transport
// errors) has them removed before it is cut to length, as must everything
// a mode quotes: use Quote.
func WithSecrets(ctx context.Context, secrets ...Secret) context.Context {
	all := append(append([]Secret(nil), secretsIn(ctx)...), secrets...)
	return context.WithValue(ctx, secretsKey{}, all)
}

func secretsIn(ctx context.Context) []Secret {
	s, _ := ctx.Value(secretsKey{}).([]Secret)
	return s
}

// Quote is the one way a mode or the agent puts text from outside into a
// message: without ctx's secrets, then cut to quote.MaxLen.
func Quote(ctx context.Context, s string) string { return quote.Outside(s, secretsIn(ctx)...) }

// QuoteURL is Quote for a URL: credentials in it are removed too.
func QuoteURL(ctx context.Context, s string) string { return quote.URL(s, secretsIn(ctx)...) }

// WithoutSecrets is the last net under a mode's errors: any echo of ctx's
// secrets still in err's message is replaced by its mark. errors.Is and
// errors.As see err unchanged.
func WithoutSecrets(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	msg := quote.Redact(err.Error(), secretsIn(ctx)...)
	if msg == err.Error() {
		return err
	}
	return &shown{err: err, msg: msg}
}

// shown is err with the message a reader is to see in its place (secrets
// out, text from outside quoted); errors.Is and errors.As see err.
type shown struct {
	err error
	msg string
}

func (s *shown) Error() string { return s.msg }
func (s *shown) Unwrap() error { return s.err }

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

// OnSkip has report called for every address a request passes over.
func (c *Client) OnSkip(report func(Skip)) { c.onSkip = report }

// Addresses lists vault_addr's addresses in the order they are tried.
func (c *Client) Addresses() []string { return append([]string(nil), c.addrs...) }

// At is a client for the i-th address alone, sharing this one's transport
// and settings: -verify-only checks every address through one each.
func (c *Client) At(i int) *Client {
	return &Client{vaults: []*api.Client{c.vaults[i]}, http: c.http, namespace: c.namespace,
		addrs: []string{c.addrs[i]}, token: c.token}
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
		// No connection was ever made: the dial failed (refused, no route,
		// the connect limit) or the TLS handshake did (an alert, a
		// certificate that does not verify), and net/http writes nothing
		// before it has one. The guard's refusals and the request's
		// encoding would fail the same way anywhere.
		return !errors.As(err, &ve) && !errors.Is(err, ErrMalformed)
	}
	return errors.As(err, &ve) && len(ve.Messages) == 1 && vaultDidNotServe(ve)
}

// vaultDidNotServe is true for Vault v1.14.0's answers, word for word, that
// come before a request reaches the engine that would use the secret:
//   - 503 "Vault is sealed": Core.switchedLockHandleRequest refuses before
//     routing, handleRequestForwarding (Core.Leader) before forwarding; a
//     node marks itself sealed before it waits for routed requests to end.
//   - 500 "local node not active but active cluster node not found": a
//     standby that knows no active node, instead of forwarding.
//   - 500 "active context canceled after getting state lock": a node
//     losing its active role, in switchedLockHandleRequest before routing.
//
// Not among them: 503 "no active Vault instance found" (a standby also
// gives it after a failed forward the active node may have acted on); 429
// (a rate limit quota the next node would undo); any 5xx from a proxy.
func vaultDidNotServe(ve *VaultError) bool {
	return ve.Says(http.StatusServiceUnavailable, "Vault is sealed") ||
		ve.Says(http.StatusInternalServerError, "local node not active but active cluster node not found") ||
		ve.Says(http.StatusInternalServerError, "active context canceled after getting state lock")
}
