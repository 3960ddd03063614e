package trust

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

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
