// Package trust owns one question: may root trust this path? A file or
// directory is trusted when nobody but root (or the user running the helper)
// can change or replace it: not through its own mode or owner, not through
// any directory from "/" down to it, and not through a symbolic link on the
// way (each link is resolved one name at a time and the directory holding it
// is held to the rule). This is sshd's StrictModes rule without its sticky
// bit exception. Every trusted path of the helper goes through here. The
// package is standard library only, so the rate-limit package can use it.
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

// unsafeError carries a sentinel under a message that reads well alone.
type unsafeError struct {
	kind error
	msg  string
}

func (e *unsafeError) Error() string { return e.msg }
func (e *unsafeError) Unwrap() error { return e.kind }

// ReadFile reads the regular file at path, at most max bytes, once it has
// passed the rule, and returns what the opened file is for a caller with a
// further rule (a key must not be readable by others). what names the path
// in messages ("config file"). checked is a directory, links resolved, that
// passed the rule with every one above it ("/" for none); only what lies
// below it is resolved and checked again.
func ReadFile(path, what, checked string, max int) ([]byte, os.FileInfo, error) {
	resolved, before, err := locate(path, what, checked)
	if err != nil {
		return nil, nil, err
	}
	// resolved has no link left: one found now was put there since, and
	// O_NOFOLLOW refuses it.
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

// readAtMost reads f up to most+1 bytes. The buffer is sized from size,
// what fstat(2) gave, as os.ReadFile does: a file of that size costs one
// read(2) and the one that finds its end, not io.ReadAll's 512-byte steps.
func readAtMost(f io.Reader, size int64, most int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(max(size, 0), int64(most))) + 1)
	if _, err := buf.ReadFrom(io.LimitReader(f, int64(most)+1)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// locate returns the regular file at path with its links resolved once every
// directory on its way has passed the rule, and what it is to compare the
// opened file with.
func locate(path, what, checked string) (string, os.FileInfo, error) {
	// The type is checked before open(2): opening a device can act (a
	// watchdog starts, a tape rewinds), a FIFO can block, and /dev/stdin
	// under pam_exec is the typed password. It is checked before the links
	// are resolved too, as the kernel follows /proc's links (/dev/stdin to
	// "pipe:[…]") where no path leads.
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

// CheckUnchanged refuses a file that is not the one whose type was checked:
// the path was swapped between the stat and the open.
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
	return holdToRule(fmt.Sprintf("%s %q", what, path), path, info, uint32(info.Mode().Perm()))
}

// holdToRule refuses info, named by subject and fixed at fix, when it is
// writable by group or others or owned by anyone TrustedOwner refuses. mode
// is the mode as the message shows it.
func holdToRule(subject, fix string, info os.FileInfo, mode uint32) error {
	if info.Mode().Perm()&0o022 != 0 {
		return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
			"%s is writable by group or others (mode %04o); run: chmod go-w %s", subject, mode, fix)}
	}
	if uid, ok := Owner(info); ok && !TrustedOwner(uid) {
		return &unsafeError{ErrUnsafeOwner, fmt.Sprintf(
			"%s is owned by uid %d, not by root; run: chown root %s", subject, uid, fix)}
	}
	return nil
}

// TrustedOwner is the one owner rule for files and directories alike: root,
// or the user the helper runs as (a test, or -verify-only run by hand), who
// could write anything of its own anyway.
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

// OpenNoFollow opens path with flag, following no link at its last name (a
// link planted there since it was checked fails with ELOOP), waiting on no
// FIFO (a path swapped for one would block open(2) forever, before any
// budget exists) and leaking no descriptor to a child.
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
}

// Resolve returns path, a file, with every link resolved, once every
// directory it went through has passed the rule. The file itself is not
// looked at: the caller opens it and checks what it opened. checked is as
// for ReadFile.
func Resolve(path, what, checked string) (string, error) {
	return resolve(path, path, what, lastFile, checked)
}

// Directory returns dir with every link resolved once dir itself and every
// directory above it or holding a link on the way has passed the rule. what
// names dir in the messages.
func Directory(what, dir string) (string, error) {
	return resolve(dir, dir, what, lastDirectory, "/")
}

