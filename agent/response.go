package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// The outcomes every mode's callers tell apart with errors.Is. Every one of
// them denies.
var (
	// ErrEmptyBody: Vault answered without a body (the original panics here).
	ErrEmptyBody = errors.New("Vault's answer has no body")
	// ErrNoData: the body has no "data" object (the original panics here too).
	ErrNoData = errors.New("Vault's answer has no data")
	// ErrMalformed: the body is not the JSON the answer is made of.
	ErrMalformed = errors.New("Vault's answer is malformed")
	// ErrTimeout: the time budget ran out before Vault answered.
	ErrTimeout = errors.New("timed out")
	// ErrUnreachable: no connection to Vault could be made.
	ErrUnreachable = errors.New("cannot connect to Vault")
)

// VaultError is any non-2xx answer, with Vault's own messages. Each mode
// reads the answers it expects (an unknown OTP, a used code) out of it.
type VaultError struct {
	Status   int
	Messages []string
}

func (e *VaultError) Error() string {
	if len(e.Messages) == 0 {
		return fmt.Sprintf("Vault answered %d", e.Status)
	}
	return fmt.Sprintf("Vault answered %d: %s", e.Status, strings.Join(e.Messages, "; "))
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
// to a struct. Its errors are ErrEmptyBody, ErrNoData or ErrMalformed.
func DecodeData(body []byte, data any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return ErrEmptyBody
	}
	if !json.Valid(body) {
		return fmt.Errorf("%w: not one JSON value", ErrMalformed)
	}
	// json.Valid has ruled out syntax errors and trailing data: what is left
	// is a value of the wrong type somewhere.
	var envelope struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("%w: %s", ErrMalformed, describeTypeError(err, ""))
	}
	if envelope.Data == nil || string(envelope.Data) == "null" {
		return ErrNoData
	}
	if err := json.Unmarshal(envelope.Data, data); err != nil {
		return fmt.Errorf("%w: %s", ErrMalformed, describeTypeError(err, "data"))
	}
	return nil
}

// describeTypeError says which field had the wrong type in the operator's
// terms, instead of encoding/json's dump of our Go types. Fields are named
// from the top of the answer: within is the object the error was found in.
func describeTypeError(err error, within string) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	field := te.Field
	switch {
	case within != "" && field != "":
		field = within + "." + field
	case within != "":
		field = within
	case field == "":
		field = "the answer"
	}
	want := te.Type
	for want.Kind() == reflect.Pointer {
		want = want.Elem()
	}
	kind := "a " + want.Kind().String()
	if want.Kind() == reflect.Struct {
		kind = "an object"
	}
	return fmt.Sprintf("%s is a JSON %s where %s belongs", field, te.Value, kind)
}

// decodeError turns a non-2xx body into a VaultError.
func decodeError(status int, body []byte) *VaultError {
	var e struct {
		Errors []string `json:"errors"`
	}
	messages := []string{}
	if err := json.Unmarshal(body, &e); err == nil {
		messages = e.Errors
	} else if s := strings.TrimSpace(string(body)); s != "" {
		messages = []string{truncate(s, 200)}
	}
	return &VaultError{Status: status, Messages: messages}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
