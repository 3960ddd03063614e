package agent_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

// denies asserts that err is want and that no Verified came with it.
func denies(t *testing.T, v sshotp.Verified, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("Verify error = %v, want %v", err, want)
	}
	if v != (sshotp.Verified{}) {
		t.Errorf("Verify returned %+v together with an error", v)
	}
}

// wantMessage asserts the whole message of a verify error from srv: where
// the helper was talking to, then what went wrong.
func wantMessage(t *testing.T, err error, srv *httptest.Server, detail string) {
	t.Helper()
	want := "verify at " + srv.URL + "/v1/ssh/verify: " + detail
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestVerifyReturnsEmptyBodyOnNoContent(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	v, err := verify(t, hcl(srv.URL))
	denies(t, v, err, agent.ErrEmptyBody)
	wantMessage(t, err, srv, agent.ErrEmptyBody.Error())
}

func TestVerifyReturnsEmptyBodyOnOKWithoutABody(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{"empty": "", "blank": " \r\n\t "} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(200, body))
			v, err := verify(t, hcl(srv.URL))
			denies(t, v, err, agent.ErrEmptyBody)
			wantMessage(t, err, srv, agent.ErrEmptyBody.Error())
		})
	}
}

func TestVerifyReturnsNoDataWhenTheAnswerHasNoDataObject(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"empty object": `{}`,
		"data null":    `{"data":null}`,
		"other keys":   `{"request_id":"x","warnings":["w"],"wrap_info":null}`,
		"JSON null":    `null`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(200, body))
			v, err := verify(t, hcl(srv.URL))
			denies(t, v, err, agent.ErrNoData)
			wantMessage(t, err, srv, agent.ErrNoData.Error())
		})
	}
}

func TestVerifyReturnsMalformedOnBodiesThatAreNotAVerifyAnswer(t *testing.T) {
	t.Parallel()
	// notOne is the detail for a body that is not exactly one JSON value;
	// the others name the field of the wrong type in the operator's terms.
	notOne := agent.ErrMalformed.Error() + ": not one JSON value"
	malformed := agent.ErrMalformed.Error() + ": "
	for name, c := range map[string]struct{ body, detail string }{
		"not JSON":             {`<html>hello</html>`, notOne},
		"cut JSON":             {`{"data":{"username":"ubuntu","ip":"127.0.0.1"`, notOne},
		"array":                {`[{"data":{}}]`, malformed + "the answer is a JSON array where an object belongs"},
		"string":               {`"data"`, malformed + "the answer is a JSON string where an object belongs"},
		"data is a string":     {`{"data":"ubuntu@127.0.0.1"}`, malformed + "data is a JSON string where an object belongs"},
		"data is an array":     {`{"data":["ubuntu","127.0.0.1","r"]}`, malformed + "data is a JSON array where an object belongs"},
		"username a number":    {`{"data":{"username":1000,"ip":"127.0.0.1","role_name":"r"}}`, malformed + "data.username is a JSON number where a string belongs"},
		"ip a number":          {`{"data":{"username":"u","ip":2130706433,"role_name":"r"}}`, malformed + "data.ip is a JSON number where a string belongs"},
		"two JSON objects":     {successBody + `{"data":{"username":"root","ip":"127.0.0.1","role_name":"r"}}`, notOne},
		"trailing garbage":     {successBody + ` garbage`, notOne},
		"trailing string":      {successBody + ` "x"`, notOne},
		"byte 0xff after JSON": {successBody + "\xff", notOne},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(200, c.body))
			v, err := verify(t, hcl(srv.URL))
			denies(t, v, err, agent.ErrMalformed)
			if c.detail == notOne {
				wantMessage(t, err, srv, notOne)
			} else if want := "verify at " + srv.URL + "/v1/ssh/verify: " + c.detail; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %v\nwant it to start %s", err, want)
			}
		})
	}
}

func TestVerifyReturnsMalformedWhenDataFieldsAreMissingOrInvalid(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ data, detail string }{
		"no username":       {`{"ip":"127.0.0.1","role_name":"r"}`, `data.username is missing or empty`},
		"empty username":    {`{"username":"","ip":"127.0.0.1","role_name":"r"}`, `data.username is missing or empty`},
		"null username":     {`{"username":null,"ip":"127.0.0.1","role_name":"r"}`, `data.username is missing or empty`},
		"no ip":             {`{"username":"u","role_name":"r"}`, `data.ip is missing`},
		"null ip":           {`{"username":"u","ip":null,"role_name":"r"}`, `data.ip is missing`},
		"empty ip":          {`{"username":"u","ip":"","role_name":"r"}`, `data.ip "" is not an IP address`},
		"ip is a hostname":  {`{"username":"u","ip":"localhost","role_name":"r"}`, `data.ip "localhost" is not an IP address`},
		"ip with a prefix":  {`{"username":"u","ip":"10.0.0.0/8","role_name":"r"}`, `data.ip "10.0.0.0/8" is not an IP address`},
		"ip with a port":    {`{"username":"u","ip":"127.0.0.1:22","role_name":"r"}`, `data.ip "127.0.0.1:22" is not an IP address`},
		"ip with spaces":    {`{"username":"u","ip":" 127.0.0.1","role_name":"r"}`, `data.ip " 127.0.0.1" is not an IP address`},
		"ip octal-looking":  {`{"username":"u","ip":"127.000.000.001","role_name":"r"}`, `data.ip "127.000.000.001" is not an IP address`},
		"ip with a zone":    {`{"username":"u","ip":"fe80::1%eth0","role_name":"r"}`, `data.ip "fe80::1%eth0" is not an IP address`},
		"ip v4 with a zone": {`{"username":"u","ip":"::ffff:127.0.0.1%lo","role_name":"r"}`, `data.ip "::ffff:127.0.0.1%lo" is not an IP address`},
		"no role_name":      {`{"username":"u","ip":"127.0.0.1"}`, `data.role_name is missing`},
		"null role_name":    {`{"username":"u","ip":"127.0.0.1","role_name":null}`, `data.role_name is missing`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(200, `{"data":`+c.data+`}`))
			v, err := verify(t, hcl(srv.URL))
			denies(t, v, err, agent.ErrMalformed)
			wantMessage(t, err, srv, agent.ErrMalformed.Error()+": "+c.detail)
		})
	}
}

