package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/vault-ssh-helper/vault-ssh-helper"

// layers orders the product's packages (by directory): a package imports
// only packages of a lower layer, or its own subpackages (helper/totp uses
// helper/totp/ratelimit). So no arrow runs back up, and the plumbing, on
// the modes' layer, cannot name a mode: it knows them through its Mode
// interface. Go itself refuses import cycles; this also refuses the arrows
// that would make one the day someone adds the other half.
var layers = []struct {
	dir   string // "." is package main; "helper/*" is every mode
	layer int
}{
	{"agent/quote", 0},
	{"internal/trust", 0},
	// Side by side: agent is built from agent.Settings, which
	// *config.Config provides, so neither imports the other.
	{"config", 1},
	{"agent", 1},
	{"helper", 3},
	{"helper/*", 4},
	{"internal/plumbing", 4},
	{".", 5},
	// Test support and the start-up bench's programs: no product package
	// may import them.
	{"internal/plumbing/plumbingtest", 6},
	{"internal/testtmp", 6},
	{"config/configtest", 6},
	{"internal/bench/*", 6},
}

// layerOf is dir's layer, the most specific entry that holds it.
func layerOf(dir string) (int, bool) {
	best, found, bestLen := 0, false, -1
	for _, l := range layers {
		prefix, sub := strings.CutSuffix(l.dir, "/*")
		match := dir == l.dir || sub && strings.HasPrefix(dir, prefix+"/")
		if match && len(prefix) > bestLen {
			best, found, bestLen = l.layer, true, len(prefix)
		}
	}
	return best, found
}

// productImports maps each product package's directory to what its non-test
// files import: the module's packages by their path in it, others in full. e2e/ and tools/ are modules of their
// own, test-fixtures/ holds data.
func productImports(t *testing.T) map[string][]string {
	t.Helper()
	imports := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "e2e", "test-fixtures", "tools", "testdata", "packaging", "scripts":
				return filepath.SkipDir
			}
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		for _, spec := range f.Imports {
			ip, _ := strconv.Unquote(spec.Path.Value)
			rel, _ := strings.CutPrefix(ip, modulePath+"/")
			imports[dir] = append(imports[dir], rel)
		}
		if _, ok := imports[dir]; !ok {
			imports[dir] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return imports
}

func TestImportsRunDownTheLayers(t *testing.T) {
	imports := productImports(t)
	if len(imports["internal/plumbing"]) == 0 || len(imports["."]) == 0 {
		t.Fatalf("found no imports of main or internal/plumbing in %v: run from the module's root", imports)
	}
	for _, arrow := range arrowsBackUp(imports) {
		t.Error(arrow)
	}
}

// arrowsBackUp says what in imports breaks the layers.
func arrowsBackUp(imports map[string][]string) []string {
	var found []string
	for dir, deps := range imports {
		from, ok := layerOf(dir)
		if !ok {
			found = append(found, "package "+dir+" has no layer: add it to layers (imports_test.go)")
			continue
		}
		for _, dep := range deps {
			to, ok := layerOf(dep)
			if ok && to >= from && !strings.HasPrefix(dep, dir+"/") {
				found = append(found, fmt.Sprintf("%s (layer %d) imports %s (layer %d), not a lower layer", dir, from, dep, to))
			}
		}
	}
	sort.Strings(found)
	return found
}

// The card's four libraries do their jobs in the product's own code: each
// is imported by a product package and required directly by go.mod.
func TestCardLibrariesAreDirectRequirements(t *testing.T) {
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	imported := map[string]bool{}
	for _, deps := range productImports(t) {
		for _, dep := range deps {
			imported[dep] = true
		}
	}
	for _, lib := range []string{"github.com/hashicorp/hcl", "github.com/hashicorp/go-cleanhttp",
		"github.com/hashicorp/vault/api", "github.com/mitchellh/mapstructure"} {
		if !imported[lib] {
			t.Errorf("no product package imports %s", lib)
		}
		if !requiredDirectly(string(gomod), lib) {
			t.Errorf("go.mod does not require %s directly", lib)
		}
	}
}

// requiredDirectly reports whether gomod has a require line for module
// without the "// indirect" mark.
func requiredDirectly(gomod, module string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && fields[0] == module && !strings.Contains(line, "// indirect") {
			return true
		}
	}
	return false
}

func TestArrowsBackUpAreFound(t *testing.T) {
	imports := map[string][]string{
		".":                     {"internal/plumbing", "helper/sshotp"},
		"helper/totp":           {"helper/totp/ratelimit", "helper", "agent"},
		"helper/totp/ratelimit": {"internal/trust"},
		"internal/plumbing":     {"helper/sshotp", "agent"},
		"agent":                 {"helper", "config"},
		"config":                {"internal/plumbing/plumbingtest"},
		"internal/newthing":     nil,
	}
	want := []string{
		"agent (layer 1) imports config (layer 1), not a lower layer",
		"agent (layer 1) imports helper (layer 3), not a lower layer",
		"config (layer 1) imports internal/plumbing/plumbingtest (layer 6), not a lower layer",
		"internal/plumbing (layer 4) imports helper/sshotp (layer 4), not a lower layer",
		"package internal/newthing has no layer: add it to layers (imports_test.go)",
	}
	if got := arrowsBackUp(imports); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
