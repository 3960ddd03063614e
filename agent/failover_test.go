package agent_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

// fleet is a client for several addresses, with the skips it reported.
type fleet struct {
	vault *agent.Client
	ssh   *sshotp.Client
	mu    sync.Mutex
	skips []agent.Skip
}

func newFleet(t *testing.T, addrs []string, extra ...string) *fleet {
	t.Helper()
	text := hcl(strings.Join(addrs, ","), extra...)
	cfg, err := config.Parse([]byte(text), config.Options{Modes: sshOTP, Dev: strings.HasPrefix(addrs[0], "http://")})
	if err != nil {
		t.Fatalf("config.Parse:\n%s\n%v", text, err)
	}
	c, err := agent.New(cfg)
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	f := &fleet{vault: c, ssh: sshotp.NewClient(c, cfg.ModeSettings.(*sshotp.Settings).MountPoint)}
	c.OnSkip(func(s agent.Skip) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.skips = append(f.skips, s)
	})
	return f
}

func (f *fleet) skipped() []agent.Skip {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]agent.Skip(nil), f.skips...)
}

// Vault's answers that say it did not act on the request: the next address
// is asked, and the first one's answer becomes one skip.
func TestAnAnswerThatVaultGivesBeforeActingPassesToTheNextAddress(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
	}{
		{"sealed", 503, `{"errors":["Vault is sealed"]}`},
		{"standby without an active node", 500, `{"errors":["local node not active but active cluster node not found"]}`},
		{"losing the active role", 500, `{"errors":["active context canceled after getting state lock"]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			first, firstRec := serveHTTP(t, answer(c.status, c.body))
			second, secondRec := serveHTTP(t, answer(200, successBody))
			f := newFleet(t, []string{first.URL, second.URL})
			if _, err := f.ssh.Verify(ctx(t), testOTP); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if firstRec.count() != 1 || secondRec.count() != 1 {
				t.Errorf("requests: first %d, second %d; want 1 each", firstRec.count(), secondRec.count())
			}
			skips := f.skipped()
			if len(skips) != 1 || skips[0].Addr != first.URL || skips[0].Next != second.URL {
				t.Fatalf("skips = %v", skips)
			}
			var ve *agent.VaultError
			if !errors.As(skips[0].Reason, &ve) || ve.Status != c.status {
				t.Errorf("skip reason = %v", skips[0].Reason)
			}
		})
	}
}

// Every other answer is the outcome: the OTP may have been used, so it is
// never sent to another address.
func TestAnyOtherAnswerIsFinal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
	}{
		{"OTP not found", 400, `{"errors":["OTP not found"]}`},
		{"success", 200, successBody},
		{"no active instance, which also follows a failed forward", 503, `{"errors":["no active Vault instance found"]}`},
		{"rate limit quota", 429, `{"errors":["request path \"ssh/verify\": rate limit quota exceeded"]}`},
		{"sealed with a second message", 503, `{"errors":["Vault is sealed","something else"]}`},
		{"sealed under another status", 500, `{"errors":["Vault is sealed"]}`},
		{"a proxy's bad gateway", 502, `<html>Bad Gateway</html>`},
		{"a proxy's 503", 503, `<html>Service Unavailable</html>`},
		{"permission denied", 403, `{"errors":["permission denied"]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			first, firstRec := serveHTTP(t, answer(c.status, c.body))
			second, secondRec := serveHTTP(t, answer(200, successBody))
			f := newFleet(t, []string{first.URL, second.URL})
			f.ssh.Verify(ctx(t), testOTP)
			if firstRec.count() != 1 || secondRec.count() != 0 {
				t.Errorf("requests: first %d, second %d; want 1 and 0", firstRec.count(), secondRec.count())
			}
			if skips := f.skipped(); len(skips) != 0 {
				t.Errorf("skips = %v", skips)
			}
		})
	}
}

func TestARefusedConnectionPassesToTheNextAddress(t *testing.T) {
	t.Parallel()
	second, secondRec := serveHTTP(t, answer(200, successBody))
	closed := "http://" + closedPort(t)
	f := newFleet(t, []string{closed, second.URL})
	if _, err := f.ssh.Verify(ctx(t), testOTP); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// The Host header is the second address's: a proxy that routes by it
	// must not send the request to the first's backend.
	if got, want := secondRec.only(t).Host, strings.TrimPrefix(second.URL, "http://"); got != want {
		t.Errorf("Host = %s, want %s", got, want)
	}
	skips := f.skipped()
	if len(skips) != 1 || !errors.Is(skips[0].Reason, agent.ErrUnreachable) {
		t.Fatalf("skips = %v", skips)
	}
}

