// Package trust owns one question: may root trust this path? A file or
// directory is trusted when nobody but root (or the user running the helper)
// can change or replace it: not through its own mode or owner, not through
// any directory from "/" down to it, and not through a symbolic link on the
// way (each link is resolved one name at a time and the directory holding it
// is held to the rule). This is sshd's StrictModes rule without its sticky
// bit exception. Every trusted path of the helper goes through here: the
// config file, its certificate, token and AppRole files, the TOTP state
// directory and each state file. The package is standard library only, so the
// rate-limit package (standard library only too) can use it.
package trust

import (
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
	// ErrUnsafePermissions: writable by group or others (the sticky bit
	// is no excuse).
	ErrUnsafePermissions = errors.New("writable by group or others")
	// ErrUnsafeOwner: owned by a user other than root or the one running
	// the helper.
	ErrUnsafeOwner = errors.New("not owned by root")
	// ErrNotExist: no file behind the path.
	ErrNotExist = errors.New("does not exist")
	// ErrIsDirectory and ErrNotRegular: a path named as a file that is
	// not one.
	ErrIsDirectory = errors.New("is a directory, not a file")
	ErrNotRegular  = errors.New("is not a regular file")
)

// unsafeError carries one of the sentinels under a message that reads well
// on its own in the log.
type unsafeError struct {
	kind error
	msg  string
}

func (e *unsafeError) Error() string { return e.msg }
func (e *unsafeError) Unwrap() error { return e.kind }

// ReadFile reads the file at path once it has passed the rule, refusing
// anything but a regular file, and returns what the opened file is, for a
// caller that holds it to a further rule (a key must not be readable by
// others). what names the path in messages ("config file", "ca_cert").
// path lies under checked: a directory, its links resolved, that has passed
// the rule with every directory above it ("/" when nothing has been checked
// yet); only what lies below it is resolved and checked again. A file larger
// than max bytes is refused.
func ReadFile(path, what, checked string, max int) ([]byte, os.FileInfo, error) {
	f, info, err := open(path, what, checked)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := readAtMost(f, info.Size(), max)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	if len(data) > max {
		return nil, nil, fmt.Errorf("%s %q is larger than %d bytes", what, path, max)
	}
	return data, info, nil
}

// readAtMost reads f, whose size fstat(2) gave, up to max+1 bytes. The
// buffer is sized from size, as os.ReadFile does: a file of the size it
// had costs one read(2) and the one that finds its end, where io.ReadAll's
// 512-byte start costs a read and a copy more for a certificate. A file
// that grew since is read on, as far as max+1.
func readAtMost(f io.Reader, size int64, max int) ([]byte, error) {
	limit := int64(max) + 1
	n := limit
	if size >= 0 && size < limit {
		n = size + 1 // room for the read that finds the end
	}
	data := make([]byte, 0, n)
	r := io.LimitReader(f, limit)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		m, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+m]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// open opens path for reading once it and every directory on its way have
