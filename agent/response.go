package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
)

// Verified is what Vault says an OTP was issued for.
type Verified struct {
	Username string
	IP       netip.Addr
	RoleName string
}

// The outcomes callers tell apart with errors.Is. Every one of them denies.
var (
	// ErrOTPNotFound: Vault does not know the OTP, or it was already used.
	ErrOTPNotFound = errors.New("OTP not found or already used")
	// ErrEmptyBody: Vault answered without a body (the original panics here).
	ErrEmptyBody = errors.New("Vault's answer has no body")
	// ErrNoData: the body has no "data" object (the original panics here too).
	ErrNoData = errors.New("Vault's answer has no data")
	// ErrMalformed: the body is not the JSON a verify answer is made of.
	ErrMalformed = errors.New("Vault's answer is malformed")
	// ErrBadEcho: -verify-only got an answer, but not verify-echo-response.
	ErrBadEcho = errors.New("Vault did not echo verify-echo-response")
	// ErrTimeout: the time budget ran out before Vault answered.
	ErrTimeout = errors.New("timed out")
	// ErrUnreachable: no connection to Vault could be made.
	ErrUnreachable = errors.New("cannot connect to Vault")
)

// VaultError is any other non-2xx answer, with Vault's own messages.
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

// verifyBody is the part of Vault's answer we read. Pointers tell "absent"
// from "empty".
type verifyBody struct {
	Data *struct {
		Username *string `json:"username"`
		IP       *string `json:"ip"`
		RoleName *string `json:"role_name"`
		Message  *string `json:"message"`
	} `json:"data"`
}

// decodeVerify reads a 2xx verify answer. It never returns a zero Verified
// with a nil error.
func decodeVerify(body []byte) (Verified, error) {
	b, err := decodeBody(body)
	if err != nil {
		return Verified{}, err
	}
	d := b.Data
	if d.Username == nil || *d.Username == "" {
		return Verified{}, fmt.Errorf("%w: data.username is missing or empty", ErrMalformed)
	}
	if d.IP == nil {
		return Verified{}, fmt.Errorf("%w: data.ip is missing", ErrMalformed)
	}
	ip, err := netip.ParseAddr(*d.IP)
	if err != nil || ip.Zone() != "" {
		return Verified{}, fmt.Errorf("%w: data.ip %q is not an IP address", ErrMalformed, *d.IP)
	}
	if d.RoleName == nil {
		return Verified{}, fmt.Errorf("%w: data.role_name is missing", ErrMalformed)
	}
	return Verified{Username: *d.Username, IP: ip, RoleName: *d.RoleName}, nil
}

// EchoRequest and EchoResponse are Vault's fixed -verify-only exchange.
const (
	EchoRequest  = "verify-echo-request"
	EchoResponse = "verify-echo-response"
)

func decodeEcho(body []byte) error {
	b, err := decodeBody(body)
	if err != nil {
		return err
	}
	if b.Data.Message == nil || *b.Data.Message != EchoResponse {
		return ErrBadEcho
	}
	return nil
}

func decodeBody(body []byte) (verifyBody, error) {
	var b verifyBody
	if len(bytes.TrimSpace(body)) == 0 {
		return b, ErrEmptyBody
	}
	if !json.Valid(body) {
		return b, fmt.Errorf("%w: not one JSON value", ErrMalformed)
	}
	// json.Valid has ruled out syntax errors and trailing data: what is left
	// is a value of the wrong type somewhere.
	if err := json.Unmarshal(body, &b); err != nil {
		return b, fmt.Errorf("%w: %s", ErrMalformed, describeTypeError(err))
	}
	if b.Data == nil {
		return b, ErrNoData
	}
	return b, nil
}

// describeTypeError says which field had the wrong type in the operator's
// terms, instead of encoding/json's dump of our Go types.
func describeTypeError(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	field := te.Field
	if field == "" {
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

// decodeError turns a non-2xx body into a VaultError or ErrOTPNotFound.
// Vault answers an unknown, used or empty OTP with 400 "OTP not found".
func decodeError(status int, body []byte) error {
	var e struct {
		Errors []string `json:"errors"`
	}
	messages := []string{}
	if err := json.Unmarshal(body, &e); err == nil {
		messages = e.Errors
	} else if s := strings.TrimSpace(string(body)); s != "" {
		messages = []string{truncate(s, 200)}
	}
	if status == 400 {
		for _, m := range messages {
			if m == "OTP not found" {
				return ErrOTPNotFound
			}
		}
	}
	return &VaultError{Status: status, Messages: messages}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
