package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/mitchellh/mapstructure"

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
// answer into dst, a pointer to a struct with json tags, with one meaning:
// a key dst reads, at any depth, must be written once, exactly as the tag
// (a map keeps the last in any case: {"username":"bob","Username":"alice"}
// would mean alice), and hold its field's JSON kind. Other keys are left
// alone; a number read into an interface stays a json.Number. Its errors
// are ErrEmptyBody, ErrNoData or ErrMalformed, and never quote the body.
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

// DecodeAuth reads the "auth" object of a 2xx login answer with
// DecodeObject's rules. Its errors are ErrEmptyBody, ErrNoAuth or
// ErrMalformed, and never quote a value: the answer holds the token.
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

// decodeMember reads the answer's top-level key name into dst with
// DecodeObject's rules; found is false, dst untouched, when it is absent or
// null. checkObject walks the answer first, as a struct of that one field,
// for what mapstructure, filling dst from a map, cannot see.
func decodeMember(body []byte, name string, dst any) (found bool, err error) {
	if !json.Valid(body) {
		return false, fmt.Errorf("%w: %w", ErrMalformed, errNotOneValue)
	}
	answer := reflect.StructOf([]reflect.StructField{{
		Name: "Member",
		Type: reflect.PointerTo(reflect.TypeOf(dst).Elem()),
		Tag:  reflect.StructTag(`json:"` + name + `"`),
	}})
	dec := newDecoder(body)
	switch tok, _ := dec.Token(); {
	case tok == nil: // JSON null: no object
	case tok != json.Delim('{'):
		return false, fmt.Errorf("%w: the answer is a JSON %s %w", ErrMalformed, kindOf(tok), errNotObject)
	default:
		if err := checkObject(dec, answer, ""); err != nil {
			return false, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	var members map[string]any
	if err := newDecoder(body).Decode(&members); err != nil || members[name] == nil {
		return false, err // err cannot be: checkObject read one object
	}
	fill, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:   "json",
		MatchName: func(key, field string) bool { return key == field },
		Result:    dst,
	})
	if err == nil {
		err = fill.Decode(members[name])
	}
	if err != nil { // mapstructure's words quote the value
		return false, fmt.Errorf("%w: cannot decode %s", ErrMalformed, name)
	}
	return true, nil
}

func newDecoder(body []byte) *json.Decoder {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec
}

// checkObject walks the members of an object whose '{' dec has read, as
// the struct t reads them: a key one of t's fields reads, in any letter
// case, must be written once, exactly as the field's name; other keys are
// skipped unread. prefix names the object for the operator ("data.").
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

// check walks the next value of dec, where a t is read, for checkObject's
// rules at every depth, and refuses a value of a JSON kind t does not hold
// (a number only when it fits t). path names the value for the operator.
func check(dec *json.Decoder, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return err
	}
	kind, want := kindOf(tok), holds(t)
	switch {
	case want != "" && kind != want,
		kind == "number" && json.Unmarshal([]byte(tok.(json.Number)), reflect.New(t).Interface()) != nil:
		return fmt.Errorf("%s is a JSON %s %w", path, kind, belongs(t))
	case t.Kind() == reflect.Struct:
		return checkObject(dec, t, path+".")
	case kind != "object" && kind != "array":
		return nil
	}
	elem := t // what an object or array holds: anything, for an interface
	if want != "" {
		elem = t.Elem()
	}
	for dec.More() && err == nil {
		if kind == "object" {
			_, err = dec.Token() // a map's key, as written; a map keeps the last of two
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

// kindOf names the JSON kind of the value tok begins; null is taken first.
func kindOf(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "array"
		}
		return "object"
	case json.Number:
		return "number"
	case string:
		return "string"
	}
	return "bool"
}

// holds is the JSON kind a t is read from ("number" for any other kind,
// which must then fit it); "" for an interface, which takes any.
func holds(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Interface:
		return ""
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String, reflect.Bool:
		return t.Kind().String()
	}
	return "number"
}

// belongs names what t holds for the operator: "where a string belongs".
func belongs(t reflect.Type) error {
	switch holds(t) {
	case "object":
		return errNotObject
	case "array":
		return errors.New("where an array belongs")
	}
	return fmt.Errorf("where a %s belongs", t.Kind())
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
