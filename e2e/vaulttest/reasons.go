package vaulttest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// ReasonsFile is where the product's module writes the texts of its messages
// (testdata/reasons.json, generated from its sentinel errors and checked
// fresh by its TestReasonsFile). This module cannot import the product's
// packages, so its tests name a reason instead of spelling its text: a
// changed message then changes that file, not these tests.
const ReasonsFile = "testdata/reasons.json"

var reasons struct {
	once  sync.Once
	texts map[string]string
	err   error
}

func loadReasons() (map[string]string, error) {
	reasons.once.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			reasons.err = err
			return
		}
		b, err := os.ReadFile(filepath.Join(root, ReasonsFile))
		if err != nil {
			reasons.err = err
			return
		}
		reasons.err = json.Unmarshal(b, &reasons.texts)
	})
	return reasons.texts, reasons.err
}

// verbs finds a text's fmt verbs (%s, %q, ...), each taking one argument.
var verbs = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)

// Reason is the text of the product's message called name (as
// "sshotp.ErrUsernameMismatch" or "main.authenticated"), with args in its
// fmt verbs. A name or an argument count the file does not know is a mistake in
// the calling test, and panics with what to fix.
func Reason(name string, args ...any) string {
	texts, err := loadReasons()
	if err != nil {
		panic(fmt.Sprintf("vaulttest: read %s: %v", ReasonsFile, err))
	}
	text, ok := texts[name]
	if !ok {
		panic(fmt.Sprintf("vaulttest: no reason %q in %s (add it to the product's reasons_test.go and regenerate)", name, ReasonsFile))
	}
	if n := len(verbs.FindAllString(text, -1)); n != len(args) {
		panic(fmt.Sprintf("vaulttest: reason %s takes %d arguments, got %d", name, n, len(args)))
	}
	return fmt.Sprintf(text, args...)
}
