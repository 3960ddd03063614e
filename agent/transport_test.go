package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

// serveHanging starts a fake Vault whose handler runs first (it may be
// nil), then never answers until the client goes away or the test ends. The
// release is registered after the server, so it runs before the server's
// Close, which waits for running handlers.
func serveHanging(t *testing.T, first http.HandlerFunc) (*httptest.Server, *recorder) {
	t.Helper()
	release := make(chan struct{})
	srv, rec := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if first != nil {
			first(w, r)
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	return srv, rec
}

// shortCtx is the caller's budget for the tests that wait it out.
func shortCtx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	t.Cleanup(cancel)
	return c
}

func TestVerifyReturnsTimeoutWhenVaultNeverAnswers(t *testing.T) {
	t.Parallel()
	srv, rec := serveHanging(t, nil)
	v, err := newClient(t, hcl(srv.URL)).Verify(shortCtx(t), testOTP)
	denies(t, v, err, agent.ErrTimeout)
	if rec.count() != 1 {
		t.Errorf("Vault received %d requests, want 1", rec.count())
	}
}

func TestVerifyReturnsTimeoutWhenVaultStallsInTheMiddleOfTheBody(t *testing.T) {
	t.Parallel()
	srv, _ := serveHanging(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(successBody)))
		w.WriteHeader(200)
		w.Write([]byte(successBody[:20]))
		http.NewResponseController(w).Flush()
	})
	v, err := newClient(t, hcl(srv.URL)).Verify(shortCtx(t), testOTP)
	denies(t, v, err, agent.ErrTimeout)
}

func TestVerifyReturnsTimeoutWhenTheTLSHandshakeNeverCompletes(t *testing.T) {
	t.Parallel()
	// A TCP listener that accepts and then says nothing: the handshake has
	// no timeout of its own, the caller's deadline must end it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	c := newClient(t, hcl("https://"+ln.Addr().String(), `tls_skip_verify = true`))
	v, err := c.Verify(shortCtx(t), testOTP)
	denies(t, v, err, agent.ErrTimeout)
}

func TestVerifyReturnsTimeoutWhenTheBudgetIsAlreadySpent(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, answer(200, successBody))
	c, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	v, err := newClient(t, hcl(srv.URL)).Verify(c, testOTP)
	denies(t, v, err, agent.ErrTimeout)
	if rec.count() != 0 {
		t.Errorf("Vault received %d requests after the budget was spent", rec.count())
	}
}

func TestVerifyReportsACancelledContextAsCancelledNotTimedOut(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, answer(200, successBody))
	c, cancel := context.WithCancel(context.Background())
	cancel()
	v, err := newClient(t, hcl(srv.URL)).Verify(c, testOTP)
	if err == nil || errors.Is(err, agent.ErrTimeout) || !strings.Contains(err.Error(), "request cancelled") || v != (sshotp.Verified{}) {
		t.Errorf("Verify = %+v, %v", v, err)
	}
	if rec.count() != 0 {
		t.Errorf("Vault received %d requests after cancel", rec.count())
	}
}

// closedPort returns an address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestVerifyReturnsUnreachableOnAClosedPort(t *testing.T) {
	t.Parallel()
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, hcl(scheme+"://"+closedPort(t), `tls_skip_verify = true`))
			// A generous deadline: a refused connect must be reported as
			// such, not waited out into a timeout.
			v, err := c.Verify(ctx(t), testOTP)
			denies(t, v, err, agent.ErrUnreachable)
			if errors.Is(err, agent.ErrTimeout) {
				t.Errorf("a refused connection read as a timeout: %v", err)
			}
		})
	}
}

func TestEchoReturnsUnreachableOnAClosedPort(t *testing.T) {
	t.Parallel()
	err := newClient(t, hcl("http://"+closedPort(t))).Echo(ctx(t))
	if !errors.Is(err, agent.ErrUnreachable) {
		t.Fatalf("Echo error = %v, want ErrUnreachable", err)
	}
}

func TestVerifySendsTheRequestOnceWhenVaultFails(t *testing.T) {
	t.Parallel()
	// vault/api's default policy retries these; a verify must never be sent
	// twice, because Vault may have consumed the OTP before failing.
	for _, status := range []int{500, 502, 503, 504, 429, 412} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			srv, rec := serveHTTP(t, answer(status, `{"errors":["internal error"]}`))
			_, err := verify(t, hcl(srv.URL))
			if ve := vaultError(t, err); ve.Status != status {
				t.Errorf("Status = %d, want %d", ve.Status, status)
			}
			if n := rec.count(); n != 1 {
				t.Errorf("Vault received %d requests, want exactly 1", n)
			}
		})
	}
}

// dropConn reads the request, then ends the connection without an answer;
// with reset it sends a TCP RST instead of a FIN.
func dropConn(reset bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok && reset {
			tc.SetLinger(0)
		}
		conn.Close()
	}
}

