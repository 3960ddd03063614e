package agent_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

func TestEchoSucceedsOnVerifyEchoResponse(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, answer(200, `{"request_id":"x","data":{"message":"verify-echo-response"}}`))
	if err := newClient(t, hcl(srv.URL, `ssh_mount_point = "ssh-otp"`)).Echo(ctx(t)); err != nil {
		t.Fatalf("Echo: %v", err)
	}
	req := rec.only(t)
	if req.Method != "PUT" || req.Path != "/v1/ssh-otp/verify" {
		t.Errorf("request = %s %s, want PUT /v1/ssh-otp/verify", req.Method, req.Path)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil || len(body) != 1 || body["otp"] != "verify-echo-request" {
		t.Errorf("request body = %s, want {\"otp\":\"verify-echo-request\"}", req.Body)
	}
	if req.Header.Get("X-Vault-Request") != "true" || req.Header.Get("X-Vault-Token") != "" {
		t.Errorf("headers = %v", req.Header)
	}
}

func TestEchoReturnsBadEchoOnAnyOtherMessage(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"other message":     `{"data":{"message":"verify-echo-request"}}`,
		"case differs":      `{"data":{"message":"Verify-Echo-Response"}}`,
		"padded":            `{"data":{"message":" verify-echo-response"}}`,
		"empty message":     `{"data":{"message":""}}`,
		"null message":      `{"data":{"message":null}}`,
		"no message":        `{"data":{}}`,
		"a verify answer":   successBody,
		"message elsewhere": `{"message":"verify-echo-response","data":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(200, body))
			err := newClient(t, hcl(srv.URL)).Echo(ctx(t))
			if !errors.Is(err, sshotp.ErrBadEcho) {
				t.Fatalf("Echo error = %v, want ErrBadEcho", err)
			}
			if want := "verify-only at " + srv.URL + "/v1/ssh/verify: Vault did not echo verify-echo-response"; err.Error() != want {
				t.Errorf("Echo error = %q\nwant         %q", err, want)
			}
		})
	}
}

func TestEchoReturnsVaultErrorOnPermissionDenied(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(403, `{"errors":["permission denied"]}`))
	err := newClient(t, hcl(srv.URL)).Echo(ctx(t))
	if ve := vaultError(t, err); ve.Status != 403 {
		t.Errorf("Status = %d, want 403", ve.Status)
	}
}

func TestEchoReportsBodyProblemsLikeVerify(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		body   string
		want   error
		detail string
	}{
		"empty":     {"", agent.ErrEmptyBody, agent.ErrEmptyBody.Error()},
		"no data":   {`{"data":null}`, agent.ErrNoData, agent.ErrNoData.Error()},
		"malformed": {`{"data":`, agent.ErrMalformed, agent.ErrMalformed.Error() + ": not one JSON value"},
		"trailing":  {`{"data":{"message":"verify-echo-response"}} x`, agent.ErrMalformed, agent.ErrMalformed.Error() + ": not one JSON value"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(200, c.body))
			err := newClient(t, hcl(srv.URL)).Echo(ctx(t))
			if !errors.Is(err, c.want) {
				t.Fatalf("Echo error = %v, want %v", err, c.want)
			}
			if want := "verify-only at " + srv.URL + "/v1/ssh/verify: " + c.detail; err.Error() != want {
				t.Errorf("Echo error = %q\nwant         %q", err, want)
			}
		})
	}
}

func TestEchoReturnsTimeoutWhenVaultNeverAnswers(t *testing.T) {
	t.Parallel()
	srv, _ := serveHanging(t, nil)
	if err := newClient(t, hcl(srv.URL)).Echo(shortCtx(t)); !errors.Is(err, agent.ErrTimeout) {
		t.Fatalf("Echo error = %v, want ErrTimeout", err)
	}
}
