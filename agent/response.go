package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mitchellh/mapstructure"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// The outcomes every mode's callers tell apart with errors.Is. Every one of
// them denies.
var (
	// ErrEmptyBody: Vault answered without a body (the original panics here).
	ErrEmptyBody = errors.New("Vault's answer has no body")
	// ErrNoData: the body lacks the object the mode reads, "data" (the
	// original panics here too) or "auth". Each reads "Vault's answer has
	// no <object>".
	ErrNoData error = missingObject("data")
	// ErrMalformed: the body is not the JSON the answer is made of.
	ErrMalformed = errors.New("Vault's answer is malformed")
	// ErrTimeout: the time budget ran out before Vault answered.
	ErrTimeout = errors.New("timed out")
	// ErrUnreachable: no connection to Vault could be made.
	ErrUnreachable = errors.New("cannot connect to Vault")
)

// What is wrong with a malformed answer, each wrapped after ErrMalformed
// and the place in the answer it names, so tests ask errors.Is instead of
// spelling the words again.
var (
	errNotOneValue = errors.New("not one JSON value")
	errNotObject   = errors.New("where an object belongs")
	errTwice       = errors.New("appears more than once (keys differing only in letter case count as one)")
	errOtherCase   = errors.New("is written in another letter case")
)

// missingObject names the top-level object an answer lacks; every one is
// ErrNoData to errors.Is.
type missingObject string

func (m missingObject) Error() string        { return "Vault's answer has no " + string(m) }
func (m missingObject) Is(target error) bool { return target == ErrNoData }

// VaultError is any non-2xx answer, with Vault's own messages. Each mode
// reads the answers it expects (an unknown OTP, a used code) out of it.
type VaultError struct {
	Status int
	// Messages are Vault's words as they came; Error quotes them without
	// the request's secrets and cut to length.
	Messages []string
	secrets  []Secret
}

func (e *VaultError) Error() string {
	if len(e.Messages) == 0 {
		return fmt.Sprintf("Vault answered %d", e.Status)
	}
	return fmt.Sprintf("Vault answered %d: %s", e.Status, quote.Outside(strings.Join(e.Messages, "; "), e.secrets...))
}

// Says reports whether Vault answered status with message among its
// messages, word for word.
func (e *VaultError) Says(status int, message string) bool {
	if e.Status != status {
		return false
	}
	for _, m := range e.Messages {
		if m == message {
			return true
		}
	}
	return false
}

// DecodeData reads the "data" object of a 2xx answer into data, a pointer
// to a struct, as DecodeObject does.
func DecodeData(body []byte, data any) error { return DecodeObject(body, "data", data) }

// DecodeObject reads the top-level object name ("data", "auth") of a 2xx
// answer into dst, a pointer to a struct whose fields carry json tags. It
// gives Vault's answer one meaning: a key must be written exactly as the
// tag (Vault writes lower case), and a key that appears twice, or also in
// another letter case, is refused in every object it reads (encoding/json
// alone would take the last one in any case: {"username":"bob",
// "Username":"alice"} would mean alice). Keys it does not read are left
// alone. Fields are read by their kind (a type's own UnmarshalJSON is not
// called), and a number read into an interface stays a json.Number. Its
// errors are ErrEmptyBody, ErrNoData or ErrMalformed, and never quote the
// body.
func DecodeObject(body []byte, name string, dst any) error {
	target := reflect.ValueOf(dst)
	if target.Kind() != reflect.Pointer || target.IsNil() || target.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode %s: want a pointer to a struct, have %T", name, dst)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return ErrEmptyBody
	}
	if !json.Valid(body) {
		return fmt.Errorf("%w: %w", ErrMalformed, errNotOneValue)
	}
	if jsonKind(body) == "null" {
		return missingObject(name)
	}
	value, err := topMember(body, name)
	if err != nil {
		return err
	}
	if value == nil || jsonKind(value) == "null" {
		return missingObject(name)
	}
	return decodeInto(value, dst, name)
}

// topMember is the value of the answer's top-level key name, read with
// pick's rules; nil when absent. body is valid JSON.
func topMember(body []byte, name string) (json.RawMessage, error) {
	members, err := membersOf(body, "the answer")
	if err != nil {
		return nil, err
	}
	return pick(members, name, name)
}

