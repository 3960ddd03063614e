package agent_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// agentFor is the shared client for a fake Vault at addr.
func agentFor(t *testing.T, addr string) *agent.Client {
	t.Helper()
	cfg, err := config.Parse([]byte(hcl(addr)), config.Options{Modes: sshOTP, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The request_id of an answer is kept for the log lines only when it is
// Vault's, written once in lower case and shaped like an id; the answer is
// taken or refused as before either way. The real Vault's ids are checked
// against its audit log in e2e/logins.
func TestRequestIDOfAnAnswerIsKeptOnlyWhenItIsShapedLikeOne(t *testing.T) {
	const data = `"data":{"username":"ubuntu","ip":"127.0.0.1","role_name":"r"}`
	cases := []struct {
		name, body string
		status     int
		want       []string
	}{
		{"Vault's answer", `{"request_id":"8c2b5f0e-3c1a-6f7e-2a9d-1b4c5d6e7f80",` + data + `}`, 200, []string{"8c2b5f0e-3c1a-6f7e-2a9d-1b4c5d6e7f80"}},
		{"no request_id", `{` + data + `}`, 200, nil},
		{"empty", `{"request_id":"",` + data + `}`, 200, nil},
		{"not a string", `{"request_id":7,` + data + `}`, 200, nil},
		{"with a space", `{"request_id":"a b",` + data + `}`, 200, nil},
		{"with a newline", `{"request_id":"a\nb",` + data + `}`, 200, nil},
		{"too long", `{"request_id":"` + "a123456789012345678901234567890123456789012345678901234567890123456789" + `",` + data + `}`, 200, nil},
		{"twice", `{"request_id":"a","request_id":"b",` + data + `}`, 200, nil},
		{"in another case", `{"Request_ID":"a",` + data + `}`, 200, nil},
		{"error answer", `{"errors":["OTP not found"],"request_id":"x"}`, 400, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := serveHTTP(t, answer(c.status, c.body))
			client := agentFor(t, srv.URL)
			_, _ = client.Put(ctx(t), "/v1/ssh/verify", map[string]string{"otp": testOTP})
			if got := client.RequestIDs(); !slices.Equal(got, c.want) {
				t.Errorf("RequestIDs() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestRequestIDsListEveryAnswerInOrder(t *testing.T) {
	n := 0
	srv, _ := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		answer(200, `{"request_id":"id-`+string(rune('0'+n))+`","data":{}}`)(w, r)
	})
	client := agentFor(t, srv.URL)
	for i := 0; i < 2; i++ {
		if _, err := client.Put(ctx(t), "/v1/x", map[string]string{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := client.RequestIDs(); !slices.Equal(got, []string{"id-1", "id-2"}) {
		t.Errorf("RequestIDs() = %q", got)
	}
}
