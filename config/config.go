// Package config reads the helper's HCL (or JSON) file into a typed, fully
// validated Config. Every check that can run before a login does run here, and
// every problem in the file is reported at once, so an operator fixes the file
// in one pass instead of one login attempt per mistake.
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

// Default values for keys the file may leave out.
const (
	DefaultTimeout = 10 * time.Second
	MinTimeout     = 1 * time.Second
	MaxTimeout     = 60 * time.Second

	// maxFileSize bounds what we read: a config file is a few hundred bytes,
	// and a root helper should not slurp whatever a path happens to point at.
	maxFileSize = 1 << 20
)

// Config is the validated content of the file. Nothing downstream parses a
// string from the file again.
type Config struct {
	// VaultAddr is the first of VaultAddrs.
	VaultAddr *url.URL
	// VaultAddrs are vault_addr's comma-separated URLs in the order they
	// are tried: each an http(s) URL with a host, scheme rules for -dev
	// already applied, no two the same.
	VaultAddrs []*url.URL
	// Namespace is sent as X-Vault-Namespace when not empty.
	Namespace string
	// RootCAs holds the certificates of ca_cert and ca_path; nil means the
	// system's roots.
	RootCAs       *x509.CertPool
	TLSSkipVerify bool
	TLSServerName string
	// ClientCert is presented to Vault when it asks for one (client_cert
	// and client_key); nil means none.
	ClientCert *tls.Certificate
	// Timeout bounds the helper's whole run.
	Timeout time.Duration
	// Dev records that -dev relaxed the scheme rules.
	Dev bool
	// Syslog is where each login's summary line goes besides stderr; nil
	// when syslog_facility is unset.
	Syslog *Syslog
	// Mode names the mode the file selects (Options.Modes); "" when no
	// mode was offered.
	Mode string
	// ModeSettings is what that mode's Parse made of its keys.
	ModeSettings any
}

// Addrs lists the Vault addresses in the order they are tried. A Config
// built by hand with VaultAddr alone has that one.
func (c *Config) Addrs() []*url.URL {
	if len(c.VaultAddrs) == 0 && c.VaultAddr != nil {
		return []*url.URL{c.VaultAddr}
	}
	return c.VaultAddrs
}

// VaultNamespace is namespace ("" for none), for agent.Settings.
func (c *Config) VaultNamespace() string { return c.Namespace }

// TLSClientConfig is what the file sets about TLS, for agent.Settings: the
// roots of ca_cert and ca_path (nil: the system's), tls_server_name,
// tls_skip_verify and the client pair. Each call makes a fresh one; agent
// adds what is not the operator's to choose (the minimum version).
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
	Dev bool
	// Modes are the modes the file may select; their keys are the only
	// ones besides the shared ones that the file may set.
	Modes []Mode
}

// Load reads, parses and validates the file at path. The error, when not nil,
// joins every problem found (errors.Join), each naming its key.
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

// Parse validates the file's content. It is Load without the file system
// checks on the config file itself; ca_cert and ca_path are still read.
func Parse(data []byte, opts Options) (*Config, error) {
	keys, problems := decode(data, opts.Modes)
	if keys == nil {
		return nil, errors.Join(problems...)
	}
	cfg, more := validate(keys, opts)
	if err := errors.Join(append(problems, more...)...); err != nil {
		return nil, err
	}
	return cfg, nil
}
