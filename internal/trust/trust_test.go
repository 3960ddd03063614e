package trust

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The rule's messages are pinned where operators meet them (config's
// TestUnsafeDirectoryMessages, ratelimit's TestMessages); these pin what
// only this package's callers see.

// Parent walks the directory that will hold path, and names path.
func TestParentNamesThePathAndChecksEveryDirectoryAbove(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(open, "inner")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(inner, "missing")
	_, err := Parent("state_dir", missing)
	want := `state_dir "` + missing + `": directory "` + open + `" is writable by group or others (mode 0777); run: chmod go-w ` + open
	if !errors.Is(err, ErrUnsafePermissions) || err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	if got, err := Parent("state_dir", filepath.Join(base, "missing")); err != nil || got != base {
		t.Errorf("Parent under a safe directory = %q, %v; want %q", got, err, base)
	}
}

// A link planted at the last name is refused, not followed.
func TestOpenNoFollowRefusesALink(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if f, err := OpenNoFollow(link, os.O_RDONLY, 0); !errors.Is(err, syscall.ELOOP) {
		if f != nil {
			f.Close()
		}
		t.Errorf("OpenNoFollow(link) err = %v, want ELOOP", err)
	}
}

func TestFileKindNamesEachKind(t *testing.T) {
	for mode, want := range map[os.FileMode]string{
		os.ModeNamedPipe:                  "a named pipe",
		os.ModeSocket:                     "a socket",
		os.ModeDevice | os.ModeCharDevice: "a character device",
		os.ModeDevice:                     "a block device",
		os.ModeSymlink:                    "a symbolic link",
		os.ModeDir:                        "a directory",
		os.ModeIrregular:                  "type ?---------",
	} {
		if got := FileKind(mode); got != want {
			t.Errorf("FileKind(%v) = %q, want %q", mode, got, want)
		}
	}
}
