package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
	"github.com/hashicorp/hcl/hcl/token"
	jsonparser "github.com/hashicorp/hcl/json/parser"
)

// rawConfig is the file as written: strings and a bool, before validation.
// set records which keys appeared, so "missing" and "empty" can differ.
type rawConfig struct {
	VaultAddr      string
	Namespace      string
	CACert         string
	CAPath         string
	TLSSkipVerify  bool
	TLSServerName  string
	ClientCert     string
	ClientKey      string
	Timeout        string
	SyslogFacility string

	// modes are the modes offered; modeKeys holds the values of the keys
	// they own, all strings.
	modes    []Mode
	modeKeys Keys

	set map[string]bool
}

// field returns where the value of key goes, or nil for a key we do not know.
func (r *rawConfig) field(key string) any {
	switch key {
	case "vault_addr":
		return &r.VaultAddr
	case "namespace":
		return &r.Namespace
	case "ca_cert":
		return &r.CACert
	case "ca_path":
		return &r.CAPath
	case "tls_skip_verify":
		return &r.TLSSkipVerify
	case "tls_server_name":
		return &r.TLSServerName
	case "client_cert":
		return &r.ClientCert
	case "client_key":
		return &r.ClientKey
	case "timeout":
		return &r.Timeout
	case "syslog_facility":
		return &r.SyslogFacility
	}
	return nil
}

// isModeKey says whether one of the modes owns key.
func (r *rawConfig) isModeKey(key string) bool {
	for _, m := range r.modes {
		if slices.Contains(m.Keys, key) {
			return true
		}
	}
	return false
}

// decode parses HCL or JSON and fills a rawConfig: the shared keys, and
// the keys of modes. A nil rawConfig means the text did not parse at all.
func decode(data []byte, modes []Mode) (raw *rawConfig, problems []error) {
	// HCL v1 panics on some malformed input (found by fuzzing); a config
	// that crashes the parser is just a config that does not parse.
	defer func() {
		if p := recover(); p != nil {
			raw, problems = nil, []error{fmt.Errorf("cannot be parsed as HCL or JSON")}
		}
	}()
	file, err := parseAST(data)
	if err != nil {
		return nil, []error{fmt.Errorf("cannot be parsed as HCL or JSON: %w", err)}
	}
	list, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return nil, []error{fmt.Errorf("cannot be parsed: the top level is not a list of keys")}
	}
	raw = &rawConfig{set: map[string]bool{}, modes: modes, modeKeys: Keys{}}
	firstLine := map[string]int{}
	for _, item := range list.Items {
		if err := raw.decodeItem(item, firstLine); err != nil {
			problems = append(problems, err)
		}
	}
	return raw, problems
}

// parseAST chooses JSON or HCL as HCL v1 does (a leading '{' means JSON), but
// lets duplicate HCL keys through so decodeItem can name both lines.
func parseAST(data []byte) (*ast.File, error) {
	if trimmed := bytes.TrimLeftFunc(data, unicode.IsSpace); len(trimmed) > 0 && trimmed[0] == '{' {
		// HCL's JSON parser accepts a file cut short or with text after the
		// object: a config truncated before ca_cert would load and trust the
		// system's roots instead. Only whole JSON goes on.
		if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return jsonparser.Parse(data)
	}
	return hclparser.ParseDontErrorOnDuplicateKeys(data)
}

// decodeItem checks one `key = value` item and stores its value.
func (r *rawConfig) decodeItem(item *ast.ObjectItem, firstLine map[string]int) error {
	line := item.Pos().Line
	if len(item.Keys) == 0 {
		return fmt.Errorf("an item without a key%s", onLine(line))
	}
	key, ok := keyName(item.Keys[0].Token)
	if !ok {
		return fmt.Errorf("%w %q%s", ErrInvalidKey, item.Keys[0].Token.Text, onLine(line))
	}
	target := r.field(key)
	var modeValue string
	isModeKey := target == nil && r.isModeKey(key)
	if isModeKey {
		target = &modeValue
	}
	if target == nil {
		return fmt.Errorf("%w %q%s", ErrInvalidKey, key, onLine(line))
	}
	if first, seen := firstLine[key]; seen {
		if first > 0 && line > 0 {
			return fmt.Errorf("%w %q on lines %d and %d", ErrDuplicateKey, key, first, line)
		}
		return fmt.Errorf("%w %q", ErrDuplicateKey, key)
	}
	firstLine[key] = line
	if len(item.Keys) > 1 || (line > 0 && item.Assign.Line == 0) {
		return fmt.Errorf("key %q%s must be assigned a value (%s = ...)", key, onLine(line), key)
	}
	var value any
	if err := hcl.DecodeObject(&value, item.Val); err != nil {
		return fmt.Errorf("key %q%s: %w", key, onLine(line), err)
	}
	if err := decodeValue(value, target); err != nil {
		return fmt.Errorf("key %q%s: %w", key, onLine(line), err)
	}
	r.set[key] = true
	if isModeKey {
		r.modeKeys[key] = modeValue
	}
	return nil
}

// onLine names a line where the parser knows it; HCL v1's JSON parser
// records no positions.
func onLine(line int) string {
	if line <= 0 {
		return ""
	}
	return fmt.Sprintf(" on line %d", line)
}

// keyName reads a key token without HCL's Token.Value, which panics on a
// badly quoted string.
func keyName(t token.Token) (string, bool) {
	switch t.Type {
	case token.IDENT:
		return t.Text, true
	case token.STRING:
		s, err := strconv.Unquote(t.Text)
		return s, err == nil
	}
	return "", false
}

// decodeValue stores an HCL value into a string or bool field. Numbers are
// accepted where a string is expected, as the original's decoder accepts them;
// anything else of the wrong type is refused rather than guessed at. No value
// at all leaves the field as it is.
func decodeValue(value any, target any) error {
	if value == nil {
		return nil
	}
	switch t := target.(type) {
	case *string:
		if s, ok := stringValue(value); ok {
			*t = s
			return nil
		}
	case *bool:
		if b, ok := value.(bool); ok {
			*t = b
			return nil
		}
	}
	return fmt.Errorf("expected %s, got %s", kindName(target), describe(value))
}

// stringValue is value as a string field holds it: a string, or a number
// written the way the original's decoder writes it.
func stringValue(value any) (string, bool) {
	switch v := value.(type) {
	case string:
		return v, true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	}
	return "", false
}

func kindName(target any) string {
	if _, ok := target.(*bool); ok {
		return "true or false"
	}
	return "a string"
}

func describe(value any) string {
	switch value.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case []map[string]any, map[string]any:
		return "a block"
	}
	return fmt.Sprintf("%T", value)
}
