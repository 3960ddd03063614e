package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
	"github.com/hashicorp/hcl/hcl/token"
	jsonparser "github.com/hashicorp/hcl/json/parser"
)

// sharedKeys are the keys every mode reads; tls_skip_verify is the one
// that holds a bool.
var sharedKeys = []string{
	"vault_addr", "namespace", "ca_cert", "ca_path", "tls_skip_verify",
	"tls_server_name", "client_cert", "client_key", "timeout", "syslog_facility",
}

// decode parses HCL or JSON into the values of the keys it sets, the shared
// ones and those of modes, joining every problem. nil keys means the text
// did not parse at all.
func decode(data []byte, modes []Mode) (keys Keys, err error) {
	// HCL v1 panics on some malformed input (found by fuzzing); a config
	// that crashes the parser is just a config that does not parse.
	defer func() {
		if p := recover(); p != nil {
			keys, err = nil, errors.New("cannot be parsed as HCL or JSON")
		}
	}()
	file, err := parseAST(data)
	if err != nil {
		return nil, fmt.Errorf("cannot be parsed as HCL or JSON: %w", err)
	}
	list, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return nil, errors.New("cannot be parsed: the top level is not a list of keys")
	}
	keys = Keys{}
	firstLine := map[string]int{}
	var problems []error
	for _, item := range list.Items {
		problems = append(problems, decodeItem(item, keys, firstLine, modes))
	}
	return keys, errors.Join(problems...)
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

// decodeItem checks one `key = value` item and stores its value in keys.
func decodeItem(item *ast.ObjectItem, keys Keys, firstLine map[string]int, modes []Mode) error {
	// Both of HCL v1's parsers give every item at least one key.
	line := item.Pos().Line
	key, ok := keyName(item.Keys[0].Token)
	isModes := func(m Mode) bool { return slices.Contains(m.Keys, key) }
	if !ok || !slices.Contains(sharedKeys, key) && !slices.ContainsFunc(modes, isModes) {
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
	value, err := decodeValue(item.Val, key == "tls_skip_verify")
	if err != nil {
		return fmt.Errorf("key %q%s: %w", key, onLine(line), err)
	}
	keys[key] = value
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
// badly quoted string; false with the text as written for a key that is not
// a name or a well quoted string.
func keyName(t token.Token) (string, bool) {
	if s, err := strconv.Unquote(t.Text); t.Type == token.STRING && err == nil {
		return s, true
	}
	return t.Text, t.Type == token.IDENT
}

// decodeValue is a value as its key holds it: "true" or "false" for a bool
// key, else a string. Numbers are accepted where a string is expected, as
// the original's decoder accepts them; anything else of the wrong type is
// refused rather than guessed at. No value at all is "".
func decodeValue(node ast.Node, isBool bool) (string, error) {
	var value any
	if err := hcl.DecodeObject(&value, node); err != nil {
		return "", err
	}
	if isBool {
		if b, ok := value.(bool); ok || value == nil {
			return strconv.FormatBool(b), nil
		}
		return "", fmt.Errorf("expected true or false, got %s", describe(value))
	}
	switch value.(type) {
	case nil:
		return "", nil
	case string, int, float64:
		return fmt.Sprint(value), nil
	}
	return "", fmt.Errorf("expected a string, got %s", describe(value))
}

func describe(value any) string {
	switch value.(type) {
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int, float64:
		return "a number"
	case []any:
		return "a list"
	case []map[string]any, map[string]any:
		return "a block"
	}
	return fmt.Sprintf("%T", value)
}

// Mode is what config knows of one mode; main's registry hands config the
// modes (Options.Modes), so "this key belongs to mode X" is computed from them.
type Mode struct {
	// Name is the mode's name in messages ("SSH OTP"); Usage its paragraph in -h.
	Name, Usage string
	// Selector is the key whose presence selects the mode; "" for the
	// default mode, selected when no other mode's selector is set.
	Selector string
	// Keys are the mode's own keys, Selector included, in the order
	// problems about them are reported. Their values are strings.
	Keys []string
	// Parse validates the mode's keys, joining every problem, each naming
	// its key; what it returns becomes Config.ModeSettings.
	Parse func(Keys) (any, error)
}

// Keys are the values of the keys the file sets (k[key] is "" for a key it
// does not set).
type Keys map[string]string

// Has says whether the file sets key.
func (k Keys) Has(key string) bool {
	_, ok := k[key]
	return ok
}

// selectMode is the mode whose selector the file sets, else the default
// one; nil when neither is offered.
func selectMode(modes []Mode, keys Keys) *Mode {
	var fallback *Mode
	for i, m := range modes {
		if m.Selector != "" && keys.Has(m.Selector) {
			return &modes[i]
		}
		if m.Selector == "" && fallback == nil {
			fallback = &modes[i]
		}
	}
	return fallback
}

// parseMode refuses every key of a mode other than the selected one that
// the file sets, then hands the selected one the keys. The mode is the
// file's choice, never the user's.
func parseMode(modes []Mode, keys Keys) (name string, settings any, err error) {
	mine := Mode{Name: "mode-less", Parse: func(Keys) (any, error) { return nil, nil }}
	if selected := selectMode(modes, keys); selected != nil {
		mine, name = *selected, selected.Name
	}
	var problems []error
	for _, other := range modes {
		for _, key := range other.Keys {
			if keys.Has(key) && !slices.Contains(mine.Keys, key) {
				problems = append(problems, fmt.Errorf("%s %w %s mode%s; remove it from %s config%s",
					key, ErrOtherModesKey, other.Name, when(", which needs ", other.Selector, ""),
					withArticle(mine.Name), when(" (one with ", mine.Selector, ")")))
			}
		}
	}
	settings, err = mine.Parse(keys)
	return name, settings, errors.Join(append(problems, err)...)
}

// when is selector between before and after, or nothing for no selector.
func when(before, selector, after string) string {
	if selector == "" {
		return ""
	}
	return before + selector + after
}

// withArticle puts "a" or "an" before a mode's name as it is said: "an"
// before a vowel or an acronym whose first letter's name starts with one
// ("an SSH OTP").
func withArticle(name string) string {
	acronym := len(name) > 1 && name[1] >= 'A' && name[1] <= 'Z'
	if name != "" && (strings.ContainsRune("AEIOUaeiou", rune(name[0])) || acronym && strings.ContainsRune("FHLMNRSX", rune(name[0]))) {
		return "an " + name
	}
	return "a " + name
}