// decodeInto decodes the JSON object raw into dst, a pointer to a struct:
// readable reads what dst's fields read out of the bytes, strictly, and
// mapstructure fills dst from that, matching names exactly. path names raw
// for the operator.
func decodeInto(raw json.RawMessage, dst any, path string) error {
	data, err := readable(raw, reflect.TypeOf(dst), path)
	if err != nil {
		return err
	}
	decoder, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName: "json",
		// mapstructure's default matches names in any case.
		MatchName: func(key, field string) bool { return key == field },
		// Keys we do not read are left alone: Vault adds keys over versions.
		ErrorUnused: false,
		Result:      dst,
	})
	if err == nil {
		err = decoder.Decode(data)
	}
	if err != nil {
		// readable let nothing through that the field cannot hold, so this
		// is a type it was not written for (a map with int keys, say);
		// mapstructure's words would quote the value.
		return fmt.Errorf("%w: cannot decode %s", ErrMalformed, path)
	}
	return nil
}

// readable is the valid JSON raw as mapstructure is to read it into t, or
// the reason it is not what t holds, in the operator's terms. For a struct,
// it is a map of the keys t's fields read, each picked with pick's rules,
// field by field and depth first; keys t does not read are left unread.
// Numbers stay their text (json.Number): mapstructure converts them.
func readable(raw json.RawMessage, t reflect.Type, path string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw = bytes.TrimSpace(raw)
	kind := jsonKind(raw)
	if kind == "null" {
		return nil, nil
	}
	if !fits(kind, raw, t) {
		if t.Kind() == reflect.Struct {
			return nil, fmt.Errorf("%w: %s is a JSON %s %w", ErrMalformed, path, kind, errNotObject)
		}
		return nil, fmt.Errorf("%w: %s is a JSON %s where %s belongs", ErrMalformed, path, kind, article(t))
	}
	switch t.Kind() {
	case reflect.Struct:
		return readFields(raw, t, path)
	case reflect.Map:
		// Every value is read, each key as written, the last of a key twice,
		// as encoding/json reads a map.
		members, err := membersOf(raw, path)
		out := make(map[string]any, len(members))
		for _, m := range members {
			if err == nil {
				out[m.key], err = readable(m.value, t.Elem(), path)
			}
		}
		return out, err
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%w: %s cannot be read", ErrMalformed, path)
		}
		out := make([]any, len(items))
		for i, item := range items {
			var err error
			if out[i], err = readable(item, t.Elem(), path); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	switch kind {
	case "number":
		return json.Number(raw), nil
	case "bool":
		return raw[0] == 't', nil
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: %s cannot be read", ErrMalformed, path)
		}
		return s, nil
	}
	// An object or an array for an interface.
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %s cannot be read", ErrMalformed, path)
	}
	return v, nil
}

// readFields is the map of the keys the struct t reads out of the object raw.
func readFields(raw json.RawMessage, t reflect.Type, path string) (map[string]any, error) {
	members, err := membersOf(raw, path)
	if err != nil {
		return nil, err
	}
	picked := make(map[string]any, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name := jsonName(t.Field(i))
		if !t.Field(i).IsExported() || name == "-" {
			continue
		}
		value, err := pick(members, name, path+"."+name)
		if err == nil && value != nil {
			picked[name], err = readable(value, t.Field(i).Type, path+"."+name)
		}
		if err != nil {
			return nil, err
		}
	}
	return picked, nil
}

// fits is true when a JSON value of kind has a place in t: a number only
// when t's kind holds it, as encoding/json would decide.
func fits(kind string, raw json.RawMessage, t reflect.Type) bool {
	var err error
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.String:
		return kind == "string"
	case reflect.Bool:
		return kind == "bool"
	case reflect.Struct, reflect.Map:
		return kind == "object"
	case reflect.Slice, reflect.Array:
		return kind == "array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(string(raw), 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, err = strconv.ParseUint(string(raw), 10, t.Bits())
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(string(raw), t.Bits())
	default:
		return false
	}
	return kind == "number" && err == nil
}

// article names what t holds for the operator: "a string", "an array".
func article(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a " + t.Kind().String()
}