// A connect that the 2 s limit gives up (SYNs dropped) sent nothing.
func TestAConnectThatTimesOutPassesToTheNextAddress(t *testing.T) {
	t.Parallel()
	dropped := "http://" + fullListener(t)
	second, secondRec := serveHTTP(t, answer(200, successBody))
	f := newFleet(t, []string{dropped, second.URL})
	budget, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := f.ssh.Verify(budget, testOTP); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	secondRec.only(t)
	skips := f.skipped()
	if len(skips) != 1 || !errors.Is(skips[0].Reason, agent.ErrUnreachable) || !strings.Contains(skips[0].Reason.Error(), "no connection within 2s") {
		t.Fatalf("skips = %v", skips)
	}
}

// A TLS handshake ends before net/http writes any of the request: whatever
// made it fail, nothing was sent.
func TestAFailedTLSHandshakePassesToTheNextAddress(t *testing.T) {
	t.Parallel()
	other := newCA(t, "another CA")
	cases := []struct {
		name  string
		first func(t *testing.T) (string, *recorder)
	}{
		{"certificate from another CA", func(t *testing.T) (string, *recorder) {
			srv, rec := serveTLS(t, answer(200, successBody), &tls.Config{Certificates: []tls.Certificate{other.leaf(t, "127.0.0.1")}})
			return srv.URL, rec
		}},
		{"plain HTTP where https was asked", func(t *testing.T) (string, *recorder) {
			srv, rec := serveHTTP(t, answer(200, successBody))
			return strings.Replace(srv.URL, "http://", "https://", 1), rec
		}},
		{"connection closed during the handshake", func(t *testing.T) (string, *recorder) {
			return "https://" + acceptAndClose(t), &recorder{}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			firstURL, firstRec := c.first(t)
			second, secondRec := serveTLS(t, answer(200, successBody), nil)
			f := newFleet(t, []string{firstURL, second.URL}, `ca_cert = "`+serverCAFile(t, second)+`"`)
			if _, err := f.ssh.Verify(ctx(t), testOTP); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if firstRec.count() != 0 {
				t.Errorf("the first address received %d requests", firstRec.count())
			}
			secondRec.only(t)
			if skips := f.skipped(); len(skips) != 1 || skips[0].Addr != firstURL {
				t.Fatalf("skips = %v", skips)
			}
		})
	}
}

// In TLS 1.3 the client writes the request right after its half of the
// handshake; a server refusing its certificate says so only then. The
// request went out (the server's TLS layer drops it, but the helper cannot
// know what read it): final.
func TestAClientCertificateRefusedAfterTheHandshakeIsFinal(t *testing.T) {
	t.Parallel()
	first, _ := serveTLS(t, answer(200, successBody), &tls.Config{ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS13})
	second, secondRec := serveTLS(t, answer(200, successBody), nil)
	f := newFleet(t, []string{first.URL, second.URL}, `ca_cert = "`+serverCAFile(t, second)+`"`)
	if _, err := f.ssh.Verify(ctx(t), testOTP); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("Verify: %v", err)
	}
	if secondRec.count() != 0 {
		t.Errorf("the second address received %d requests", secondRec.count())
	}
}

// acceptAndClose is a 127.0.0.1 listener that closes every connection as
// soon as it is accepted.
func acceptAndClose(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// Once the request went out, a lost answer or a timeout is the outcome.
func TestAFailureAfterTheRequestWentOutIsFinal(t *testing.T) {
	t.Parallel()
	hanging, hangingRec := serveHanging(t, nil)
	cases := []struct {
		name  string
		first func(t *testing.T) (string, *recorder)
		ctx   func(t *testing.T) context.Context
	}{
		{"connection closed without an answer", func(t *testing.T) (string, *recorder) {
			srv, rec := serveHTTP(t, dropConn(false))
			return srv.URL, rec
		}, ctx},
		{"connection reset", func(t *testing.T) (string, *recorder) {
			srv, rec := serveHTTP(t, dropConn(true))
			return srv.URL, rec
		}, ctx},
		{"timeout", func(t *testing.T) (string, *recorder) { return hanging.URL, hangingRec }, shortCtx},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			firstURL, firstRec := c.first(t)
			second, secondRec := serveHTTP(t, answer(200, successBody))
			f := newFleet(t, []string{firstURL, second.URL})
			if _, err := f.ssh.Verify(c.ctx(t), testOTP); err == nil {
				t.Fatal("Verify succeeded")
			}
			if firstRec.count() != 1 || secondRec.count() != 0 {
				t.Errorf("requests: first %d, second %d; want 1 and 0", firstRec.count(), secondRec.count())
			}
			if skips := f.skipped(); len(skips) != 0 {
				t.Errorf("skips = %v", skips)
			}
		})
	}
}

