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
