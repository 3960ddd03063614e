package agent_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// Get sends a GET without a body; Put sends a nested JSON body as
// given; both return a 2xx body and turn any other answer into a
// *VaultError, as Put does.
func TestGetAndPutANestedBody(t *testing.T) {
	srv, rec := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[]}`))
			return
		}
		w.Write([]byte(`{"data":{"version":1}}`))
	})
	cfg, err := config.Parse([]byte(hcl(srv.URL)), config.Options{Modes: sshOTP, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctx(t), "/v1/kv/data/p/alice")
	var ve *agent.VaultError
	if !errors.As(err, &ve) || ve.Status != http.StatusNotFound || len(ve.Messages) != 0 {
		t.Fatalf("Get = %v, want a 404 VaultError without messages", err)
	}
	body, err := c.Put(ctx(t), "/v1/kv/data/p/alice", map[string]any{"options": map[string]int{"cas": 0}, "data": map[string][]string{"used": {"1 x"}}})
	if err != nil || string(body) != `{"data":{"version":1}}` {
		t.Fatalf("Put = %q, %v", body, err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 || reqs[0].Method != http.MethodGet || len(reqs[0].Body) != 0 ||
		reqs[1].Method != http.MethodPut || string(reqs[1].Body) != `{"data":{"used":["1 x"]},"options":{"cas":0}}` {
		t.Errorf("requests = %+v", reqs)
	}
}
