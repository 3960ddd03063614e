package ratelimit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// lockRetry: the lock is held for a read and a write of a few bytes.
const lockRetry = 5 * time.Millisecond

// ensureDir makes sure dir is a private directory of root's, creating it
// when it is missing. Others able to write it could plant or remove a
// user's failures; able to read it, they learn who has been failing. Every
// directory from "/" down to dir is held to package trust's rule too:
// whoever can write one can swap dir for a fresh one, resetting every count.
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
	if !info.IsDir() {
		return stateErr(nil, "state_dir %q is not a directory", dir)
	}
	if err := checkPrivate("state_dir", dir, info, 0o700); err != nil {
		return err
	}
	if _, err := trust.Directory("state_dir", dir); err != nil {
		return stateErr(err, "%s", err)
	}
	return nil
}

// createDir makes dir only under a parent that nobody but root can change:
// under any other, someone could swap it after the check.
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

// checkPrivate: stricter than trust, not even readable by group or others.
func checkPrivate(what, path string, info os.FileInfo, want os.FileMode) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		var cause error
		if perm&0o022 != 0 {
			cause = trust.ErrUnsafePermissions
		}
		return stateErr(cause, "%s %q is accessible by group or others (mode %04o); run: chmod %04o %s", what, path, perm, want, path)
	}
	if uid, ok := trust.Owner(info); ok && !trust.TrustedOwner(uid) {
		return stateErr(trust.ErrUnsafeOwner, "%s %q is owned by uid %d, not by root; run: chown root %s", what, path, uid, path)
	}
	return nil
}

// openLocked opens the state file at path and takes its exclusive lock,
// trying until deadline or ctx's end but at least once.
func openLocked(ctx context.Context, path string, deadline time.Time, create bool) (*os.File, error) {
	f, err := openStateFile(path, create)
	if err != nil {
		return nil, err
	}
	if err := checkStateFile(f, path); err != nil {
		f.Close()
		return nil, err
	}
	if err := lockUntil(ctx, f, path, deadline); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openStateFile opens without following a symbolic link (someone able to
// plant one could point it at any file we would then truncate) and without
// blocking (a FIFO in its place would wait for a writer forever).
func openStateFile(path string, create bool) (*os.File, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := trust.OpenNoFollow(path, flags, 0o600)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, syscall.ELOOP):
		return nil, stateErr(err, "state file %q is a symbolic link; remove it: rm %s", path, path)
	}
	return nil, stateErr(err, "state file %q cannot be opened: %v", path, errText(err))
}

// checkStateFile refuses a file that is not ours alone: only root can put
// one in the directory, so any of these means the state was tampered with.
func checkStateFile(f *os.File, path string) error {
	info, err := f.Stat()
	if err != nil {
		return stateErr(err, "state file %q cannot be examined: %v", path, errText(err))
	}
	if !info.Mode().IsRegular() {
		return stateErr(nil, "state file %q is %s, not a regular file; remove it: rm %s", path, trust.FileKind(info.Mode()), path)
	}
	if err := checkPrivate("state file", path, info, 0o600); err != nil {
		return err
	}
	if n, ok := trust.Links(info); ok && n != 1 {
		return stateErr(nil, "state file %q has %d hard links; remove it: rm %s", path, n, path)
	}
	return nil
}

// lockUntil retries a non-blocking flock(2) of f's open file description
// instead of blocking in it: a blocked call cannot be given up when the
// login's budget runs out.
func lockUntil(ctx context.Context, f *os.File, path string, deadline time.Time) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return stateErr(err, "state file %q cannot be locked: %v", path, err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return stateErr(err, "state file %q stayed locked by another login until the time budget ran out", path)
		}
		t := time.NewTimer(min(wait, lockRetry))
		select {
		case <-ctx.Done():
			t.Stop()
			return stateErr(ctx.Err(), "state file %q stayed locked by another login until the time budget ran out", path)
		case <-t.C:
		}
	}
}
