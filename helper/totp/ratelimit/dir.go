package ratelimit

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// ensureDir makes sure dir is a directory only root (or we) can look into or
// change, creating it when it is missing and its parent is safe. A directory
// others can write would let them plant or remove a user's failures; one
// others can read tells who has been failing. Every directory from "/" down
// to dir, and each one holding a link on the way, is held to package trust's
// rule too: whoever can write any of them can swap dir for a fresh one and
// so reset every user's failures.
func ensureDir(dir string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := createDir(dir); err != nil {
			return err
		}
		info, err = os.Stat(dir)
	}
	if err != nil {
		return stateErr(err, "state_dir %q cannot be used: %v", dir, errText(err))
	}
	if err := checkDir(dir, info); err != nil {
		return err
	}
	if _, err := trust.Directory("state_dir", dir); err != nil {
		return stateErr(err, "%s", err)
	}
	return nil
}

// createDir makes dir 0700 only under a parent nobody but root (or we) can
// change, up to "/": under any other parent, someone could swap it after the
// check.
func createDir(dir string) error {
	if _, err := os.Stat(filepath.Dir(dir)); err != nil {
		return stateErr(err, "state_dir %q does not exist and its parent cannot be used: %v", dir, errText(err))
	}
	if _, err := trust.Parent("state_dir", dir); err != nil {
		return stateErr(err, "%s", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return stateErr(err, "state_dir %q cannot be created: %v", dir, errText(err))
	}
	return nil
}

// checkDir holds dir itself to a stricter rule than trust's: not even
// readable by others.
func checkDir(dir string, info os.FileInfo) error {
	if !info.IsDir() {
		return stateErr(nil, "state_dir %q is not a directory", dir)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return stateErr(modeProblem(perm), "state_dir %q is accessible by group or others (mode %04o); run: chmod 0700 %s",
			dir, perm, dir)
	}
	if uid, ok := trust.Owner(info); ok && !trust.TrustedOwner(uid) {
		return stateErr(trust.ErrUnsafeOwner, "state_dir %q is owned by uid %d, not by root; run: chown root %s",
			dir, uid, dir)
	}
	return nil
}

// modeProblem is the sentinel a refused private mode carries: trust's when
// others could write, none when they could only read.
func modeProblem(perm os.FileMode) error {
	if perm&0o022 != 0 {
		return trust.ErrUnsafePermissions
	}
	return nil
}
