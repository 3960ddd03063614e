// Package trust owns one question: may root trust this path? Yes when nobody
// but root (or the helper's user) can change or replace it: not through its
// own mode or owner, not through any directory from "/" down to it, and not
// through a symbolic link on the way (each is resolved one name at a time and
// the directory holding it is held to the rule). This is sshd's StrictModes
// without its sticky bit exception, for every path the helper trusts.
package trust

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Sentinels for a path refused by the rule; the messages built on them name
// the path and the command that fixes it.
var (
	ErrUnsafePermissions = errors.New("writable by group or others") // sticky or not
	ErrUnsafeOwner       = errors.New("not owned by root")           // nor by the helper's user
	ErrNotExist          = errors.New("does not exist")
	ErrIsDirectory       = errors.New("is a directory, not a file")
	ErrNotRegular        = errors.New("is not a regular file")
)

// unsafeError carries a sentinel under a message of its own.
type unsafeError struct {
	kind error
	msg  string
}

func (e *unsafeError) Error() string { return e.msg }
func (e *unsafeError) Unwrap() error { return e.kind }

// ReadFile reads the regular file at path, at most max bytes, once it has
// passed the rule, and returns what the opened file is for a further rule (a
// key not readable by others). what names path in messages. checked is a
// directory, links resolved, that passed with every one above it ("/" for
// none): only what lies below it is resolved and checked again.
func ReadFile(path, what, checked string, max int) ([]byte, os.FileInfo, error) {
	resolved, before, err := locate(path, what, checked)
	if err != nil {
		return nil, nil, err
	}
	// A link found on resolved now was planted since: O_NOFOLLOW refuses it.
	f, err := OpenNoFollow(resolved, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, StatError(path, what, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	if err := CheckUnchanged(path, what, before, info); err != nil {
		return nil, nil, err
	}
	if err := CheckOwnership(path, what, info); err != nil {
		return nil, nil, err
	}
	data, err := readAtMost(f, info.Size(), max)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	if len(data) > max {
		return nil, nil, fmt.Errorf("%s %q is larger than %d bytes", what, path, max)
	}
	return data, info, nil
}

// readAtMost reads f up to most+1 bytes into a buffer sized from fstat's
// size, as os.ReadFile does: one allocation (ReadFrom wants MinRead bytes
// free before each read), one read(2) and one to find the end.
func readAtMost(f io.Reader, size int64, most int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(max(size, 0), int64(most))) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, int64(most)+1)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// locate returns the regular file at path, links resolved, once every
// directory on its way has passed the rule, and what it is.
func locate(path, what, checked string) (string, os.FileInfo, error) {
	// The type is checked before open(2): opening a device can act (a tape
	// rewinds), a FIFO can block, /dev/stdin under pam_exec is the password.
	// And before the walk, as the kernel follows /proc's links (/dev/stdin
	// to "pipe:[…]") where no path leads.
	last := lastPlainFile
	before, err := os.Lstat(path)
	if err == nil && before.Mode()&os.ModeSymlink != 0 {
		last = lastFile
		before, err = os.Stat(path)
	}
	if err != nil {
		return "", nil, StatError(path, what, err)
	}
	if err := checkRegular(path, what, before); err != nil {
		return "", nil, err
	}
	resolved, err := resolve(path, path, what, last, checked)
	if err != nil || resolved == path {
		return resolved, before, err
	}
	// The file to compare the opened one with is the one the walk found.
	if before, err = os.Stat(resolved); err != nil {
		return "", nil, StatError(path, what, err)
	}
	return resolved, before, checkRegular(path, what, before)
}

// CheckUnchanged refuses a file swapped between the stat and the open.
func CheckUnchanged(path, what string, checked, opened os.FileInfo) error {
	if !os.SameFile(checked, opened) {
		return fmt.Errorf("%s %q was replaced while it was being read", what, path)
	}
	return nil
}

// StatError words a failure to look at path. The message names the path
// as configured, so an *fs.PathError's own path is dropped.
func StatError(path, what string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s %q %w", what, path, ErrNotExist)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s %q cannot be read: %w", what, path, err)
}

func checkRegular(path, what string, info os.FileInfo) error {
	if info.IsDir() {
		return fmt.Errorf("%s %q %w", what, path, ErrIsDirectory)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s %q %w (%s)", what, path, ErrNotRegular, FileKind(info.Mode()))
	}
	return nil
}

// FileKind names a non-regular file's type for a message.
func FileKind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	}
	return "type " + m.Type().String()
}

// CheckOwnership holds a file or directory to the rule. It looks at info,
// which the caller took from what it opened, not at the path again.
func CheckOwnership(path, what string, info os.FileInfo) error {
	subject := func() string { return fmt.Sprintf("%s %q", what, path) }
	return holdToRule(subject, path, info, uint32(info.Mode().Perm()))
}

// holdToRule refuses info, named by subject, fixed at fix and showing mode,
// when group or others can write it or TrustedOwner refuses its owner.
// subject is formatted only for a refusal: most paths pass, every run.
func holdToRule(subject func() string, fix string, info os.FileInfo, mode uint32) error {
	if info.Mode().Perm()&0o022 != 0 {
		return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
			"%s is writable by group or others (mode %04o); run: chmod go-w %s", subject(), mode, fix)}
	}
	if uid, ok := Owner(info); ok && !TrustedOwner(uid) {
		return &unsafeError{ErrUnsafeOwner, fmt.Sprintf(
			"%s is owned by uid %d, not by root; run: chown root %s", subject(), uid, fix)}
	}
	return nil
}