// member is one key and its value, in the order the object has them.
type member struct {
	key   string
	value json.RawMessage
}

// membersOf lists the members of the JSON object raw, duplicates included,
// which a map would lose; where names it for the error when raw is not an
// object. raw is valid JSON (every caller asks json.Valid first), so a
// value ends at the first ',' or closing bracket outside strings and
// brackets; the bounds are checked all the same. It walks the bytes itself:
// with encoding/json's Decoder.Token, reading a verify answer cost ten
// times as much (BenchmarkDecodeVerifyAnswer: about 100 µs against 10).
func membersOf(raw json.RawMessage, where string) ([]member, error) {
	if kind := jsonKind(raw); kind != "object" {
		return nil, fmt.Errorf("%w: %s is a JSON %s %w", ErrMalformed, where, kind, errNotObject)
	}
	var out []member
	i := skipSpace(raw, bytes.IndexByte(raw, '{')+1)
	for i < len(raw) && raw[i] == '"' {
		end := endOfString(raw, i)
		key, ok := keyOf(raw[i:end])
		colon := skipSpace(raw, end)
		if !ok || colon >= len(raw) || raw[colon] != ':' {
			return nil, fmt.Errorf("%w: %s cannot be read", ErrMalformed, where)
		}
		start := skipSpace(raw, colon+1)
		i = endOfValue(raw, start)
		out = append(out, member{key: key, value: bytes.TrimRight(raw[start:i], " \t\r\n")})
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return out, nil
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == '\n') {
		i++
	}
	return i
}

// endOfString is the index after the string that opens at i.
func endOfString(raw []byte, i int) int {
	for i++; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(raw)
}

// endOfValue is the index of the ',', '}' or ']' that ends the value at i.
func endOfValue(raw []byte, i int) int {
	depth := 0
	for ; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			i = endOfString(raw, i) - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// keyOf reads the quoted key as encoding/json would: plain ASCII as it is,
// anything with an escape or another byte through encoding/json itself.
func keyOf(quoted []byte) (string, bool) {
	if len(quoted) < 2 {
		return "", false
	}
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var key string
	return key, json.Unmarshal(quoted, &key) == nil
}

// pick returns the value of the key written exactly name, nil when absent.
// A key equal to name in another letter case, alone or beside it, or name
// twice, is refused: Vault writes each key once, in lower case. path names
// the key for the operator.
func pick(members []member, name, path string) (json.RawMessage, error) {
	var value json.RawMessage
	seen, exact := 0, false
	for _, m := range members {
		if !strings.EqualFold(m.key, name) {
			continue
		}
		seen++
		if m.key == name {
			value, exact = m.value, true
		}
	}
	switch {
	case seen > 1:
		return nil, fmt.Errorf("%w: %s %w", ErrMalformed, path, errTwice)
	case seen == 1 && !exact:
		return nil, fmt.Errorf("%w: %s %w", ErrMalformed, path, errOtherCase)
	}
	return value, nil
}

// jsonName is the key a struct field reads, as mapstructure with TagName
// "json" reads it: the tag's name, else the field's own name.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// jsonKind names the kind of the valid JSON value raw by its first byte.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// decodeError turns a non-2xx body into a VaultError: Vault's "errors" read
// as DecodeObject reads keys, or else the whole body (up to the size bound)
// as one message. Nothing is cut here: the VaultError removes secrets
// before it cuts, when it is printed.
func decodeError(status int, body []byte, secrets []Secret) *VaultError {
	e := &VaultError{Status: status, Messages: []string{}, secrets: secrets}
	if messages, ok := vaultMessages(body); ok {
		e.Messages = messages
	} else if s := strings.TrimSpace(string(body)); s != "" {
		e.Messages = []string{s}
	}
	return e
}

// vaultMessages reads {"errors": [...]} with DecodeObject's rules for the
// key; ok is false for any body that is not such an object.
func vaultMessages(body []byte) (messages []string, ok bool) {
	if !json.Valid(body) {
		return nil, false
	}
	value, err := topMember(body, "errors")
	if err != nil {
		return nil, false
	}
	if value == nil {
		return nil, true
	}
	if err := json.Unmarshal(value, &messages); err != nil {
		return nil, false
	}
	return messages, true
}
