//go:build unix

package config

import (
	"os"
	"syscall"
)

func ownerOf(info os.FileInfo) (int, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// openNoWait opens path for reading without blocking. The caller has already
// refused anything but a regular file, where O_NONBLOCK changes nothing; it
// is there for a path swapped for a FIFO between that check and the open,
// whose open(2) would otherwise wait forever, before any budget exists.
// path has its links resolved already: a link found now was put there since.
func openNoWait(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