// Parent is Directory for the directory that holds path (which need not
// exist yet); messages name path.
func Parent(what, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	return resolve(path, filepath.Dir(abs), what, lastDirectory, "/")
}

// lastName says what resolve knows of target's last name.
type lastName int

const (
	lastFile      lastName = iota // a file's, possibly a link
	lastPlainFile                 // a file's the caller saw is no link: not looked at again
	lastDirectory                 // a directory's, held to the rule too
)

// resolve returns target with every link resolved, once each directory
// above it and each directory holding a link on the way (whoever can write
// one could point the link elsewhere) has passed the rule, and target
// itself when it is a directory. Only root or the helper's user can then
// rename anything on the returned path, so what is opened by it is what was
// checked. The walk starts at checked when target lies under it. Messages
// name path with what. filepath.EvalSymlinks is not enough: it answers
// where the links lead now, not whether anyone else could change that.
func resolve(path, target, what string, last lastName, checked string) (string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	current, todo, links := "/", splitPath(abs), 0
	if rel, ok := below(checked, abs); ok {
		current, todo = checked, splitPath(rel)
	} else if err := checkRoot(path, what); err != nil {
		return "", err
	}
	for len(todo) > 0 {
		name, final := todo[0], len(todo) == 1
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
		if (!final || last == lastDirectory) && remembered(next) {
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

// below returns abs relative to checked when abs lies under checked, a
// checked directory other than "/".
func below(checked, abs string) (string, bool) {
	if checked == "/" {
		return "", false
	}
	rel, err := filepath.Rel(checked, abs)
	return rel, err == nil && filepath.IsLocal(rel)
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

func checkRoot(path, what string) error {
	if remembered("/") {
		return nil
	}
	info, err := os.Lstat("/")
	if err != nil {
		return StatError(path, what, err)
	}
	return checkDirectory(path, what, "/", info)
}

// checkDirectory refuses a directory on a trusted path that anyone but root
// (or the helper's user) can write: they could rename the file away and put
// their own, or a link to another file, in its place. The sticky bit is no
// exception, unlike for some of sshd's callers: a shared directory like
// /tmp lets anyone create the name first. A directory that passes is
// remembered for the run.
func checkDirectory(path, what, dir string, info os.FileInfo) error {
	mode := uint32(info.Mode().Perm())
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		mode = uint32(st.Mode) & 0o7777 // as chmod(1) shows it, sticky bit included
	}
	subject := fmt.Sprintf("%s %q: directory %q", what, path, dir)
	if info.Mode().Perm()&0o022 != 0 && info.Mode()&os.ModeSticky != 0 {
		return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
			"%s is writable by group or others (mode %04o, sticky); move the file to a directory only root can write",
			subject, mode)}
	}
	if err := holdToRule(subject, dir, info, mode); err != nil {
		return err
	}
	if m := run.Load(); m != nil {
		m.Store(dir, true)
	}
	return nil
}

// run remembers the directories that passed the rule during one run, as
// the config file, its certificates, token and AppRole files and state_dir
// share most of theirs; nil when no run remembers. This is sound for the
// length of a run: a directory that passed, with every one above it, can be
// changed or replaced only by root or the helper's user. A refused directory
// is not kept: it is walked and refused again, with its message.
var run atomic.Pointer[sync.Map]

// Remember starts a run's memory of the directories that passed the rule,
// so that each is looked at once per run, and returns what ends it. Call
// it where one run of the helper starts (internal/plumbing does) and end it
// where the run ends: a process that changes directories' modes between two
// runs (a test) must not carry one run's answers into the next. Starting a
// memory replaces the one before; ending a memory that was replaced does
// nothing.
func Remember() (forget func()) {
	m := new(sync.Map)
	run.Store(m)
	return func() { run.CompareAndSwap(m, nil) }
}

// remembered says whether dir, a clean absolute path with no link on it,
// passed the rule earlier in this run.
func remembered(dir string) bool {
	m := run.Load()
	if m == nil {
		return false
	}
	_, ok := m.Load(dir)
	return ok
}