// A standby also redirects after a failed forward that the active node may
// have acted on: whatever happens after a redirect is final.
func TestWhateverFollowsARedirectIsFinal(t *testing.T) {
	t.Parallel()
	sealed, _ := serveHTTP(t, answer(503, `{"errors":["Vault is sealed"]}`))
	for name, target := range map[string]string{
		"a refused connection": "http://" + closedPort(t),
		"a sealed node":        sealed.URL,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			first, firstRec := serveHTTP(t, redirectTo(307, target))
			second, secondRec := serveHTTP(t, answer(200, successBody))
			f := newFleet(t, []string{first.URL, second.URL})
			if _, err := f.ssh.Verify(ctx(t), testOTP); err == nil {
				t.Fatal("Verify succeeded")
			}
			if firstRec.count() != 1 || secondRec.count() != 0 {
				t.Errorf("requests: first %d, second %d; want 1 and 0", firstRec.count(), secondRec.count())
			}
		})
	}
}

// The address that answered the first request answers every later one: a
// TOTP login's token and the code it validates go to one node.
func TestLaterRequestsGoWhereTheFirstWasAnswered(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	first, firstRec := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			answer(503, `{"errors":["Vault is sealed"]}`)(w, r)
			return
		}
		answer(200, successBody)(w, r)
	})
	second, secondRec := serveHTTP(t, answer(200, successBody))
	f := newFleet(t, []string{first.URL, second.URL})
	for i := 0; i < 3; i++ {
		if _, err := f.ssh.Verify(ctx(t), testOTP); err != nil {
			t.Fatalf("Verify %d: %v", i, err)
		}
	}
	if firstRec.count() != 1 || secondRec.count() != 3 {
		t.Errorf("requests: first %d, second %d; want 1 and 3", firstRec.count(), secondRec.count())
	}
	if got := f.vault.URL("/v1/x"); got != second.URL+"/v1/x" {
		t.Errorf("URL = %s", got)
	}
}

func TestEveryAddressIsTriedAndTheLastOneAnswers(t *testing.T) {
	t.Parallel()
	sealed, sealedRec := serveHTTP(t, answer(503, `{"errors":["Vault is sealed"]}`))
	closed := "http://" + closedPort(t)
	last, lastRec := serveHTTP(t, answer(503, `{"errors":["Vault is sealed"]}`))
	f := newFleet(t, []string{closed, sealed.URL, last.URL})
	_, err := f.ssh.Verify(ctx(t), testOTP)
	var ve *agent.VaultError
	if !errors.As(err, &ve) || ve.Status != 503 || !strings.HasPrefix(err.Error(), "verify at "+last.URL+"/v1/ssh/verify: ") {
		t.Fatalf("err = %v", err)
	}
	if sealedRec.count() != 1 || lastRec.count() != 1 {
		t.Errorf("requests: %d, %d", sealedRec.count(), lastRec.count())
	}
	skips := f.skipped()
	if len(skips) != 2 || skips[0].Addr != closed || skips[0].Next != sealed.URL || skips[1].Addr != sealed.URL || skips[1].Next != last.URL {
		t.Fatalf("skips = %v", skips)
	}
}

func TestAtTalksToOneAddressAlone(t *testing.T) {
	t.Parallel()
	first, firstRec := serveHTTP(t, answer(503, `{"errors":["Vault is sealed"]}`))
	second, secondRec := serveHTTP(t, answer(200, `{"data":{"message":"verify-echo-response"}}`))
	f := newFleet(t, []string{first.URL, second.URL})
	if got := f.vault.Addresses(); len(got) != 2 || got[0] != first.URL || got[1] != second.URL {
		t.Fatalf("Addresses = %v", got)
	}
	if err := sshotp.NewClient(f.vault.At(0), "ssh").Echo(ctx(t)); err == nil {
		t.Error("the sealed address alone passed")
	}
	if err := sshotp.NewClient(f.vault.At(1), "ssh").Echo(ctx(t)); err != nil {
		t.Errorf("the healthy address alone: %v", err)
	}
	if firstRec.count() != 1 || secondRec.count() != 1 {
		t.Fatalf("requests: %d, %d", firstRec.count(), secondRec.count())
	}
	if got, want := secondRec.only(t).Host, strings.TrimPrefix(second.URL, "http://"); got != want {
		t.Errorf("At(1) sent Host %s, want %s", got, want)
	}
}
