package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Sentinels for a file or directory refused by the StrictModes rule; the
// messages built on them name the path and the command that fixes it.
var (
	// ErrUnsafePermissions: writable by group or others (the sticky bit
	// is no excuse).
	ErrUnsafePermissions = errors.New("writable by group or others")
	// ErrUnsafeOwner: owned by a user other than root or the one running
	// the helper.
	ErrUnsafeOwner = errors.New("not owned by root")
)

// unsafeError carries one of the sentinels under a message that reads well
// on its own in the log.
type unsafeError struct {
	kind error
	msg  string
}

func (e *unsafeError) Error() string { return e.msg }
func (e *unsafeError) Unwrap() error { return e.kind }

// readTrusted reads a file the helper will trust, refusing what sshd's
// StrictModes would refuse: a file that someone other than its owner (root
// or the user running the helper) can change or replace, through the file
// itself or through any directory on its path.
func readTrusted(path, what string) ([]byte, error) {
	data, _, err := readTrustedInfo(path, what, "/")
	return data, err
}

// readTrustedInfo is readTrusted that also returns what the opened file
// is, for a caller that holds the file to a further rule. path lies under
// checked: a directory, its links resolved, that has passed the rule with
// every directory above it ("/" when nothing has been checked yet); only
// what lies below it is resolved and checked again.
func readTrustedInfo(path, what, checked string) ([]byte, os.FileInfo, error) {
	// The type is checked before open(2): opening a device can act (a
	// watchdog starts, a tape rewinds), a FIFO can block, and /dev/stdin
	// under pam_exec is the typed password. It is checked before the links
	// are resolved too, as the kernel follows /proc's links (/dev/stdin to
	// "pipe:[…]") where no path leads.
	before, err := os.Stat(path)
	if err != nil {
		return nil, nil, statError(path, what, err)
	}
	if err := checkRegular(path, what, before); err != nil {
		return nil, nil, err
	}
	resolved, err := resolveTrusted(path, what, false, checked)
	if err != nil {
		return nil, nil, err
	}
	if resolved != path {
		// Through links: the file to compare the opened one with is
		// the one at their end.
		if before, err = os.Stat(resolved); err != nil {
			return nil, nil, statError(path, what, err)
		}
		if err := checkRegular(path, what, before); err != nil {
			return nil, nil, err
		}
	}
	f, err := openNoWait(resolved)
	if err != nil {
		return nil, nil, statError(path, what, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	if err := checkUnchanged(path, what, before, info); err != nil {
		return nil, nil, err
	}
	if err := checkOwnership(path, what, info); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	if len(data) > maxFileSize {
		return nil, nil, fmt.Errorf("%s %q is larger than %d bytes", what, path, maxFileSize)
	}
	return data, info, nil
}

// maxLinks bounds the links followed for one path, as the kernel does.
const maxLinks = 40

var errTooManyLinks = errors.New("too many levels of symbolic links")

// resolveTrusted returns path with every link resolved, once every
// directory it went through has passed checkDirectory: each directory above
// the file and each directory holding a link on the way (whoever can write
// one could point the link elsewhere). With self, path is a directory and
// is checked too. Resolution starts at checked (see readTrustedInfo) when
// path lies under it. Only root or the helper's user can then rename anything
// on the returned path, so what is opened by it is what was checked.
//
// filepath.EvalSymlinks is not enough: it answers where the links lead now,
// not whether anyone else could change that.
func resolveTrusted(path, what string, self bool, checked string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	current, todo, links := "/", splitPath(abs), 0
	if rel, ok := below(checked, abs); ok {
		// "/" and every directory above checked passed with it.
		current, todo = checked, splitPath(rel)
	} else if err := checkDirectory(path, what, "/"); err != nil {
		return "", err
	}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if name == ".." {
			// A prefix of current, checked on the way down.
			current = filepath.Dir(current)
			continue
		}
		next := child(current, name)
		info, err := os.Lstat(next)
		if err != nil {
			return "", statError(path, what, err)
		}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			if links++; links > maxLinks {
				return "", statError(path, what, errTooManyLinks)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", statError(path, what, err)
			}
			if filepath.IsAbs(target) {
				current = "/"
			}
			todo = append(splitPath(target), todo...)
		case len(todo) == 0 && !self:
			return next, nil
		case !info.IsDir():
			return "", statError(path, what, syscall.ENOTDIR)
		default:
			if err := checkDirectoryInfo(path, what, next, info); err != nil {
				return "", err
			}
			current = next
		}
	}
	return current, nil
}

