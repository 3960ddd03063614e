package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// validate turns the file's keys into a Config, joining every problem.
func validate(keys Keys, opts Options) (*Config, error) {
	cfg := &Config{Dev: opts.Dev, TLSSkipVerify: keys["tls_skip_verify"] == "true"}
	var addrErr, namespaceErr, serverNameErr, modeErr, timeoutErr, syslogErr, caErr, clientErr error
	cfg.VaultAddrs, addrErr = parseVaultAddrs(keys["vault_addr"], keys.Has("vault_addr"), opts.Dev)
	cfg.Namespace, namespaceErr = parseNamespace(keys["namespace"])
	cfg.TLSServerName, serverNameErr = parseServerName(keys["tls_server_name"])
	cfg.Mode, cfg.ModeSettings, modeErr = parseMode(opts.Modes, keys)
	cfg.Timeout, timeoutErr = parseTimeout(keys["timeout"], keys.Has("timeout"))
	cfg.Syslog, syslogErr = parseSyslog(keys["syslog_facility"], keys.Has("syslog_facility"))
	// The original drops ca_cert and ca_path in dev mode; so do we, unread.
	// Client certificates only travel over TLS, which dev mode refuses.
	if !opts.Dev {
		cfg.RootCAs, caErr = loadRootCAs(strings.TrimSpace(keys["ca_cert"]), strings.TrimSpace(keys["ca_path"]))
		cfg.ClientCert, clientErr = loadClientCert(strings.TrimSpace(keys["client_cert"]), strings.TrimSpace(keys["client_key"]))
	}
	return cfg, errors.Join(addrErr, namespaceErr, serverNameErr, modeErr, timeoutErr, syslogErr, caErr, clientErr)
}

// parseVaultAddrs reads vault_addr as a comma-separated list of addresses,
// each held to the same rules; one address is the original's case, with
// the original's messages.
func parseVaultAddrs(s string, set, dev bool) ([]*url.URL, error) {
	entries := strings.Split(s, ",")
	var addrs []*url.URL
	var problems []error
	// firstSeen maps an address, as sameVault writes it, to how the
	// message names its first entry.
	firstSeen := map[string]string{}
	for i, entry := range entries {
		u, err := parseVaultAddr(entry, set, dev)
		if len(entries) > 1 && strings.TrimSpace(entry) == "" {
			err = fmt.Errorf("vault_addr entry %d of %d %w", i+1, len(entries), ErrEmpty)
		}
		if err != nil {
			problems = append(problems, err)
			continue
		}
		named := fmt.Sprintf("%q (entry %d)", quote.URL(strings.TrimSpace(entry)), i+1)
		if first, ok := firstSeen[sameVault(u)]; ok {
			problems = append(problems, fmt.Errorf("vault_addr %w: %s and %s", ErrAddrTwice, first, named))
			continue
		}
		firstSeen[sameVault(u)] = named
		addrs = append(addrs, u)
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return addrs, nil
}

// sameVault is what two spellings of one address have in common: the
// scheme and host in lower case, the port written out, the path without a
// trailing slash. A list naming one Vault twice would ask it twice.
func sameVault(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	host := strings.ToLower(u.Hostname())
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(host, port) + strings.TrimRight(u.EscapedPath(), "/")
}

func parseVaultAddr(s string, set, dev bool) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if set {
			return nil, fmt.Errorf("vault_addr %w", ErrEmpty)
		}
		return nil, fmt.Errorf("%w %q", ErrMissing, "vault_addr")
	}
	u, err := url.Parse(s)
	// Every message quotes the address through quote.URL, which removes a
	// password or a query value from the raw string, parsed or not.
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("vault_addr %q %w", quote.URL(s), ErrNotURL)
	// ForceQuery and a bare '#' catch the empty query and fragment too.
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("vault_addr %q %w", quote.URL(s), ErrAddrCarries)
	case dev && u.Scheme == "https":
		return nil, fmt.Errorf("vault_addr %q: %w", quote.URL(s), ErrDevHTTPS)
	case !dev && u.Scheme == "http":
		return nil, fmt.Errorf("vault_addr %q: %w", quote.URL(s), ErrNeedsHTTPS)
	}
	return u, nil
}

// VaultPath checks a mount point or path written under key: it becomes part
// of every request's path, so nothing in it may change which path that is.
// It returns the path without leading or trailing slashes.
func VaultPath(key, s string) (string, error) {
	trimmed := strings.Trim(strings.TrimSpace(s), "/")
	if trimmed == "" {
		return "", fmt.Errorf("%s %q %w", key, s, ErrEmpty)
	}
	if strings.ContainsAny(trimmed, "?#%\\") || strings.ContainsFunc(trimmed, isSpaceOrControl) {
		return "", fmt.Errorf("%s %q %w", key, s, ErrPathChars)
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("%s %q %w", key, s, ErrPathSegment)
		}
	}
	return trimmed, nil
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

func parseNamespace(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "", fmt.Errorf("namespace %q %w", s, ErrControlChar)
	}
	return s, nil
}

func parseServerName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsFunc(s, isSpaceOrControl) || strings.ContainsAny(s, "/:") {
		return "", fmt.Errorf("tls_server_name %q %w", s, ErrNotHostName)
	}
	return s, nil
}

func parseTimeout(s string, set bool) (time.Duration, error) {
	if !set {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("timeout %q %w like %q", s, ErrNotDuration, "10s")
	}
	if d < MinTimeout || d > MaxTimeout {
		return 0, fmt.Errorf("timeout %q %w %s to %s", s, ErrOutside, MinTimeout, MaxTimeout)
	}
	return d, nil
}

// Syslog says where the per-login summary line goes besides stderr.
type Syslog struct {
	// Facility is the code as syslog(3) numbers it (authpriv is 10).
	Facility int
	// Name is the facility as written in the file, lower case.
	Name string
}

// facilities are the codes of RFC 5424's table that a program may log
// with. kern (0) is left out: it is the kernel's, and syslog(3) replaces it
// with the default facility.
var facilities = map[string]int{
	"user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// parseSyslog reads syslog_facility: unset means no syslog at all, so a
// file written for the original changes nothing.
func parseSyslog(s string, set bool) (*Syslog, error) {
	if !set {
		return nil, nil
	}
	name := strings.ToLower(strings.TrimSpace(s))
	code, ok := facilities[name]
	if !ok {
		return nil, fmt.Errorf("syslog_facility %q %w", s, ErrNotFacility)
	}
	return &Syslog{Facility: code, Name: name}, nil
}
