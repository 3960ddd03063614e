package config

// The binary's modes live in packages that import config, so this package's
// own tests cannot import them; the external test package (main_test.go)
// hands them over before any test runs.
var (
	Registered = &registered
	registered []Mode
)

// parse is Parse with the binary's modes offered when opts names none.
func parse(data []byte, opts Options) (*Config, error) {
	if opts.Modes == nil {
		opts.Modes = registered
	}
	return Parse(data, opts)
}

// load is Load with the binary's modes offered when opts names none.
func load(path string, opts Options) (*Config, error) {
	if opts.Modes == nil {
		opts.Modes = registered
	}
	return Load(path, opts)
}
