package sshotp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// FuzzDecodeVerify feeds any body to the two decoders and holds
// decodeVerify to an oracle that reads the body its own way (meaningOf):
// whenever the oracle finds a verify answer, decodeVerify returns exactly
// it; whenever the oracle finds none, decodeVerify refuses. None may panic;
// every error is one of the outcomes callers tell apart.
func FuzzDecodeVerify(f *testing.F) {
	f.Add([]byte(`{"data":{"username":"ubuntu","ip":"127.0.0.1","role_name":"otp_key_role"}}`))
	f.Add([]byte(`{"errors":["OTP not found"]}`))
	f.Add([]byte(`{"data":{"message":"verify-echo-response"}}`))
	f.Add([]byte(`{"data":{"username":"bob","Username":"alice","ip":"127.0.0.1","role_name":"r"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := decodeVerify(context.Background(), body)
		want, ok := meaningOf(body)
		switch {
		case ok && err != nil:
			t.Fatalf("decodeVerify refused %q (%v); the oracle reads %+v", body, err, want)
		case !ok && err == nil:
			t.Fatalf("decodeVerify accepted %q as %+v; the oracle reads no verify answer", body, v)
		case ok && v != want:
			t.Fatalf("decodeVerify read %q as %+v; the oracle reads %+v", body, v, want)
		case err != nil && v != (Verified{}):
			t.Fatalf("Verified %+v returned with error %v", v, err)
		case err != nil && !isOneOf(err, agent.ErrEmptyBody, agent.ErrNoData, agent.ErrMalformed):
			t.Fatalf("decodeVerify error %v is none of the typed outcomes", err)
		}

		if err := decodeEcho(body); err != nil && !isOneOf(err, ErrBadEcho, agent.ErrEmptyBody, agent.ErrNoData, agent.ErrMalformed) {
			t.Fatalf("decodeEcho error %v is none of the typed outcomes", err)
		}
	})
}

// meaningOf is the oracle: what a verify answer means, read without the
// agent. One JSON object; "data" exactly once and no key equal to it in
// another case; data an object in which username, ip, role_name and
// message each appear at most once and only in lower case, each a string
// or null; username non-empty, ip an IP without a zone, role_name present.
func meaningOf(body []byte) (Verified, bool) {
	if !json.Valid(body) {
		return Verified{}, false
	}
	top, ok := membersByOffsets(body)
	if !ok {
		return Verified{}, false
	}
	data, ok := onlyExact(top, "data")
	if !ok || data == nil {
		return Verified{}, false
	}
	fields, ok := membersByOffsets(data)
	if !ok {
		return Verified{}, false
	}
	values := map[string]*string{}
	for _, name := range []string{"username", "ip", "role_name", "message"} {
		raw, ok := onlyExact(fields, name)
		if !ok {
			return Verified{}, false
		}
		if raw == nil || string(raw) == "null" {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return Verified{}, false
		}
		values[name] = &s
	}
	if values["username"] == nil || *values["username"] == "" || values["ip"] == nil || values["role_name"] == nil {
		return Verified{}, false
	}
	ip, err := netip.ParseAddr(*values["ip"])
	if err != nil || ip.Zone() != "" {
		return Verified{}, false
	}
	return Verified{Username: *values["username"], IP: ip, RoleName: *values["role_name"]}, true
}

// membersByOffsets lists an object's keys and raw values by walking its
// tokens and slicing the input at the decoder's offsets; false when raw is
// not an object.
func membersByOffsets(raw []byte) (map[string][][]byte, bool) {
	raw = bytes.TrimSpace(raw)
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	out := map[string][][]byte{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key := tok.(string)
		start := dec.InputOffset()
		if !skipValue(dec) {
			return nil, false
		}
		value := bytes.TrimLeft(raw[start:dec.InputOffset()], " \t\r\n:")
		out[key] = append(out[key], value)
	}
	return out, true
}

func skipValue(dec *json.Decoder) bool {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return true
		}
	}
}

// onlyExact returns the value of name when it is written exactly so, once,
// and no other key equals it in another case; nil when absent.
func onlyExact(members map[string][][]byte, name string) ([]byte, bool) {
	var value []byte
	for key, values := range members {
		if !strings.EqualFold(key, name) {
			continue
		}
		if key != name || len(values) != 1 || value != nil {
			return nil, false
		}
		value = values[0]
	}
	return value, true
}

func isOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
