// Package config reads the helper's HCL (or JSON) file into a validated
// Config. Every problem in the file is reported at once, so an operator
// fixes the file in one pass instead of one login attempt per mistake.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

const (
	DefaultTimeout = 10 * time.Second
	MinTimeout     = 1 * time.Second
	MaxTimeout     = 60 * time.Second

	// maxFileSize bounds what we read: a config file is a few hundred bytes,
	// and a root helper should not slurp whatever a path happens to point at.
	maxFileSize = 1 << 20
)

// The fixed words of the config's messages: each message wraps its sentinel
// (%w) around the key and value it names. Where the original has a message,
// the words are the original's: operators search for them.
var (
	ErrMissing      = errors.New("missing config")
	ErrEmpty        = errors.New("is empty")
	ErrNotURL       = errors.New("is not an http:// or https:// URL with a host")
	ErrAddrCarries  = errors.New("must not carry a user, a query or a fragment")
	ErrDevHTTPS     = errors.New("unsupported scheme in 'dev' mode")
	ErrNeedsHTTPS   = errors.New("unsupported scheme. use 'dev' mode")
	ErrAddrTwice    = errors.New("lists one address twice")
	ErrPathChars    = errors.New(`must not contain '?', '#', '%', '\' or white space`)
	ErrPathSegment  = errors.New("has an empty, '.' or '..' path segment")
	ErrControlChar  = errors.New("contains a control character")
	ErrNotHostName  = errors.New("is not a host name")
	ErrEmptyEntry   = errors.New("has an empty entry")
	ErrNotDuration  = errors.New("is not a duration")
	ErrOutside      = errors.New("is outside")
	ErrDuplicateKey = errors.New("duplicate key")
	ErrInvalidKey   = errors.New("invalid key")
	ErrNotFacility  = errors.New("is not a syslog facility: use authpriv (as sshd and pam_unix do), auth, daemon, user, local0 to local7, or another of syslog(3)'s names except kern")

	ErrSetBothOrNeither = errors.New("set both or neither")
	ErrKeyReadable      = errors.New("is readable by others")
	ErrSecretReadable   = errors.New("is readable by group or others")
	// A key of a mode the file does not select: left there, it would
	// suggest a check that is not made.
	ErrOtherModesKey = errors.New("belongs to the")
)

// Config is the validated content of the file.
type Config struct {
	// VaultAddrs are vault_addr's addresses, tried in order; at least one.
	VaultAddrs []*url.URL
	Namespace  string
	// RootCAs holds ca_cert and ca_path; nil means the system's roots.
	RootCAs       *x509.CertPool
	TLSSkipVerify bool
	TLSServerName string
	// ClientCert is client_cert and client_key; nil means none.
	ClientCert *tls.Certificate
	// Timeout bounds the helper's whole run.
	Timeout time.Duration
	Dev     bool
	// Syslog is nil when syslog_facility is unset.
	Syslog *Syslog
	// Mode names the mode the file selects; "" when no mode was offered.
	Mode string
	// ModeSettings is what that mode's Parse made of its keys.
	ModeSettings any
}

// Addrs is VaultAddrs, for agent.Settings.
func (c *Config) Addrs() []*url.URL { return c.VaultAddrs }

// VaultNamespace is namespace, for agent.Settings.
func (c *Config) VaultNamespace() string { return c.Namespace }

// TLSClientConfig is what the file sets about TLS, for agent.Settings; each
// call makes a fresh one.
func (c *Config) TLSClientConfig() *tls.Config {
	t := &tls.Config{
		RootCAs:            c.RootCAs,
		ServerName:         c.TLSServerName,
		InsecureSkipVerify: c.TLSSkipVerify, //nolint:gosec // the operator's explicit choice
	}
	if c.ClientCert != nil {
		t.Certificates = []tls.Certificate{*c.ClientCert}
	}
	return t
}

// Options carries what the command line changes about loading.
type Options struct {
	// Dev allows an http:// vault_addr (and refuses https://), as the
	// original's -dev does, and ignores ca_cert and ca_path.
	Dev   bool
	Modes []Mode
}

// Load reads, parses and validates the file at path.
func Load(path string, opts Options) (*Config, error) {
	data, _, err := trust.ReadFile(path, "config file", "/", maxFileSize)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data, opts)
	if err != nil {
		return nil, fmt.Errorf("config file %q: %w", path, err)
	}
	return cfg, nil
}

// Parse is Load without reading the config file; ca_cert and ca_path are
// still read.
func Parse(data []byte, opts Options) (*Config, error) {
	keys, err := decode(data, opts.Modes)
	if keys == nil {
		return nil, err
	}
	cfg, more := validate(keys, opts)
	if err := errors.Join(err, more); err != nil {
		return nil, err
	}
	return cfg, nil
}