// passed the rule.
func open(path, what, checked string) (*os.File, os.FileInfo, error) {
	// The type is checked before open(2): opening a device can act (a
	// watchdog starts, a tape rewinds), a FIFO can block, and /dev/stdin
	// under pam_exec is the typed password. It is checked before the links
	// are resolved too, as the kernel follows /proc's links (/dev/stdin to
	// "pipe:[…]") where no path leads. A last name that is no link is
	// looked at once, here, not again by the walk.
	last := lastPlainFile
	before, err := os.Lstat(path)
	if err == nil && before.Mode()&os.ModeSymlink != 0 {
		last = lastFile
		before, err = os.Stat(path)
	}
	if err != nil {
		return nil, nil, StatError(path, what, err)
	}
	if err := CheckRegular(path, what, before); err != nil {
		return nil, nil, err
	}
	resolved, err := resolve(path, path, what, last, checked)
	if err != nil {
		return nil, nil, err
	}
	if resolved != path {
		// Through links: the file to compare the opened one with is
		// the one at their end.
		if before, err = os.Stat(resolved); err != nil {
			return nil, nil, StatError(path, what, err)
		}
		if err := CheckRegular(path, what, before); err != nil {
			return nil, nil, err
		}
	}
	// resolved has no link left: one found now was put there since, and
	// O_NOFOLLOW refuses it.
	f, err := OpenNoFollow(resolved, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, StatError(path, what, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	if err := CheckUnchanged(path, what, before, info); err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := CheckOwnership(path, what, info); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// CheckUnchanged refuses a file that is not the one whose type was checked:
// the path was swapped between the stat and the open.
func CheckUnchanged(path, what string, checked, opened os.FileInfo) error {
	if !os.SameFile(checked, opened) {
		return fmt.Errorf("%s %q was replaced while it was being read", what, path)
	}
	return nil
}

// StatError words a failure to look at path.
func StatError(path, what string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s %q %w", what, path, ErrNotExist)
	}
	return fmt.Errorf("%s %q cannot be read: %w", what, path, withoutPath(err))
}

// withoutPath drops the path an *fs.PathError repeats: the message names
// the path as configured already.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckRegular refuses anything but a regular file.
func CheckRegular(path, what string, info os.FileInfo) error {
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

// CheckOwnership refuses a file or directory writable by group or others, or
// owned by a user other than root or ourselves. It looks at info, which the
// caller took from what it opened, not at the path again.
func CheckOwnership(path, what string, info os.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
			"%s %q is writable by group or others (mode %04o); run: chmod go-w %s", what, path, perm, path)}
	}
	if uid, ok := Owner(info); ok && !TrustedOwner(uid) {
		return &unsafeError{ErrUnsafeOwner, fmt.Sprintf(
			"%s %q is owned by uid %d, not by root; run: chown root %s", what, path, uid, path)}
	}
	return nil
}

// TrustedOwner is the one owner rule for files and directories alike: root,
// or the user the helper runs as (a test, or -verify-only run by hand), who
// could write anything of its own anyway.
func TrustedOwner(uid int) bool {
	return uid == 0 || uid == os.Geteuid()
}

// UnixMode is the mode as chmod(1) and ls(1) show it, sticky bit included.
func UnixMode(m os.FileMode) uint32 {
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

// maxLinks bounds the links followed for one path, as the kernel does.
const maxLinks = 40

var errTooManyLinks = errors.New("too many levels of symbolic links")

// Resolve returns path, a file, with every link resolved, once every
// directory it went through has passed the rule (see resolve). The file
// itself is not looked at: the caller opens it and checks what it opened.
// checked is as for ReadFile.
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
	// lastFile: target is a file, its last name possibly a link.
	lastFile lastName = iota
	// lastPlainFile: target is a file whose last name the caller has
	// seen is no link (lstat(2)); the walk does not look at it again.
	lastPlainFile
	// lastDirectory: target is a directory, held to the rule too.
	lastDirectory
)

