// Package agent is what every mode shares about talking to Vault: a
// vault/api client built from the Config alone, TLS, the connect limit, the
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
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/vault/api"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// ConnectTimeout bounds one TCP connect, so a Vault address that drops
// packets costs seconds, not the whole budget.
const ConnectTimeout = 2 * time.Second

// maxBodySize bounds what we read of any answer: a verify answer is a few
// hundred bytes.
const maxBodySize = 64 << 10

// Client talks to one Vault on behalf of a mode.
type Client struct {
	vault *api.Client
	addr  string
}

// New builds a client from cfg alone: no VAULT_* variable, proxy variable or
// token from the environment takes part.
func New(cfg *config.Config) (*Client, error) {
	// vault/api reads its environment inside NewClient and fails on values
	// it cannot parse; the root-owned config file must be the only
	// authority, so the variables go before the library can see them.
	scrubEnvironment()
	httpClient := &http.Client{
		Transport: &guard{next: newTransport(cfg), scheme: cfg.VaultAddr.Scheme},
		// vault/api follows one redirect itself; net/http must not follow more.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	vc, err := api.NewClient(&api.Config{
		Address:    cfg.VaultAddr.String(),
		HttpClient: httpClient,
		// A request that may have reached Vault must never be sent again:
		// Vault consumes an OTP or a code as it answers.
		MaxRetries: 0,
	})
	if err != nil {
		return nil, fmt.Errorf("set up Vault client for %s: %w", cfg.VaultAddr, err)
	}
	vc.ClearToken()
	vc.SetHeaders(http.Header{api.RequestHeaderName: []string{"true"}})
	if cfg.Namespace != "" {
		vc.SetNamespace(cfg.Namespace)
	}
	return &Client{vault: vc, addr: strings.TrimSuffix(cfg.VaultAddr.String(), "/")}, nil
}

// URL is the full address of path (such as /v1/ssh/verify), for messages.
func (c *Client) URL(path string) string { return c.addr + path }

// Put sends body as JSON to path (such as /v1/ssh/verify) and returns the
// body of a 2xx answer. Any other answer is a *VaultError; transport
// problems are ErrTimeout, ErrUnreachable or ErrMalformed. Callers name the
// call in the error.
func (c *Client) Put(ctx context.Context, path string, body map[string]string) ([]byte, error) {
	r := c.vault.NewRequest(http.MethodPut, path)
	if err := r.SetJSONBody(body); err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	//nolint:staticcheck // the one call that keeps Obj for a redirect's ResetJSONBody
	resp, err := c.vault.RawRequestWithContext(ctx, r)
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
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			err = fmt.Errorf("%w: %w", errSchemeChange, err)
		}
		return nil, classify(ctx, err)
	}
	answer, readErr := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(resp.StatusCode, answer)
	}
	if err == nil {
		err = readErr
	}
	if err != nil {
		return nil, classify(ctx, err)
	}
	return answer, nil
}

// classify names what a transport error means for the operator.
func classify(ctx context.Context, err error) error {
	var opErr *net.OpError
	switch {
	case errors.Is(err, errBodyTooLarge), errors.Is(err, errSchemeChange), errors.Is(err, errRedirectRefused):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the answer was cut short", ErrMalformed)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w waiting for Vault to answer", ErrTimeout)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		// Checked before DeadlineExceeded: a dial timeout matches it too.
		if opErr.Timeout() {
			return fmt.Errorf("%w: no connection within %s", ErrUnreachable, ConnectTimeout)
		}
		return fmt.Errorf("%w: %w", ErrUnreachable, opErr.Err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w waiting for Vault to answer", ErrTimeout)
	case ctx.Err() != nil:
		return fmt.Errorf("request cancelled: %w", ctx.Err())
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// newTransport is cleanhttp's transport without proxies from the environment,
// with our connect limit and TLS settings.
func newTransport(cfg *config.Config) *http.Transport {
	t := cleanhttp.DefaultTransport()
	t.Proxy = nil
	// One request per process: HTTP/2's set-up is pure cost here
	// (measured by scripts/bench-startup.sh).
	t.ForceAttemptHTTP2 = false
	t.DialContext = (&net.Dialer{Timeout: ConnectTimeout, KeepAlive: -1}).DialContext
	t.TLSHandshakeTimeout = 0 // the budget's context bounds it
	t.TLSClientConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            cfg.RootCAs,
		ServerName:         cfg.TLSServerName,
		InsecureSkipVerify: cfg.TLSSkipVerify, //nolint:gosec // the operator's explicit choice
	}
	if cfg.ClientCert != nil {
		t.TLSClientConfig.Certificates = []tls.Certificate{*cfg.ClientCert}
	}
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
	errBodyTooLarge = fmt.Errorf("answer larger than %d bytes", maxBodySize)
	errSchemeChange = errors.New("refusing a redirect to another scheme")
	// Vault redirects (a standby to the active node) only with 307, which
	// keeps method and body. A 301 or 302 comes from something else, a proxy
	// sending the browser to a login page say, and vault/api would re-send
	// the OTP there.
	errRedirectRefused = errors.New("refusing to follow a redirect Vault does not send (only 307 is followed)")
)

// guard sits under vault/api: it refuses any request that leaves the
// configured scheme (a redirect from https to http, or http to https
// behind the operator's back), refuses the redirects Vault never sends
// before vault/api can follow them, and bounds every answer's size,
// including error bodies vault/api would otherwise read whole.
type guard struct {
	next   http.RoundTripper
	scheme string
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != g.scheme {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w (%s to %s)", errSchemeChange, g.scheme, req.URL.Scheme)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusFound {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d to %q", errRedirectRefused, resp.StatusCode, resp.Header.Get("Location"))
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxBodySize}
	return resp, nil
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
