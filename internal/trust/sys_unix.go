//go:build unix

package trust

import (
	"os"
	"syscall"
)

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
