package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

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
// alone. Its errors are ErrEmptyBody, ErrNoData or ErrMalformed, and never
// quote the body.
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
	if kind := jsonKind(body); kind == "null" {
		return missingObject(name)
	}
	top, err := membersOf(body, "the answer")
	if err != nil {
		return err
	}
	value, err := pick(top, name, name)
	if err != nil {
		return err
	}
	if value == nil || jsonKind(value) == "null" {
		return missingObject(name)
	}
	return decodeStruct(value, target.Elem(), name)
}

// member is one key and its value, in the order the object has them.
type member struct {
	key   string
	value json.RawMessage
}

// membersOf lists the members of the JSON object raw (already valid JSON),
// duplicates included; where names it for the error when raw is not an
// object. It walks the bytes itself: encoding/json's Decoder.Token, which
// would do the same, costs more than the rest of reading an answer.
func membersOf(raw json.RawMessage, where string) ([]member, error) {
	if kind := jsonKind(raw); kind != "object" {
		return nil, fmt.Errorf("%w: %s is a JSON %s %w", ErrMalformed, where, kind, errNotObject)
	}
	w := walker{b: raw}
	w.skipSpace()
	w.i++ // the '{'
	var out []member
	for w.skipSpace(); w.at() != '}'; w.skipSpace() {
		key, ok := w.key()
		w.skipSpace()
		if !ok || w.at() != ':' {
			return nil, fmt.Errorf("%w: %s cannot be read", ErrMalformed, where)
		}
		w.i++
		w.skipSpace()
		start := w.i
		if !w.skipValue() {
			return nil, fmt.Errorf("%w: %s cannot be read", ErrMalformed, where)
		}
		out = append(out, member{key: key, value: raw[start:w.i]})
		w.skipSpace()
		switch w.at() {
		case ',':
			w.i++
		case '}':
		default:
			return nil, fmt.Errorf("%w: %s cannot be read", ErrMalformed, where)
		}
	}
	return out, nil
}

// walker reads valid JSON byte by byte; at is 0 past the end, so a walk
// over bytes that are not valid JSON after all stops instead of panicking.
type walker struct {
	b []byte
	i int
}

func (w *walker) at() byte {
	if w.i < len(w.b) {
		return w.b[w.i]
	}
	return 0
}

func (w *walker) skipSpace() {
	for {
		switch w.at() {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// key reads the string at i as encoding/json would: plain ASCII as it is,
// anything with an escape or another byte through encoding/json itself.
func (w *walker) key() (string, bool) {
	start := w.i
	if !w.skipString() {
		return "", false
	}
	quoted := w.b[start:w.i]
	inner := quoted[1 : len(quoted)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(inner), true
	}
	var key string
	if err := json.Unmarshal(quoted, &key); err != nil {
		return "", false
	}
	return key, true
}

// skipString moves past the string that starts at i.
func (w *walker) skipString() bool {
	if w.at() != '"' {
		return false
	}
	for w.i++; w.i < len(w.b); w.i++ {
		switch w.b[w.i] {
		case '\\':
			w.i++
		case '"':
			w.i++
			return true
		}
	}
	return false
}

// skipValue moves past the value that starts at i.
func (w *walker) skipValue() bool {
	switch w.at() {
	case '"':
		return w.skipString()
	case '{', '[':
		depth := 0
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case '"':
				if !w.skipString() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			w.i++
			if depth == 0 {
				return true
			}
		}
		return false
	case 0:
		return false
	}
	start := w.i
	for w.i < len(w.b) && !strings.ContainsRune(",}] \t\r\n", rune(w.b[w.i])) {
		w.i++
	}
	return w.i > start
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

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// decodeStruct fills the struct dst from the object raw, key by key.
func decodeStruct(raw json.RawMessage, dst reflect.Value, path string) error {
	members, err := membersOf(raw, path)
	if err != nil {
		return err
	}
	t := dst.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := jsonName(f)
		if !f.IsExported() || name == "-" {
			continue
		}
		value, err := pick(members, name, path+"."+name)
		if err != nil {
			return err
		}
		if value == nil {
			continue
		}
		if err := decodeValue(value, dst.Field(i), path+"."+name); err != nil {
			return err
		}
	}
	return nil
}

// decodeValue decodes one member: an object meant for a struct (or a
// pointer to one) with the same rules, anything else with encoding/json.
func decodeValue(raw json.RawMessage, dst reflect.Value, path string) error {
	t := dst.Type()
	isPointer := t.Kind() == reflect.Pointer
	if isPointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshaler) {
		if err := json.Unmarshal(raw, dst.Addr().Interface()); err != nil {
			return fmt.Errorf("%w: %s", ErrMalformed, describeTypeError(err, path))
		}
		return nil
	}
	if jsonKind(raw) == "null" {
		dst.SetZero()
		return nil
	}
	if !isPointer {
		return decodeStruct(raw, dst, path)
	}
	p := reflect.New(t)
	if err := decodeStruct(raw, p.Elem(), path); err != nil {
		return err
	}
	dst.Set(p)
	return nil
}

// jsonName is the key a struct field reads: its json tag's name, else the
// field's own name.
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

// describeTypeError says which field had the wrong type in the operator's
// terms, instead of encoding/json's dump of our Go types. path names the
// value that was decoded. The value itself is not quoted: only its kind.
func describeTypeError(err error, path string) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return "cannot decode " + path
	}
	field := path
	if te.Field != "" {
		field = path + "." + te.Field
	}
	want := te.Type
	for want.Kind() == reflect.Pointer {
		want = want.Elem()
	}
	kind := "a " + want.Kind().String()
	switch want.Kind() {
	case reflect.Struct, reflect.Map:
		kind = "an object"
	case reflect.Slice, reflect.Array:
		kind = "an array"
	}
	got, _, _ := strings.Cut(te.Value, " ")
	return fmt.Sprintf("%s is a JSON %s where %s belongs", field, got, kind)
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

// vaultMessages reads {"errors": [...]}; ok is false for any body that is
// not such an object.
func vaultMessages(body []byte) (messages []string, ok bool) {
	if !json.Valid(body) {
		return nil, false
	}
	members, err := membersOf(body, "the answer")
	if err != nil {
		return nil, false
	}
	value, err := pick(members, "errors", "errors")
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
