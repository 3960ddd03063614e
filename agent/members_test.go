package agent

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// membersByDecoder is what membersOf did before it walked the bytes itself:
// encoding/json's own reading of an object's members, the reference the
// walk must agree with.
func membersByDecoder(raw []byte) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		out = append(out, member{key: key, value: value})
	}
	return out, true
}

func sameMembers(a, b []member) bool {
	return slices.EqualFunc(a, b, func(x, y member) bool { return x.key == y.key && bytes.Equal(x.value, y.value) })
}

// FuzzMembersOf: on every valid JSON object, the walk lists the same keys
// (escapes and invalid UTF-8 read as encoding/json reads them) and the same
// values, in the same order, duplicates included; on anything else it
// refuses or agrees, and never panics.
func FuzzMembersOf(f *testing.F) {
	for _, seed := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2,"A":3}`,
		`{"data":{"username":"u","ip":"127.0.0.1"},"auth":null,"warnings":["x"]}`,
		`{"d\u0061ta":{"k":[1,{"x":"}"}]},"e":"\"}"}`, "{\"\xff\":true}", `{"a" : [ ] , "b":-1.5e3 }`,
		`{"s":"a\\\"b"}`, `[1]`, `"x"`, `{"a":}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // membersOf is only ever given valid JSON
		}
		got, err := membersOf(raw, "x")
		want, ok := membersByDecoder(raw)
		if jsonKind(raw) != "object" {
			if err == nil {
				t.Fatalf("membersOf(%q) took a %s", raw, jsonKind(raw))
			}
			return
		}
		if err != nil || !ok || !sameMembers(got, want) {
			t.Fatalf("membersOf(%q) = %q, %v; encoding/json reads %q", raw, got, err, want)
		}
	})
}
