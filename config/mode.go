package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

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
