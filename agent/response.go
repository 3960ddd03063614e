package agent

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// The outcomes every mode's callers tell apart with errors.Is. Every one of
// them denies.
var (
	// ErrEmptyBody: Vault answered without a body.
	ErrEmptyBody = errors.New("Vault's answer has no body")
	// ErrNoData: the body lacks the object the mode reads, "data" or
	// "auth" (ErrNoAuth).
	ErrNoData error = missingObject("data")
	// ErrMalformed: the body is not the JSON the answer is made of.
	ErrMalformed = errors.New("Vault's answer is malformed")
	// ErrTimeout: the time budget ran out before Vault answered.
	ErrTimeout = errors.New("timed out")
	// ErrUnreachable: no connection to Vault could be made.
	ErrUnreachable = errors.New("cannot connect to Vault")
	// ErrNoAuth: a login answer has no "auth" object. It matches ErrNoData too.
	ErrNoAuth error = missingObject("auth")
)

// What is wrong with a malformed answer, wrapped after ErrMalformed and the
// place it names: tests ask errors.Is instead of spelling the words again.
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
	return e.Status == status && slices.Contains(e.Messages, message)
}

// DecodeData reads the "data" object of a 2xx answer into data, a pointer
// to a struct, as DecodeObject does.
func DecodeData(body []byte, data any) error { return DecodeObject(body, "data", data) }

// DecodeObject reads the top-level object name ("data", "auth") of a 2xx
// answer into dst, a pointer to a struct with json tags, with encoding/json
// and one meaning: a key dst reads, at any depth, must be written once and
// exactly as the tag (Vault writes lower case); encoding/json alone takes
// the last in any case, {"username":"bob","Username":"alice"} meaning
// alice. Other keys are left alone; a number read into an interface stays
// a json.Number. Its errors are ErrEmptyBody, ErrNoData or ErrMalformed,
// and never quote the body.
func DecodeObject(body []byte, name string, dst any) error {
	target := reflect.ValueOf(dst)
	if target.Kind() != reflect.Pointer || target.IsNil() || target.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode %s: want a pointer to a struct, have %T", name, dst)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return ErrEmptyBody
	}
	found, err := decodeMember(body, name, dst)
	if err == nil && !found {
		return missingObject(name)
	}
	return err
}

// Auth is what a login answer says about the token it issued.
type Auth struct {
	ClientToken string
	Policies    []string
}

// DecodeAuth reads the "auth" object of a 2xx login answer, with
// DecodeObject's rules: keys exactly as Vault writes them, none twice or in
// another case. Its errors are ErrEmptyBody, ErrNoAuth or ErrMalformed, and
// never quote a value: the answer holds the token.
func DecodeAuth(body []byte) (Auth, error) {
	var a struct {
		ClientToken *string  `json:"client_token"`
		Policies    []string `json:"policies"`
	}
	if err := DecodeObject(body, "auth", &a); err != nil {
		return Auth{}, err
	}
	if a.ClientToken == nil || *a.ClientToken == "" {
		return Auth{}, fmt.Errorf("%w: auth.client_token is missing or empty", ErrMalformed)
	}
	return Auth{ClientToken: *a.ClientToken, Policies: a.Policies}, nil
}

// decodeMember reads the value of the answer's top-level key name into dst,
// a pointer, with DecodeObject's rules; found is false, and dst untouched,
// when the key is absent or null. The answer is read as a struct whose one
// field is that key: checkObject walks it first, so encoding/json, which
// matches keys in any case and keeps the last, finds one meaning in it.
func decodeMember(body []byte, name string, dst any) (found bool, err error) {
	if !json.Valid(body) {
		return false, fmt.Errorf("%w: %w", ErrMalformed, errNotOneValue)
	}
	answer := reflect.New(reflect.StructOf([]reflect.StructField{{
		Name: "Member",
		Type: reflect.PointerTo(reflect.TypeOf(dst).Elem()),
		Tag:  reflect.StructTag(`json:"` + name + `"`),
	}}))
	dec := newDecoder(body)
	if tok, _ := dec.Token(); tok == json.Delim('{') { // encoding/json refuses any other
		err = checkObject(dec, answer.Type().Elem(), "")
	}
	if err != nil { // a key twice or in another case (dec reads valid JSON)
		return false, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var wrongKind *json.UnmarshalTypeError
	switch err := newDecoder(body).Decode(answer.Interface()); {
	case errors.As(err, &wrongKind):
		// Value is the JSON kind, then for some the value: never quoted.
		kind, _, _ := strings.Cut(wrongKind.Value, " ")
		where := cmp.Or(wrongKind.Field, "the answer")
		return false, fmt.Errorf("%w: %s is a JSON %s %w", ErrMalformed, where, kind, belongs(wrongKind.Type))
	case err != nil:
		// encoding/json's words could quote the value.
		return false, fmt.Errorf("%w: cannot decode %s", ErrMalformed, name)
	}
	member := answer.Elem().Field(0)
	if member.IsNil() {
		return false, nil
	}
	reflect.ValueOf(dst).Elem().Set(member.Elem())
	return true, nil
}

// belongs names what t holds for the operator: "where a string belongs".
func belongs(t reflect.Type) error {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return errNotObject
	case reflect.Slice, reflect.Array:
		return errors.New("where an array belongs")
	}
	return fmt.Errorf("where a %s belongs", t.Kind())
}

