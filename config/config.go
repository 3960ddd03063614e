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
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"time"
)

// Default values for keys the file may leave out.
const (
	DefaultMountPoint = "ssh"
	DefaultTimeout    = 10 * time.Second
	MinTimeout        = 1 * time.Second
	MaxTimeout        = 60 * time.Second

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
	// MountPoint is the SSH engine's mount, without leading or trailing
	// slashes; empty in a TOTP config.
	MountPoint string
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
	// AnyRole is set by allowed_roles = "*"; otherwise AllowedRoles lists the
	// trimmed role names.
	AnyRole      bool
	AllowedRoles []string
	// AllowedCIDRs are accepted for OTPs whose IP is not one of this host's.
	AllowedCIDRs []netip.Prefix
	// Timeout bounds the helper's whole run.
	Timeout time.Duration
	// Dev records that -dev relaxed the scheme rules.
	Dev bool
	// Syslog is where each login's summary line goes besides stderr; nil
	// when syslog_facility is unset.
	Syslog *Syslog
	// TOTP is set for a TOTP config (one with totp_mount_point) and nil for
	// an SSH OTP config; the SSH OTP fields above are then empty.
	TOTP *TOTP
}

// Addrs lists the Vault addresses in the order they are tried. A Config
// built by hand with VaultAddr alone has that one.
func (c *Config) Addrs() []*url.URL {
	if len(c.VaultAddrs) == 0 && c.VaultAddr != nil {
		return []*url.URL{c.VaultAddr}
	}
	return c.VaultAddrs
}

// Options carries what the command line changes about loading.
type Options struct {
	// Dev allows an http:// vault_addr (and refuses https://), as the
	// original's -dev does, and ignores ca_cert and ca_path.
	Dev bool
}

// ErrNotExist reports a config path with no file behind it.
var ErrNotExist = errors.New("does not exist")

// A path named as a file that is not one.
var (
	ErrIsDirectory = errors.New("is a directory, not a file")
	ErrNotRegular  = errors.New("is not a regular file")
)

// Load reads, parses and validates the file at path. The error, when not nil,
// joins every problem found (errors.Join), each naming its key.
func Load(path string, opts Options) (*Config, error) {
	data, err := readTrusted(path, "config file")
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
	raw, problems := decode(data)
	if raw == nil {
		return nil, errors.Join(problems...)
	}
	cfg, more := validate(raw, opts)
	problems = append(problems, more...)
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return cfg, nil
}

func statError(path, what string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s %q %w", what, path, ErrNotExist)
	}
	return fmt.Errorf("%s %q cannot be read: %w", what, path, withoutPath(err))
}

// withoutPath drops the path an *fs.PathError repeats: the message names
// the path as configured already. filepath.EvalSymlinks returns some errors
// bare.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkUnchanged refuses a file that is not the one whose type was checked:
// the path was swapped between the stat and the open.
func checkUnchanged(path, what string, checked, opened os.FileInfo) error {
	if !os.SameFile(checked, opened) {
		return fmt.Errorf("%s %q was replaced while it was being read", what, path)
	}
	return nil
}

func checkRegular(path, what string, info os.FileInfo) error {
	if info.IsDir() {
		return fmt.Errorf("%s %q %w", what, path, ErrIsDirectory)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s %q %w (%s)", what, path, ErrNotRegular, fileKind(info.Mode()))
	}
	return nil
}

// fileKind names a non-regular file's type for the error message.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	}
	return "type " + m.Type().String()
}