// below returns abs relative to checked when abs lies under checked, a
// checked directory other than "/".
func below(checked, abs string) (string, bool) {
	if checked == "/" {
		return "", false
	}
	rel, err := filepath.Rel(checked, abs)
	return rel, err == nil && filepath.IsLocal(rel)
}

// child is filepath.Join(dir, name) for a clean absolute dir and a name
// from splitPath (neither ".." nor "."), without cleaning again what is
// clean: the walk joins once per directory on every trusted file's path.
func child(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// splitPath lists p's names, leaving out the empty ones and ".".
func splitPath(p string) []string {
	var names []string
	for _, name := range strings.Split(filepath.ToSlash(p), "/") {
		if name != "" && name != "." {
			names = append(names, name)
		}
	}
	return names
}

// checkDirectory refuses a directory on a trusted file's path that anyone
// but root (or the helper's user) can write: they could rename the file
// away and put their own, or a link to another file, in its place. The
// sticky bit is no exception, unlike for some of sshd's callers: a shared
// directory like /tmp lets anyone create the name first.
func checkDirectory(path, what, dir string) error {
	info, err := os.Lstat(dir)
	if err != nil {
		return statError(path, what, err)
	}
	if !info.IsDir() {
		return statError(path, what, syscall.ENOTDIR)
	}
	return checkDirectoryInfo(path, what, dir, info)
}

// checkDirectoryInfo is checkDirectory for a directory already looked at.
func checkDirectoryInfo(path, what, dir string, info os.FileInfo) error {
	mode := info.Mode()
	if mode.Perm()&0o022 != 0 {
		if mode&os.ModeSticky != 0 {
			return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
				"%s %q: directory %q is writable by group or others (mode %04o, sticky); move the file to a directory only root can write",
				what, path, dir, unixMode(mode))}
		}
		return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
			"%s %q: directory %q is writable by group or others (mode %04o); run: chmod go-w %s",
			what, path, dir, unixMode(mode), dir)}
	}
	if uid, ok := ownerOf(info); ok && !trustedOwner(uid) {
		return &unsafeError{ErrUnsafeOwner, fmt.Sprintf(
			"%s %q: directory %q is owned by uid %d, not by root; run: chown root %s",
			what, path, dir, uid, dir)}
	}
	return nil
}

// checkOwnership refuses a file or directory writable by group or others, or
// owned by a user other than root or ourselves.
func checkOwnership(path, what string, info os.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
			"%s %q is writable by group or others (mode %04o); run: chmod go-w %s", what, path, perm, path)}
	}
	if uid, ok := ownerOf(info); ok && !trustedOwner(uid) {
		return &unsafeError{ErrUnsafeOwner, fmt.Sprintf(
			"%s %q is owned by uid %d, not by root; run: chown root %s", what, path, uid, path)}
	}
	return nil
}

// trustedOwner is the one owner rule for files and directories alike: root,
// or the user the helper runs as (a test, or -verify-only run by hand), who
// could write anything of its own anyway.
func trustedOwner(uid int) bool {
	return uid == 0 || uid == os.Geteuid()
}

// unixMode is the mode as chmod(1) and ls(1) show it, sticky bit included.
func unixMode(m os.FileMode) uint32 {
	mode := uint32(m.Perm())
	if m&os.ModeSticky != 0 {
		mode |= 0o1000
	}
	if m&os.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&os.ModeSetuid != 0 {
		mode |= 0o4000
	}
	return mode
}

// CheckDirectory reports why the helper would refuse any file kept in dir
// (dir or a directory above it, or one holding a link on the way, that
// group or others can write or that someone else owns), or nil. what names
// dir in the message.
func CheckDirectory(what, dir string) error {
	_, err := resolveTrusted(dir, what, true, "/")
	return err
}
