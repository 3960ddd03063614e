// Package agent is what every mode shares about talking to Vault: a
// vault/api client built from the config's Settings alone, TLS, the connect limit, the
// redirect guard, the size bound, the error classes, and keeping the
// password out of errors. What a mode asks and what the answer means live
// with the mode (helper/sshotp, helper/totp).
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/vault/api"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// ConnectTimeout bounds one TCP connect, so a Vault address that drops
// packets costs seconds, not the whole budget.
const ConnectTimeout = 2 * time.Second

// maxBodySize bounds what we read of any answer: a verify answer is a few
// hundred bytes.
const maxBodySize = 64 << 10

// Client talks to Vault on behalf of a mode: to the one address of
// vault_addr, or to the first of several that can serve (failover.go).
type Client struct {
	http      *http.Client
	namespace string
	addrs     []string
	// vaults[i] talks to addrs[i]; the first is made by New, the others
	// only when a request gets that far.
	vaults []*api.Client
	token  string
	// at is the address the last request went to; pinned is set once an
	// address answered, and every later request goes there alone.
	at     int
	pinned bool
	onSkip func(Skip)
	// answers keeps the request_id of Vault's 2xx answers (requestid.go).
	answers requestIDs
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
// vault/api makes every request, over go-cleanhttp's transport; where the
// agent works against the library, it is for one of these reasons:
//   - scrubEnvironment: NewClient reads VAULT_* (and fails on values it
//     cannot parse), and net/http the proxy variables; the root-owned config
//     file must be the only authority, so they go before the library looks.
//   - MaxRetries 0: a request that may have reached Vault must never be sent
//     again, since Vault consumes an OTP or a code as it answers.
//   - put sends with RawRequestWithContext, not Logical().Write: Write reads
//     the answer through a map (and an error answer's "errors" in any letter
//     case), which hides the duplicate and case-variant keys DecodeObject and
//     decodeError refuse; WriteRaw keeps no Obj, so the one redirect
//     vault/api follows would re-send "null" in place of the body.
//   - guard: vault/api follows 301 and 302 as well as Vault's 307, reads
//     error bodies whole, and lets net/http follow further redirects.
func New(cfg Settings) (*Client, error) {
	scrubEnvironment()
	addrs := cfg.Addrs()
	c := &Client{
		http: &http.Client{
			Transport: &guard{next: newTransport(cfg), scheme: addrs[0].Scheme},
			// vault/api follows one redirect itself; net/http must not follow more.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		namespace: cfg.VaultNamespace(),
		vaults:    make([]*api.Client, len(addrs)),
	}
	for _, u := range addrs {
		c.addrs = append(c.addrs, strings.TrimSuffix(u.String(), "/"))
	}
	if _, err := c.vault(0); err != nil {
		return nil, err
	}
	return c, nil
}

// vault is the vault/api client for addrs[i], made on first use.
func (c *Client) vault(i int) (*api.Client, error) {
	if c.vaults[i] != nil {
		return c.vaults[i], nil
	}
	vc, err := api.NewClient(&api.Config{
		Address:    c.addrs[i],
		HttpClient: c.http,
		MaxRetries: 0, // never a second send (see New)
	})
	if err != nil {
		return nil, fmt.Errorf("set up Vault client for %s: %w", quote.URL(c.addrs[i]), quoted(context.Background(), err))
	}
	vc.ClearToken()
	if c.token != "" {
		vc.SetToken(c.token)
	}
	vc.SetHeaders(http.Header{api.RequestHeaderName: []string{"true"}})
	if c.namespace != "" {
		vc.SetNamespace(c.namespace)
	}
	c.vaults[i] = vc
	return vc, nil
}

// URL is the full address of path (such as /v1/ssh/verify) at the address
// the last request went to, for messages.
func (c *Client) URL(path string) string { return quote.URL(c.addrs[c.at] + path) }

// Put sends body as JSON to path (such as /v1/ssh/verify) and returns the
// body of a 2xx answer. Any other answer is a *VaultError; transport
// problems are ErrTimeout, ErrUnreachable or ErrMalformed. When Vault's one
// redirect was followed, an error says where it led. Callers name the call
// in the error; what the server said is quoted without ctx's secrets (see
// WithSecrets). With several addresses, the first request goes to the
// first that can serve it (failover.go), and every later one to that one.
func (c *Client) Put(ctx context.Context, path string, body map[string]string) ([]byte, error) {
	return c.send(ctx, http.MethodPut, path, body)
}

// PutJSON is Put for a body that is not flat strings (a KV v2 write with
// its options), given as any value encoding/json writes.
func (c *Client) PutJSON(ctx context.Context, path string, body any) ([]byte, error) {
	return c.send(ctx, http.MethodPut, path, body)
}

// Get is Put's reading twin: no body, the same answers and errors.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	return c.send(ctx, http.MethodGet, path, nil)
}

func (c *Client) send(ctx context.Context, method, path string, body any) ([]byte, error) {
	if c.pinned || len(c.addrs) == 1 {
		answer, _, err := c.sendAt(ctx, c.at, method, path, body)
		c.pinned = true
		return answer, err
	}
	return c.sendInTurn(ctx, method, path, body)
}

// sendAt is one request to addrs[i], with its own redirect guard trail.
func (c *Client) sendAt(ctx context.Context, i int, method, path string, body any) ([]byte, *trail, error) {
	c.at = i
	vc, err := c.vault(i)
	if err != nil {
		return nil, &trail{}, err
	}
	hops := &trail{}
	answer, err := c.request(withTrail(traceConnection(ctx, hops), hops), vc, method, path, body)
	if err == nil {
		c.noteRequestID(answer)
	}
	if err != nil && hops.redirectedTo != "" {
		err = fmt.Errorf("redirected (307) to %q: %w", hops.redirectedTo, err)
	}
	return answer, hops, err
}

func (c *Client) request(ctx context.Context, vc *api.Client, method, path string, body any) ([]byte, error) {
	r := vc.NewRequest(method, path)
	if body != nil {
		if err := r.SetJSONBody(body); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	//nolint:staticcheck // deprecated, but the one call that fits (see New)
	resp, err := vc.RawRequestWithContext(ctx, r)
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	if resp == nil {
		if err == nil {
			return nil, ErrEmptyBody
		}
		return nil, classify(ctx, err)
	}
	// vault/api already read an error body into memory (bounded by guard);
	// whatever it kept is still in resp.Body.
	var respErr *api.ResponseError
	if err != nil && !errors.As(err, &respErr) {
		return nil, classify(ctx, err)
	}
	answer, readErr := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(resp.StatusCode, answer, secretsIn(ctx))
	}
	if err == nil {
		err = readErr
	}
	if err != nil {
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
	case isRefusal(err):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
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

// isRefusal is true for the answers the guard refuses: their messages are
// built from quoted parts already.
func isRefusal(err error) bool {
	for _, refusal := range []error{errBodyTooLarge, errSchemeChange, errRedirectRefused, errBadRedirect, errSecondRedirect} {
		if errors.Is(err, refusal) {
			return true
		}
	}
	return false
}

// quotedError shows err's message as Quote has it, and keeps err for
// errors.Is and errors.As.
type quotedError struct {
	err error
	msg string
}

func quoted(ctx context.Context, err error) error {
	return &quotedError{err: err, msg: Quote(ctx, err.Error())}
}

func (q *quotedError) Error() string { return q.msg }
func (q *quotedError) Unwrap() error { return q.err }

// newTransport is cleanhttp's transport without proxies from the environment,
// with our connect limit and TLS settings. It is the pooled one: a run that
// asks Vault more than once (an AppRole login, then the code) sends the later
// requests over the first one's connection instead of paying a second TLS
// handshake, over a third of such a run's instructions (measured by
// scripts/bench-startup.sh). The pool lives and dies with the process.
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
	// keeps method and body. A 301 or 302 comes from something else, a proxy
	// sending the browser to a login page say, and vault/api would re-send
	// the OTP there.
	errRedirectRefused = errors.New("refusing to follow a redirect Vault does not send (only 307 is followed)")
	errBadRedirect     = errors.New("refusing a redirect without a valid target")
	// A standby redirects to the active node, which answers: a second
	// redirect is a loop or something that is not Vault.
	errSecondRedirect = errors.New("refusing a second redirect (only one is followed)")
)

// maxHeaderSize bounds the headers of an answer: Vault's are a few hundred
// bytes, and a Location is quoted in a message.
const maxHeaderSize = 64 << 10

// guard sits under vault/api: it refuses every redirect but the first 307
// to the configured scheme before vault/api can follow it, saying which
// and where to, and bounds every answer's size, including error bodies
// vault/api would otherwise read whole.
type guard struct {
	next   http.RoundTripper
	scheme string
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// checkRedirect refuses another scheme before vault/api follows; this
	// holds for any request built another way.
	if req.URL.Scheme != g.scheme {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: a request to %q", errSchemeChange, QuoteURL(ctx, req.URL.String()))
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := g.checkRedirect(ctx, resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxBodySize}
	return resp, nil
}

// checkRedirect lets through anything that is not a redirect, and the first
// 307 to a valid URL on the configured scheme, which it records in the
// request's trail.
func (g *guard) checkRedirect(ctx context.Context, resp *http.Response) error {
	status := resp.StatusCode
	if !isRedirect(status) {
		return nil
	}
	raw := resp.Header.Get("Location")
	target, parseErr := resp.Location() // relative to the request, as followed
	shown := ""
	if parseErr == nil {
		shown = QuoteURL(ctx, target.String())
	}
	hops := trailIn(ctx)
	switch {
	case raw == "":
		if status != http.StatusTemporaryRedirect {
			return fmt.Errorf("%w: %d without a Location", errRedirectRefused, status)
		}
		return fmt.Errorf("%w: %d without a Location", errBadRedirect, status)
	case parseErr != nil:
		return fmt.Errorf("%w: %d to %q, which is not a URL", errBadRedirect, status, QuoteURL(ctx, raw))
	case status != http.StatusTemporaryRedirect:
		return fmt.Errorf("%w: %d to %q", errRedirectRefused, status, shown)
	case hops != nil && hops.redirectedTo != "":
		return fmt.Errorf("%w: %d to %q", errSecondRedirect, status, shown)
	case target.Scheme != g.scheme:
		return fmt.Errorf("%w: %d from %s to %q", errSchemeChange, status, g.scheme, shown)
	}
	if hops != nil {
		hops.redirectedTo = shown
	}
	return nil
}

// isRedirect is true for the statuses net/http and browsers follow.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
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

func withTrail(ctx context.Context, t *trail) context.Context {
	return context.WithValue(ctx, trailKey{}, t)
}

func trailIn(ctx context.Context) *trail {
	t, _ := ctx.Value(trailKey{}).(*trail)
	return t
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells "exactly the limit" from "over it".
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }
