package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// loadRootCAs reads ca_cert and ca_path into one pool. Both are held to the
// same rule as the config file: whoever can write a trusted CA can
// impersonate Vault and let anyone in. nil means "use the system's roots".
func loadRootCAs(caCert, caPath string) (*x509.CertPool, error) {
	if caCert == "" && caPath == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	var certErr, pathErr error
	if caCert != "" {
		certErr = addPEMFile(pool, caCert, "ca_cert", "/")
	}
	if caPath != "" {
		pathErr = addPEMDir(pool, caPath)
	}
	if err := errors.Join(certErr, pathErr); err != nil {
		return nil, err
	}
	return pool, nil
}

// addPEMFile adds the certificates of path, which lies under checked.
func addPEMFile(pool *x509.CertPool, path, key, checked string) error {
	data, _, err := trust.ReadFile(path, key, checked, maxFileSize)
	if err != nil {
		return err
	}
	n, err := appendCertificates(pool, data)
	if err != nil {
		return fmt.Errorf("%s %q: %w", key, path, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %q holds no PEM certificate", key, path)
	}
	return nil
}

// addPEMDir loads every file under dir, subdirectories included, as the
// original's ca_path does. A file that is not a certificate is an error, not
// a skip: a CA directory holds CAs only. Every directory is held to the
// config file's rule, since whoever can write one can add a CA. A link to a
// directory is not followed, as in the original; ca_path itself may be a
// link, and the directory it leads to is walked (and named in messages).
func addPEMDir(pool *x509.CertPool, dir string) error {
	resolved, err := trust.Resolve(dir, "ca_path", "/")
	if err != nil {
		return err
	}
	info, err := os.Lstat(resolved)
	if err != nil {
		return trust.StatError(dir, "ca_path", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("ca_path %q is not a directory (use ca_cert for a single file)", dir)
	}
	if err := trust.CheckOwnership(dir, "ca_path", info); err != nil {
		return err
	}
	loaded := 0
	var problems []error
	// WalkDir visits entries in lexical order, so problems come out in a
	// stable order; the function never fails, so neither does WalkDir.
	_ = filepath.WalkDir(resolved, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			err = fmt.Errorf("ca_path %q cannot be read: %w", path, errors.Unwrap(err))
		case path == resolved || isLinkToDirectory(path, d): // checked above; not followed
		case d.IsDir():
			if err = checkSubdirectory(path, d); err != nil {
				problems = append(problems, err)
				return fs.SkipDir
			}
		default:
			// The walk checked every directory down to path's, and follows
			// no link: only a link at path itself is left to resolve.
			if err = addPEMFile(pool, path, "ca_path file", filepath.Dir(path)); err == nil {
				loaded++
			}
		}
		if err != nil {
			problems = append(problems, err)
		}
		return nil
	})
	if err := errors.Join(problems...); err != nil {
		return err
	}
	if loaded == 0 {
		return fmt.Errorf("ca_path %q holds no PEM certificate", dir)
	}
	return nil
}

func checkSubdirectory(path string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return fmt.Errorf("ca_path directory %q cannot be read: %w", path, errors.Unwrap(err))
	}
	return trust.CheckOwnership(path, "ca_path directory", info)
}

func isLinkToDirectory(path string, d fs.DirEntry) bool {
	if d.Type()&fs.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// appendCertificates adds each CERTIFICATE block, refusing blocks that do not
// parse rather than skipping them as x509.CertPool.AppendCertsFromPEM does.
func appendCertificates(pool *x509.CertPool, data []byte) (int, error) {
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return n, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return n, fmt.Errorf("certificate %d does not parse: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
}

// loadClientCert reads the certificate and key the helper presents to a
// Vault that requires client certificates. The key is held to a stricter
// rule than the other files: no one but its owner and group may read it.
func loadClientCert(certPath, keyPath string) (*tls.Certificate, error) {
	switch {
	case certPath == "" && keyPath == "":
		return nil, nil
	case certPath == "":
		return nil, fmt.Errorf("client_key is set but client_cert is not: %w", ErrSetBothOrNeither)
	case keyPath == "":
		return nil, fmt.Errorf("client_cert is set but client_key is not: %w", ErrSetBothOrNeither)
	}
	certPEM, _, err := trust.ReadFile(certPath, "client_cert", "/", maxFileSize)
	if err != nil {
		return nil, err
	}
	keyPEM, keyInfo, err := trust.ReadFile(keyPath, "client_key", "/", maxFileSize)
	if err != nil {
		return nil, err
	}
	// The file that was read is checked, not the path again.
	if perm := keyInfo.Mode().Perm(); perm&0o004 != 0 {
		return nil, fmt.Errorf("client_key %q %w (mode %04o); run: chmod o-r %s", keyPath, ErrKeyReadable, perm, keyPath)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("client_cert %q and client_key %q: %w", certPath, keyPath, err)
	}
	return &pair, nil
}