func TestVerifySendsTheRequestOnceWhenTheConnectionIsReset(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, dropConn(true))
	v, err := verify(t, hcl(srv.URL))
	if err == nil {
		t.Fatalf("Verify succeeded with %+v on a reset connection", v)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("Vault received %d requests, want exactly 1", n)
	}
}

func TestVerifySendsTheRequestOnceWhenTheConnectionClosesWithoutAnswer(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, dropConn(false))
	v, err := verify(t, hcl(srv.URL))
	if err == nil {
		t.Fatalf("Verify succeeded with %+v on a closed connection", v)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("Vault received %d requests, want exactly 1", n)
	}
}

// redirectTo answers every request with status and a Location on target.
func redirectTo(status int, target string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", target+"/v1/ssh/verify")
		w.WriteHeader(status)
	}
}

func TestVerifyFollowsVaultsTemporaryRedirectOnTheSameScheme(t *testing.T) {
	t.Parallel()
	active, activeRec := serveHTTP(t, answer(200, successBody))
	standby, standbyRec := serveHTTP(t, redirectTo(307, active.URL))
	v, err := verify(t, hcl(standby.URL, `namespace = "ns1"`))
	if err != nil {
		t.Fatalf("Verify through a 307: %v", err)
	}
	if v.Username != "ubuntu" {
		t.Errorf("Verify = %+v", v)
	}
	if n := standbyRec.count(); n != 1 {
		t.Errorf("standby received %d requests, want 1", n)
	}
	req := activeRec.only(t)
	if req.Method != "PUT" || req.Path != "/v1/ssh/verify" {
		t.Errorf("redirected request = %s %s, want PUT /v1/ssh/verify", req.Method, req.Path)
	}
	// The redirected body is pinned by TestRegressionRedirectedVerifyCarriesTheOTP.
	if req.Header.Get("X-Vault-Request") != "true" || req.Header.Get("X-Vault-Namespace") != "ns1" {
		t.Errorf("redirected headers lost: %v", req.Header)
	}
}

func TestVerifyRefusesARedirectVaultNeverSendsBeforeTheOTPMoves(t *testing.T) {
	t.Parallel()
	for _, status := range []int{301, 302} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			login, loginRec := serveHTTP(t, answer(200, successBody))
			proxy, _ := serveHTTP(t, redirectTo(status, login.URL))
			v, err := verify(t, hcl(proxy.URL))
			denies(t, v, err, agent.ErrMalformed)
			if !errors.Is(err, agent.ErrRedirectRefusedForTest) {
				t.Errorf("error %v should say the redirect was refused", err)
			}
			if loginRec.count() != 0 {
				t.Errorf("the %d target received %d requests: the OTP moved on", status, loginRec.count())
			}
		})
	}
}

func TestVerifyFollowsAtMostOneRedirect(t *testing.T) {
	t.Parallel()
	final, finalRec := serveHTTP(t, answer(200, successBody))
	second, secondRec := serveHTTP(t, redirectTo(307, final.URL))
	first, _ := serveHTTP(t, redirectTo(307, second.URL))
	v, err := verify(t, hcl(first.URL))
	denies(t, v, err, agent.ErrSecondRedirectForTest)
	if secondRec.count() != 1 || finalRec.count() != 0 {
		t.Errorf("second got %d, final got %d requests; want 1 and 0", secondRec.count(), finalRec.count())
	}
}

func TestVerifyRefusesARedirectFromHTTPToHTTPS(t *testing.T) {
	t.Parallel()
	target, targetRec := serveTLS(t, answer(200, successBody), nil)
	srv, _ := serveHTTP(t, redirectTo(307, target.URL))
	v, err := verify(t, hcl(srv.URL))
	denies(t, v, err, agent.ErrMalformed)
	if !errors.Is(err, agent.ErrSchemeChangeForTest) {
		t.Errorf("error %v should say the redirect changed scheme", err)
	}
	// How the error reads is pinned by TestEveryRedirectMessageNamesWhatHappenedAndWhere.
	if targetRec.count() != 0 {
		t.Errorf("https target received %d requests", targetRec.count())
	}
}

func TestVerifyRefusesARedirectFromHTTPSToHTTP(t *testing.T) {
	t.Parallel()
	target, targetRec := serveHTTP(t, answer(200, successBody))
	srv, _ := serveTLS(t, redirectTo(307, target.URL), nil)
	v, err := verify(t, hcl(srv.URL, `ca_cert = "`+serverCAFile(t, srv)+`"`))
	if err == nil {
		t.Fatalf("Verify followed https to http: %+v", v)
	}
	// How the error reads is pinned by
	// TestRegressionRedirectFromHTTPSToHTTPIsReportedAsASchemeChange.
	if targetRec.count() != 0 {
		t.Errorf("http target received %d requests", targetRec.count())
	}
}
