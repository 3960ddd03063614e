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

// openNoWait opens path for reading without blocking: open(2) of a FIFO with
// no writer would otherwise wait forever, before any budget exists. The
// caller refuses anything that is not a regular file; on one, O_NONBLOCK
// changes nothing.
func openNoWait(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
