//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package ratelimit

import (
	"os"
	"syscall"
)

// tryLock takes the exclusive flock(2) of f's open file description without
// waiting; it fails with EWOULDBLOCK while another description holds it.
func tryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
