package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every fuzz target is in the Makefile's FUZZ_TARGETS, so `make fuzz` runs
// it (one was missing once), and every entry there names a target.
func TestMakeFuzzRunsEveryFuzzTarget(t *testing.T) {
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?m)^FUZZ_TARGETS := \\\n((?:\t.*\n)+)`).FindSubmatch(makefile)
	if block == nil {
		t.Fatal("no FUZZ_TARGETS list in the Makefile")
	}
	var listed []string
	for _, f := range strings.Fields(strings.ReplaceAll(string(block[1]), `\`, "")) {
		listed = append(listed, f)
	}
	var found []string
	fuzzFunc := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "e2e" || d.Name() == "tools" || strings.HasPrefix(d.Name(), ".") && p != ".") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllSubmatch(src, -1) {
			found = append(found, filepath.ToSlash(filepath.Dir(p))+":"+string(m[1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	slices.Sort(found)
	if len(found) == 0 || !slices.Equal(listed, found) {
		t.Errorf("Makefile FUZZ_TARGETS\n  %v\nfuzz targets in the tree\n  %v", listed, found)
	}
}