// resolve returns target with every link resolved, once every directory it
// went through has passed checkDirectory: each directory above the target
// and each directory holding a link on the way (whoever can write one could
// point the link elsewhere). last says whether target is a directory, which
// is checked too, or a file whose last name the caller has seen is no link.
// Resolution starts at checked when target lies under it. Only root or the
// helper's user can then rename anything on the returned path, so what is
// opened by it is what was checked. Messages name path with what.
//
// filepath.EvalSymlinks is not enough: it answers where the links lead now,
// not whether anyone else could change that.
func resolve(path, target, what string, last lastName, checked string) (string, error) {
	self := last == lastDirectory
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", fmt.Errorf("%s %q cannot be read: %w", what, path, err)
	}
	current, todo, links := "/", splitPath(abs), 0
	if rel, ok := below(checked, abs); ok {
		// "/" and every directory above checked passed with it.
		current, todo = checked, splitPath(rel)
	} else if err := checkRoot(path, what); err != nil {
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
		if len(todo) == 0 && last == lastPlainFile {
			// Links before it change where it is, not what it is;
			// the caller opens it with O_NOFOLLOW and compares.
			return next, nil
		}
		if (len(todo) > 0 || self) && passedBefore(next) {
			// A directory this run checked, under directories it
			// checked: only root or we could have changed it since.
			// A file's last name never comes from the memory.
			current = next
			continue
		}
		info, err := os.Lstat(next)
		if err != nil {
			return "", StatError(path, what, err)
		}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			if links++; links > maxLinks {
				return "", StatError(path, what, errTooManyLinks)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", StatError(path, what, err)
			}
			if filepath.IsAbs(target) {
				current = "/"
			}
			todo = append(splitPath(target), todo...)
		case len(todo) == 0 && !self:
			return next, nil
		case !info.IsDir():
			return "", StatError(path, what, syscall.ENOTDIR)
		default:
			if err := checkDirectoryInfo(path, what, next, info); err != nil {
				return "", err
			}
			passed(next)
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

// checkRoot is checkDirectory for "/", once per run.
func checkRoot(path, what string) error {
	if passedBefore("/") {
		return nil
	}
	if err := checkDirectory(path, what, "/"); err != nil {
		return err
	}
	passed("/")
	return nil
}

// checkDirectory refuses a directory on a trusted path that anyone but root
// (or the helper's user) can write: they could rename the file away and put
// their own, or a link to another file, in its place. The sticky bit is no
// exception, unlike for some of sshd's callers: a shared directory like
// /tmp lets anyone create the name first.
func checkDirectory(path, what, dir string) error {
	info, err := os.Lstat(dir)
	if err != nil {
		return StatError(path, what, err)
	}
	if !info.IsDir() {
		return StatError(path, what, syscall.ENOTDIR)
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
				what, path, dir, UnixMode(mode))}
		}
		return &unsafeError{ErrUnsafePermissions, fmt.Sprintf(
			"%s %q: directory %q is writable by group or others (mode %04o); run: chmod go-w %s",
			what, path, dir, UnixMode(mode), dir)}
	}
	if uid, ok := Owner(info); ok && !TrustedOwner(uid) {
		return &unsafeError{ErrUnsafeOwner, fmt.Sprintf(
			"%s %q: directory %q is owned by uid %d, not by root; run: chown root %s",
			what, path, dir, uid, dir)}
	}
	return nil
}

// memory holds the directories that passed the rule during one run: the
// config file, its certificate, token and AppRole files and state_dir
// usually share most of their directories, and each walk would otherwise
// lstat(2) "/" and every one of them again.
//
// Remembering is sound for the length of a run: a directory that passed,
// with every directory above it, can be changed or replaced only by root or
// the helper's own user, so it still passes, and its path still leads to it,
// until one of them changes it. Only directories that passed are kept; a
// refused one is walked again and refused again, with its message.
type memory struct {
	mu   sync.Mutex
	dirs map[string]struct{}
}

// current is the run's memory; nil when no run remembers (a test that
// checks, changes a directory and checks again sees every change).
var current atomic.Pointer[memory]

// Remember starts a run's memory of the directories that passed the rule,
// so that each is looked at once per run, and returns what ends it. Call
// it where one run of the helper starts (internal/plumbing does) and end it
// where the run ends: a process that changes directories' modes between two
// runs (a test) must not carry one run's answers into the next. Starting a
// memory replaces the one before; ending a memory that was replaced does
// nothing.
func Remember() (forget func()) {
	m := &memory{dirs: make(map[string]struct{})}
	current.Store(m)
	return func() { current.CompareAndSwap(m, nil) }
}

// passedBefore says whether dir, a clean absolute path with no link on it,
// passed the rule earlier in this run.
func passedBefore(dir string) bool {
	m := current.Load()
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.dirs[dir]
	return ok
}

// passed records that dir, a clean absolute path with no link on it, and
// every directory above it have passed the rule.
func passed(dir string) {
	m := current.Load()
	if m == nil {
		return
	}
	m.mu.Lock()
	m.dirs[dir] = struct{}{}
	m.mu.Unlock()
}

// Owner is the uid that owns what info describes.
func Owner(info os.FileInfo) (int, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// Links is the number of hard links to what info describes.
func Links(info os.FileInfo) (uint64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Nlink), true
}

// OpenNoFollow opens path with flag, following no link at its last name (a
// link planted there since it was checked fails with ELOOP), waiting on no
// FIFO (a path swapped for one would block open(2) forever, before any
// budget exists) and leaking no descriptor to a child.
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
}