func newDecoder(body []byte) *json.Decoder {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec
}

// checkObject walks the members of an object whose '{' dec has read, as
// the struct t reads them: a key one of t's fields reads, in any letter
// case as encoding/json matches it, must be written once, exactly as the
// field's name; other keys are skipped unread. prefix names the object for
// the operator ("data.").
func checkObject(dec *json.Decoder, t reflect.Type, prefix string) error {
	seen := map[string]bool{}
	otherCase := ""
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		name, field, reads := fieldFor(t, key)
		switch {
		case reads && seen[name]:
			return fmt.Errorf("%s %w", prefix+name, errTwice)
		case reads && key == name:
			err = check(dec, field, prefix+name)
		case reads && otherCase == "":
			otherCase = name
			fallthrough
		default:
			err = dec.Decode(new(json.RawMessage))
		}
		if err != nil {
			return err
		}
		seen[name] = reads
	}
	if otherCase != "" {
		return fmt.Errorf("%s %w", prefix+otherCase, errOtherCase)
	}
	_, err := dec.Token()
	return err
}

// check walks the next value of dec, where encoding/json reads a t, for
// checkObject's rules at every depth. A value of a kind t does not hold is
// left to encoding/json to refuse.
func check(dec *json.Decoder, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	switch {
	case err != nil:
		return err
	case tok == json.Delim('{') && t.Kind() == reflect.Struct:
		return checkObject(dec, t, path+".")
	case tok != json.Delim('{') && tok != json.Delim('['):
		return nil
	}
	elem := t // what an object or array holds: anything, for an interface
	if k := t.Kind(); k == reflect.Map || k == reflect.Slice || k == reflect.Array {
		elem = t.Elem()
	}
	for dec.More() && err == nil {
		if tok == json.Delim('{') {
			_, err = dec.Token() // a map's key, as written; encoding/json keeps the last of two
		}
		if err == nil {
			err = check(dec, elem, path)
		}
	}
	if err == nil {
		_, err = dec.Token()
	}
	return err
}

// fieldFor is the name and type of the field of the struct t that reads
// key, matched in any letter case as encoding/json matches it.
func fieldFor(t reflect.Type, key string) (string, reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if f.IsExported() && name != "-" && strings.EqualFold(key, name) {
			return name, f.Type, true
		}
	}
	return "", nil, false
}

// decodeError turns a non-2xx body into a VaultError: Vault's "errors" read
// with DecodeObject's rules, or else the whole body (up to the size bound)
// as one message. Nothing is cut here: the VaultError removes secrets
// before it cuts, when it is printed.
func decodeError(status int, body []byte, secrets []Secret) *VaultError {
	e := &VaultError{Status: status, Messages: []string{}, secrets: secrets}
	var messages []string
	// An answer of JSON null is no object of errors.
	if _, err := decodeMember(body, "errors", &messages); err == nil && string(bytes.TrimSpace(body)) != "null" {
		e.Messages = messages
	} else if s := strings.TrimSpace(string(body)); s != "" {
		e.Messages = []string{s}
	}
	return e
}

// requestIDOf reads the answer's request_id with DecodeObject's rules (one
// key, written in lower case) and keeps it only when it is made of ASCII
// letters, digits and dashes, so it can stand unquoted in a log line, and
// is at most 64 bytes (Vault's are 36-byte UUIDs).
func requestIDOf(body []byte) (string, bool) {
	var id string
	_, err := decodeMember(body, "request_id", &id)
	return id, err == nil && id != "" && len(id) <= 64 && strings.Trim(id, idChars) == ""
}

const idChars = "-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
