//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package ratelimit

import (
	"errors"
	"os"
)

// tryLock fails: without flock(2) the count cannot be kept safely, so every
// attempt is denied (fail closed).
func tryLock(*os.File) error { return errors.ErrUnsupported }