// TrustedOwner is the one owner rule: root, or the helper's user (a test, or
// -verify-only run by hand), who could write anything of its own anyway.
func TrustedOwner(uid int) bool {
	return uid == 0 || uid == os.Geteuid()
}

// Owner is the uid that owns what info describes.
func Owner(info os.FileInfo) (int, bool) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), true
	}
	return 0, false
}

// Links is the number of hard links to what info describes.
func Links(info os.FileInfo) (uint64, bool) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink), true
	}
	return 0, false
}

// OpenNoFollow opens path following no link at its last name (one planted
// since the check fails with ELOOP), waiting on no FIFO (one swapped in would
// block open(2) forever, before any budget exists), leaking no descriptor.
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
}

// Resolve returns the file at path, links resolved, once every directory on
// its way has passed the rule (checked as for ReadFile); the caller checks
// what it opens.
func Resolve(path, what, checked string) (string, error) {
	return resolve(path, path, what, lastFile, checked)
}

// Directory returns dir, links resolved, once it and every directory on its
// way have passed the rule. what names dir in messages.
func Directory(what, dir string) (string, error) {
	return resolve(dir, dir, what, lastDirectory, "/")
}

// Parent is Directory for the directory holding path (which need not exist
// yet): path/.., made absolute and so clean by resolve. Messages name path.
func Parent(what, path string) (string, error) {
	return resolve(path, filepath.Join(path, ".."), what, lastDirectory, "/")
}

// lastName says what resolve knows of target's last name.
type lastName int

const (
	lastFile      lastName = iota // a file's, possibly a link
	lastPlainFile                 // a file's the caller saw is no link: not looked at again
	lastDirectory                 // a directory's, held to the rule too
)

// resolve returns target, links resolved, once each directory on the way,
// each holding a link (whoever can write one could point the link elsewhere)
// and target if a directory, has passed the rule: only root or the helper's
// user can then rename anything on the returned path. filepath.EvalSymlinks
// tells where links lead now, not whether anyone else could change that.
// The walk starts at "/", checked like any directory, or at checked when
// target lies under it. Messages name path with what.
func resolve(path, target, what string, last lastName, checked string) (string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	current, todo, links := "/", append([]string{"/"}, splitPath(abs)...), 0
	if rel, err := filepath.Rel(checked, abs); checked != "/" && err == nil && filepath.IsLocal(rel) {
		current, todo = checked, splitPath(rel)
	}
	for len(todo) > 0 {
		name, final := todo[0], len(todo) == 1 && todo[0] != "/"
		todo = todo[1:]
		if name == ".." {
			current = filepath.Dir(current) // checked on the way down
			continue
		}
		next := filepath.Join(current, name)
		if final && last == lastPlainFile {
			// Links before it change where it is, not what it is; the
			// caller opens it with O_NOFOLLOW and compares.
			return next, nil
		}
		if (!final || last == lastDirectory) && remembered(next) { // never a file
			current = next
			continue
		}
		info, err := os.Lstat(next)
		if err != nil {
			return "", StatError(path, what, err)
		}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			if links++; links > 40 { // the kernel's bound
				return "", StatError(path, what, syscall.ELOOP)
			}
			to, err := os.Readlink(next)
			if err != nil {
				return "", StatError(path, what, err)
			}
			if filepath.IsAbs(to) {
				current = "/"
			}
			todo = append(splitPath(to), todo...)
		case final && last != lastDirectory:
			return next, nil
		case !info.IsDir():
			return "", StatError(path, what, syscall.ENOTDIR)
		default:
			if err := checkDirectory(path, what, next, info); err != nil {
				return "", err
			}
			current = next
		}
	}
	return current, nil
}

// splitPath lists p's names, leaving out the empty ones and ".".
func splitPath(p string) []string {
	var names []string
	for _, name := range strings.Split(p, "/") {
		if name != "" && name != "." {
			names = append(names, name)
		}
	}
	return names
}

// checkDirectory refuses a directory others can write: they could put their
// own file, or a link, in place of the trusted one. The sticky bit is no
// exception, unlike for some of sshd's callers: in a shared directory like
// /tmp anyone can create the name first. What passes is remembered.
func checkDirectory(path, what, dir string, info os.FileInfo) error {
	mode := uint32(info.Mode().Perm())
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		mode = uint32(st.Mode) & 0o7777 // as chmod(1) shows it, sticky bit included
	}
	subject := func() string { return fmt.Sprintf("%s %q: directory %q", what, path, dir) }
	if info.Mode().Perm()&0o022 != 0 && info.Mode()&os.ModeSticky != 0 {
		return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
			"%s is writable by group or others (mode %04o, sticky); move the file to a directory only root can write",
			subject(), mode)}
	}
	if err := holdToRule(subject, dir, info, mode); err != nil {
		return err
	}
	if m := run.Load(); m != nil {
		m.Store(dir, true)
	}
	return nil
}

// run holds the directories that passed during this run; nil outside one.
var run atomic.Pointer[sync.Map]

// Remember starts a run's memory of the directories that passed the rule,
// which the trusted files mostly share, so each is looked at once per run,
// and returns what ends it (a replaced memory's end does nothing). Sound for
// a run: a directory that passed, with all above it, can change only by
// root's or the helper's hand. A process that changes modes between two runs
// (a test) must not carry one run's answers into the next.
func Remember() (forget func()) {
	m := new(sync.Map)
	run.Store(m)
	return func() { run.CompareAndSwap(m, nil) }
}

// remembered says whether dir (clean, absolute, link-free) passed this run.
func remembered(dir string) bool {
	m := run.Load()
	if m == nil {
		return false
	}
	_, ok := m.Load(dir)
	return ok
}
