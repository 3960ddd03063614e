package agent_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// A run that asks Vault twice (the TOTP mode's AppRole login, then the
// code) sends both requests over one TLS connection: a second handshake
// would cost as much CPU as the rest of the run.
func TestLaterRequestsOfARunReuseTheFirstConnection(t *testing.T) {
	var conns atomic.Int32
	srv, rec := serveTLSCounting(t, answer(http.StatusOK, successBody), &conns)
	cfg, err := config.Parse([]byte(hcl(srv.URL, `ca_cert = "`+serverCAFile(t, srv)+`"`)), config.Options{Modes: sshOTP})
	if err != nil {
		t.Fatal(err)
	}
	c, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/auth/approle/login", "/v1/totp/code/u"} {
		if _, err := c.Put(ctx(t), path, map[string]string{"k": "v"}); err != nil {
			t.Fatalf("Put %s: %v", path, err)
		}
	}
	if n := rec.count(); n != 2 {
		t.Fatalf("fake Vault received %d requests, want 2", n)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("the two requests came over %d connections, want 1", n)
	}
}

// serveTLSCounting is serveTLS that counts the connections it accepts.
func serveTLSCounting(t *testing.T, h http.HandlerFunc, conns *atomic.Int32) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{handler: h}
	srv := httptest.NewUnstartedServer(rec)
	srv.Config.ErrorLog = quietLog
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, rec
}
