// Package configtest is what the tests of config and of each mode share
// about the problems config.Parse reports together (errors.Join). Only
// tests import it.
package configtest

import (
	"errors"
	"strings"
)

// Problems flattens the errors Parse joins, at any depth.
func Problems(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, Problems(e)...)
	}
	return out
}

// Named is the problem of err whose text is want, or nil.
func Named(err error, want string) error {
	for _, p := range Problems(err) {
		if p.Error() == want {
			return p
		}
	}
	return nil
}

// Refuses tells whether err holds a problem that names subject (its text
// is subject, or starts with subject and a space) and wraps reason.
func Refuses(err error, subject string, reason error) bool {
	for _, p := range Problems(err) {
		named := p.Error() == subject || strings.HasPrefix(p.Error(), subject+" ")
		if named && errors.Is(p, reason) {
			return true
		}
	}
	return false
}
