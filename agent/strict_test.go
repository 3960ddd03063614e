package agent_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

// The details' words are pinned in TestDecodeAuthRefusals; here they are
// built from the sentinels.
var (
	twice     = " " + agent.ErrTwiceForTest.Error()
	otherCase = " " + agent.ErrOtherCaseForTest.Error()
)

// One meaning for Vault's answer: encoding/json alone matches keys in any
// case and keeps the last, so {"username":"bob","Username":"alice"} would
// let alice in. Keys must be written as Vault writes them, once.
func TestVerifyRefusesAnAnswerWhoseKeysDifferOnlyInCaseOrRepeat(t *testing.T) {
	t.Parallel()
	const rest = `"ip":"127.0.0.1","role_name":"r"`
	for name, c := range map[string]struct{ body, detail string }{
		"username, then Username":          {`{"data":{"username":"bob","Username":"alice",` + rest + `}}`, "data.username" + twice},
		"Username, then username":          {`{"data":{"Username":"alice","username":"bob",` + rest + `}}`, "data.username" + twice},
		"username twice":                   {`{"data":{"username":"bob","username":"alice",` + rest + `}}`, "data.username" + twice},
		"only Username":                    {`{"data":{"Username":"alice",` + rest + `}}`, "data.username" + otherCase},
		"USERNAME":                         {`{"data":{"USERNAME":"alice",` + rest + `}}`, "data.username" + otherCase},
		"Username escaped":                 {`{"data":{"\u0055sername":"alice",` + rest + `}}`, "data.username" + otherCase},
		"long s folds to s":                {`{"data":{"uſername":"alice",` + rest + `}}`, "data.username" + otherCase},
		"long s beside username":           {`{"data":{"username":"bob","uſername":"alice",` + rest + `}}`, "data.username" + twice},
		"ip twice":                         {`{"data":{"username":"u","ip":"10.9.9.9","ip":"127.0.0.1","role_name":"r"}}`, "data.ip" + twice},
		"IP":                               {`{"data":{"username":"u","IP":"127.0.0.1","role_name":"r"}}`, "data.ip" + otherCase},
		"role_name and Role_Name":          {`{"data":{"username":"u","ip":"127.0.0.1","role_name":"r","Role_Name":"admin"}}`, "data.role_name" + twice},
		"data, then Data":                  {`{"data":{"username":"u",` + rest + `},"Data":{"username":"root",` + rest + `}}`, "data" + twice},
		"data twice":                       {`{"data":{"username":"u",` + rest + `},"data":{"username":"root",` + rest + `}}`, "data" + twice},
		"only Data":                        {`{"Data":{"username":"u",` + rest + `}}`, "data" + otherCase},
		"message in another case (unread)": {`{"data":{"username":"u",` + rest + `,"message":"a","MESSAGE":"b"}}`, "data.message" + twice},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(200, c.body))
			v, err := verify(t, hcl(srv.URL))
			denies(t, v, err, agent.ErrMalformed)
			wantMessage(t, err, srv, agent.ErrMalformed.Error()+": "+c.detail)
		})
	}
}

func TestVerifyLeavesKeysItDoesNotReadAlone(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(200, `{"Request_ID":"a","request_id":"b","data":{"username":"ubuntu","ip":"127.0.0.1","role_name":"r","pad":1,"pad":2,"Pad":3}}`))
	v, err := verify(t, hcl(srv.URL))
	if err != nil || v.Username != "ubuntu" {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
}

// Vault's errors are read with the same rules: a second "Errors" cannot
// turn an answer into "OTP not found" (or hide it).
func TestVerifyReadsVaultsErrorsOnlyUnderTheExactKey(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"Errors beside errors": `{"errors":["permission denied"],"Errors":["OTP not found"]}`,
		"errors twice":         `{"errors":["permission denied"],"errors":["OTP not found"]}`,
		"only Errors":          `{"Errors":["OTP not found"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serveHTTP(t, answer(400, body))
			_, err := verify(t, hcl(srv.URL))
			if errors.Is(err, sshotp.ErrOTPNotFound) {
				t.Fatalf("%s read as OTP not found", body)
			}
			if ve := vaultError(t, err); len(ve.Messages) != 1 || ve.Messages[0] != body {
				t.Errorf("Messages = %q, want the body whole", ve.Messages)
			}
		})
	}
}

// An AppRole login's answer: the same rules for "auth", and nested objects
// the mode reads.
type loginAuth struct {
	ClientToken *string `json:"client_token"`
	Metadata    *struct {
		RoleName string `json:"role_name"`
	} `json:"metadata"`
}

func TestDecodeObjectReadsAuthWithTheSameRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       error
		msg        string
	}{
		{"no auth", `{"data":{}}`, agent.ErrNoData, agent.ErrNoAuth.Error()},
		{"auth null", `{"auth":null}`, agent.ErrNoData, agent.ErrNoAuth.Error()},
		{"client_token twice", `{"auth":{"client_token":"a","Client_Token":"b"}}`, agent.ErrMalformed, agent.ErrMalformed.Error() + ": auth.client_token" + twice},
		{"Auth beside auth", `{"auth":{"client_token":"a"},"Auth":{"client_token":"b"}}`, agent.ErrMalformed, agent.ErrMalformed.Error() + ": auth" + twice},
		{"nested key twice", `{"auth":{"client_token":"a","metadata":{"role_name":"x","ROLE_NAME":"y"}}}`, agent.ErrMalformed, agent.ErrMalformed.Error() + ": auth.metadata.role_name" + twice},
		{"nested not an object", `{"auth":{"client_token":"a","metadata":"x"}}`, agent.ErrMalformed, agent.ErrMalformed.Error() + ": auth.metadata is a JSON string " + agent.ErrNotObjectForTest.Error()},
		{"token a number", `{"auth":{"client_token":12345678901234567890}}`, agent.ErrMalformed, agent.ErrMalformed.Error() + ": auth.client_token is a JSON number where a string belongs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var auth loginAuth
			err := agent.DecodeObject([]byte(c.body), "auth", &auth)
			if !errors.Is(err, c.want) || err.Error() != c.msg {
				t.Errorf("DecodeObject = %v\nwant           %s", err, c.msg)
			}
		})
	}
	var auth loginAuth
	if err := agent.DecodeObject([]byte(`{"auth":{"client_token":"hvs.x","metadata":{"role_name":"r"},"policies":["a"]}}`), "auth", &auth); err != nil ||
		auth.ClientToken == nil || *auth.ClientToken != "hvs.x" || auth.Metadata == nil || auth.Metadata.RoleName != "r" {
		t.Errorf("DecodeObject = %v, %+v", err, auth)
	}
}

func TestDecodeObjectRefusesADestinationThatIsNotAPointerToAStruct(t *testing.T) {
	t.Parallel()
	var m map[string]any
	for _, dst := range []any{nil, m, &m, loginAuth{}, (*loginAuth)(nil)} {
		if err := agent.DecodeObject([]byte(`{"auth":{}}`), "auth", dst); err == nil {
			t.Errorf("DecodeObject into %T succeeded", dst)
		}
	}
}

// A number keeps its text where the struct takes anything, and one no Go
// number holds is left alone under a key the struct does not read.
func TestDecodeObjectKeepsNumbersAsTheirText(t *testing.T) {
	t.Parallel()
	var d struct {
		Any any `json:"any"`
	}
	if err := agent.DecodeData([]byte(`{"data":{"any":12345678901234567890,"unread":1e400}}`), &d); err != nil || d.Any != json.Number("12345678901234567890") {
		t.Fatalf("DecodeData = %v, %#v", err, d.Any)
	}
}
