//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package ratelimit

import (
	"os"
	"syscall"
)

// openFlags: no symbolic link followed, no FIFO waited on, no descriptor
// leaked to a child.
const openFlags = os.O_RDWR | syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC

// tryLock takes the exclusive flock(2) of f's open file description without
// waiting; it fails with EWOULDBLOCK while another description holds it.
func tryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func ownerOf(info os.FileInfo) (int, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

func linksOf(info os.FileInfo) (uint64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Nlink), true
}
