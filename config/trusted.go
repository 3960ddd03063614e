package config

import (
	"os"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// Sentinels for a file or directory refused by the StrictModes rule, which
// package trust owns; the messages built on them name the path and the
// command that fixes it.
var (
	// ErrUnsafePermissions: writable by group or others (the sticky bit
	// is no excuse).
	ErrUnsafePermissions = trust.ErrUnsafePermissions
	// ErrUnsafeOwner: owned by a user other than root or the one running
	// the helper.
	ErrUnsafeOwner = trust.ErrUnsafeOwner
)

// readTrusted reads a file the helper will trust (see package trust).
func readTrusted(path, what string) ([]byte, error) {
	data, _, err := readTrustedInfo(path, what, "/")
	return data, err
}

// readTrustedInfo is readTrusted that also returns what the opened file
// is, for a caller that holds the file to a further rule. path lies under
// checked (see trust.ReadFile).
func readTrustedInfo(path, what, checked string) ([]byte, os.FileInfo, error) {
	return trust.ReadFile(path, what, checked, maxFileSize)
}
