// Package helper is what every mode shares: the Mode seam and its registry,
// and reading the typed password within PAM's limits.
package helper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// Mode is one way of checking a password with Vault: each reads its kind
// of password, asks Vault and decides in its own package.
type Mode interface {
	// About is what the run's log lines say about the mode.
	About() About
	// ReadPassword reads stdin and refuses, before any network traffic,
	// anything that is not this mode's kind of password.
	ReadPassword(io.Reader) (string, error)
	// Login asks Vault about the password and decides: only a nil error
	// lets pamUser in. The Result carries what Vault said also when it
	// denies; the errors never carry the password.
	Login(ctx context.Context, password, pamUser string) (Result, error)
	// Check is -verify-only: it proves Vault is reachable and set up
	// without a password, and returns what it found, also when it fails.
	Check(ctx context.Context) ([]Finding, error)
}

// About holds the mode's words in the run's log lines: the info line that
// says what it checks against, the name of its password ("the OTP"), what
// Check sends (for the debug line before it).
type About struct {
	Announce, Secret, CheckStep string
	// SummaryFields name the fields the mode adds to a login's summary
	// line, in order; "-" stands for one the Result has no value for.
	SummaryFields []string
}

// Result is what a login found out, allowed or not: who logged in, for the
// success line, and the values of About.SummaryFields Vault's answer gave.
type Result struct {
	Who    string
	Fields map[string]string
}

// Finding is one thing -verify-only found, for one log line: what works,
// or (Warning) what works but should not be so.
type Finding struct {
	Warning bool
	Text    string
}

// Plugin is one mode as main registers it.
type Plugin struct {
	config.Mode
	// New makes the mode from cfg, whose ModeSettings the mode's Parse made.
	New func(cfg *config.Config, vault *agent.Client) (Mode, error)
}

// NewPlugin declares a mode: d (all but its Parse), how it reads its keys
// into its settings S (every problem joined) and how it is made from them.
func NewPlugin[S any, M Mode](d config.Mode, parse func(config.Keys) (*S, error), newMode func(*S, *agent.Client) M) Plugin {
	d.Parse = func(k config.Keys) (any, error) { return parse(k) }
	return Plugin{Mode: d, New: func(cfg *config.Config, vault *agent.Client) (Mode, error) {
		s, ok := cfg.ModeSettings.(*S)
		if !ok || s == nil {
			return nil, fmt.Errorf("the config was not loaded for the %s mode", d.Name)
		}
		return newMode(s, vault), nil
	}}
}

// Registry is every mode the binary offers, the default (no selector) among them.
type Registry []Plugin

func (r Registry) Modes() []config.Mode {
	modes := make([]config.Mode, len(r))
	for i, p := range r {
		modes[i] = p.Mode
	}
	return modes
}

// Usage is every mode's paragraph of -h, in order.
func (r Registry) Usage() string {
	var b strings.Builder
	for _, p := range r {
		b.WriteString(p.Usage)
	}
	return b.String()
}

// New makes the mode cfg selected.
func (r Registry) New(cfg *config.Config, vault *agent.Client) (Mode, error) {
	for _, p := range r {
		if p.Name == cfg.Mode {
			return p.New(cfg, vault)
		}
	}
	return nil, fmt.Errorf("no mode %q is registered", cfg.Mode)
}

// MaxPasswordInput is the most we read from stdin. PAM hands over at most
// 511 bytes (PAM_MAX_RESP_SIZE - 1) plus, before Linux-PAM 1.4.0, one NUL.
const MaxPasswordInput = 512

// The reasons ReadPassword refuses input. None of them carries the input.
var (
	ErrPasswordTooLong = fmt.Errorf("password is longer than %d bytes", MaxPasswordInput)
	ErrPasswordEmpty   = errors.New("password is empty")
)

// Bracketed-paste markers a terminal may wrap around a pasted password.
var pasteStart, pasteEnd = []byte("\x1b[200~"), []byte("\x1b[201~")

// ReadPassword reads the typed password and returns it without what PAM or
// a terminal added around it: one trailing NUL (Linux-PAM before 1.4.0),
// bracketed-paste markers (upstream #84) and surrounding white space.
func ReadPassword(r io.Reader) ([]byte, error) {
	buf, err := io.ReadAll(io.LimitReader(r, MaxPasswordInput+1))
	if err != nil {
		return nil, fmt.Errorf("read password from stdin: %w", err)
	}
	if len(buf) > MaxPasswordInput {
		return nil, ErrPasswordTooLong
	}
	pw := bytes.TrimSpace(bytes.TrimSuffix(buf, []byte{0}))
	if pasted, ok := bytes.CutPrefix(pw, pasteStart); ok && bytes.HasSuffix(pasted, pasteEnd) {
		pw = bytes.TrimSpace(bytes.TrimSuffix(pasted, pasteEnd))
	}
	if len(pw) == 0 {
		return nil, ErrPasswordEmpty
	}
	return pw, nil
}