// hijack sends raw bytes as the whole answer, then closes the connection.
func hijack(raw string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		buf.WriteString(raw)
		buf.Flush()
	}
}

func TestVerifyReturnsMalformedWhenTheBodyIsCutShort(t *testing.T) {
	t.Parallel()
	part := `{"data":{"username":"ubuntu","ip":"127.0.0.1",`
	srv, _ := serveHTTP(t, hijack(fmt.Sprintf(
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(successBody), part)))
	v, err := verify(t, hcl(srv.URL))
	denies(t, v, err, agent.ErrMalformed)
	wantMessage(t, err, srv, agent.ErrMalformed.Error()+": the answer was cut short")
}

func TestVerifyReturnsMalformedWhenACompleteAnswerIsCutShortOfItsLength(t *testing.T) {
	t.Parallel()
	// The JSON is whole, but the connection ends before Content-Length bytes:
	// an answer that did not arrive whole is not trusted.
	srv, _ := serveHTTP(t, hijack(fmt.Sprintf(
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(successBody)+100, successBody)))
	v, err := verify(t, hcl(srv.URL))
	denies(t, v, err, agent.ErrMalformed)
	wantMessage(t, err, srv, agent.ErrMalformed.Error()+": the answer was cut short")
}

func TestVerifyReturnsMalformedWhenAChunkedBodyEndsEarly(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, hijack(fmt.Sprintf(
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n",
		len(successBody), successBody)))
	v, err := verify(t, hcl(srv.URL))
	denies(t, v, err, agent.ErrMalformed)
	wantMessage(t, err, srv, agent.ErrMalformed.Error()+": the answer was cut short")
}

// padded returns a valid verify answer of exactly size bytes.
func padded(t *testing.T, size int) string {
	t.Helper()
	head := `{"data":{"username":"ubuntu","ip":"127.0.0.1","role_name":"r","pad":"`
	tail := `"}}`
	n := size - len(head) - len(tail)
	if n < 0 {
		t.Fatalf("size %d too small", size)
	}
	return head + strings.Repeat("p", n) + tail
}

func TestVerifyAcceptsAnAnswerOfExactlyTheSizeLimit(t *testing.T) {
	t.Parallel()
	body := padded(t, agent.MaxBodySizeForTest)
	srv, _ := serveHTTP(t, answer(200, body))
	v, err := verify(t, hcl(srv.URL))
	if err != nil {
		t.Fatalf("Verify of a %d-byte answer: %v", len(body), err)
	}
	if v.Username != "ubuntu" {
		t.Errorf("Verify = %+v", v)
	}
}

func TestVerifyReturnsMalformedOnAnAnswerOverSixtyFourKiB(t *testing.T) {
	t.Parallel()
	for name, size := range map[string]int{"one byte over": agent.MaxBodySizeForTest + 1, "1 MiB": 1 << 20} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(200, padded(t, size)))
			v, err := verify(t, hcl(srv.URL))
			denies(t, v, err, agent.ErrMalformed)
			if !errors.Is(err, agent.ErrBodyTooLargeForTest) {
				t.Errorf("error %v should say the answer is too large", err)
			}
			wantMessage(t, err, srv, agent.ErrMalformed.Error()+": answer larger than 65536 bytes")
		})
	}
}

func TestVerifyReturnsMalformedOnAnUnboundedChunkedAnswer(t *testing.T) {
	t.Parallel()
	// A server streaming forever: the agent must stop at the limit, not
	// wait for the budget or eat memory.
	srv, _ := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		bw := bufio.NewWriter(w)
		bw.WriteString(`{"data":{"pad":"`)
		chunk := strings.Repeat("z", 4096)
		for i := 0; i < 1024 && r.Context().Err() == nil; i++ { // at most 4 MiB
			if _, err := bw.WriteString(chunk); err != nil {
				return
			}
		}
		bw.Flush()
	})
	v, err := verify(t, hcl(srv.URL))
	denies(t, v, err, agent.ErrMalformed)
	wantMessage(t, err, srv, agent.ErrMalformed.Error()+": answer larger than 65536 bytes")
}
