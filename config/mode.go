package config

import (
	"errors"
	"fmt"
	"strings"
)

// Mode is what config knows of one mode: its name, the keys it owns, the
// key whose presence selects it, and how it reads those keys. config owns
// only the keys every mode shares; the modes are handed to it (Options.Modes)
// by the one registry in main, so "this key belongs to mode X" is computed
// from that list, never written per pair.
type Mode struct {
	// Name is the mode's name in messages ("SSH OTP").
	Name string
	// Selector is the key whose presence selects the mode; "" for the
	// default mode, selected when no other mode's selector is present.
	Selector string
	// Keys are the mode's own keys, Selector included, in the order
	// problems about them are reported. Their values are strings.
	Keys []string
	// Parse decodes and validates the mode's keys, reporting every problem
	// (each naming its key). What it returns is Config.ModeSettings.
	Parse func(Keys) (any, []error)
}

// Keys are the values of the selected mode's keys that the file sets.
type Keys map[string]string

// Has says whether the file sets key.
func (k Keys) Has(key string) bool {
	_, ok := k[key]
	return ok
}

// Get is key's value and whether the file sets it.
func (k Keys) Get(key string) (string, bool) {
	v, ok := k[key]
	return v, ok
}

// ErrOtherModesKey starts the refusal of a key that belongs to a mode the
// file does not select: left there, it would suggest a check that is not made.
var ErrOtherModesKey = errors.New("belongs to the")

// selectMode is the mode the file's keys select: the first whose selector
// is set, else the default (the one without a selector); nil when none is.
func selectMode(modes []Mode, set map[string]bool) *Mode {
	var fallback *Mode
	for i := range modes {
		m := &modes[i]
		if m.Selector == "" {
			if fallback == nil {
				fallback = m
			}
		} else if set[m.Selector] {
			return m
		}
	}
	return fallback
}

// parseMode refuses every set key of a mode other than selected, then
// hands the selected mode its keys.
func parseMode(modes []Mode, selected *Mode, raw *rawConfig) (any, []error) {
	var problems []error
	for _, other := range modes {
		if selected != nil && other.Name == selected.Name {
			continue
		}
		for _, key := range other.Keys {
			if _, set := raw.modeKeys[key]; set && !owns(selected, key) {
				problems = append(problems, fmt.Errorf("%s %w %s mode%s; remove it from %s config%s",
					key, ErrOtherModesKey, other.Name, needs(other), withArticle(modeName(selected)), selectedBy(selected)))
			}
		}
	}
	if selected == nil || selected.Parse == nil {
		return nil, problems
	}
	keys := Keys{}
	for _, key := range selected.Keys {
		if v, set := raw.modeKeys[key]; set {
			keys[key] = v
		}
	}
	settings, more := selected.Parse(keys)
	return settings, append(problems, more...)
}

func owns(m *Mode, key string) bool {
	if m == nil {
		return false
	}
	for _, k := range m.Keys {
		if k == key {
			return true
		}
	}
	return false
}

func modeName(m *Mode) string {
	if m == nil {
		return "this"
	}
	return m.Name
}

// needs tells how a mode with a selector is chosen.
func needs(m Mode) string {
	if m.Selector == "" {
		return ""
	}
	return ", which needs " + m.Selector
}

// selectedBy tells how the file chose its mode.
func selectedBy(m *Mode) string {
	if m == nil || m.Selector == "" {
		return ""
	}
	return " (one with " + m.Selector + ")"
}

// withArticle puts "a" or "an" before a mode's name by how it is said: a
// vowel, or an acronym whose first letter's name starts with one ("an SSH").
func withArticle(name string) string {
	if name == "this" {
		return name
	}
	acronym := len(name) > 1 && name[1] >= 'A' && name[1] <= 'Z'
	if name != "" && (strings.ContainsRune("AEIOUaeiou", rune(name[0])) || acronym && strings.ContainsRune("FHLMNRSX", rune(name[0]))) {
		return "an " + name
	}
	return "a " + name
}
