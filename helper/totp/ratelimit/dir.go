package ratelimit

import (
	"errors"
	"os"
	"path/filepath"
)

// ensureDir makes sure dir is a directory only root (or we) can look into or
// change, creating it when it is missing and its parent is safe. A directory
// others can write would let them plant or remove a user's failures; one
// others can read tells who has been failing.
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
	return checkDir(dir, info)
}

// createDir makes dir 0700 only under a parent nobody but root (or we) can
// change: under any other parent, someone could swap it after the check.
func createDir(dir string) error {
	parent := filepath.Dir(dir)
	info, err := os.Stat(parent)
	if err != nil {
		return stateErr(err, "state_dir %q does not exist and its parent cannot be used: %v", dir, errText(err))
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return stateErr(nil, "state_dir %q does not exist and its parent %q is writable by group or others (mode %04o); create it: install -d -m 0700 %s",
			dir, parent, perm, dir)
	}
	if uid, ok := ownerOf(info); ok && !trustedOwner(uid) {
		return stateErr(nil, "state_dir %q does not exist and its parent %q is owned by uid %d, not by root; create it: install -d -m 0700 %s",
			dir, parent, uid, dir)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return stateErr(err, "state_dir %q cannot be created: %v", dir, errText(err))
	}
	return nil
}

func checkDir(dir string, info os.FileInfo) error {
	if !info.IsDir() {
		return stateErr(nil, "state_dir %q is not a directory", dir)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return stateErr(nil, "state_dir %q is accessible by group or others (mode %04o); run: chmod 0700 %s",
			dir, perm, dir)
	}
	if uid, ok := ownerOf(info); ok && !trustedOwner(uid) {
		return stateErr(nil, "state_dir %q is owned by uid %d, not by root; run: chown root %s",
			dir, uid, dir)
	}
	return nil
}

func trustedOwner(uid int) bool {
	return uid == 0 || uid == os.Geteuid()
}
