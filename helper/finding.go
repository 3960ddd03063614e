package helper

// Finding is one thing -verify-only found, for one log line: what works,
// or (Warning) what works but should not be so.
type Finding struct {
	Warning bool
	Text    string
}
