//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package ratelimit

import (
	"errors"
	"os"
)

const openFlags = os.O_RDWR

// tryLock fails: without flock(2) the count cannot be kept safely, so every
// attempt is denied (fail closed).
func tryLock(*os.File) error { return errors.ErrUnsupported }

func ownerOf(os.FileInfo) (int, bool) { return 0, false }

func linksOf(os.FileInfo) (uint64, bool) { return 0, false }
