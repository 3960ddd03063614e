package trust

import (
	"sync"
	"sync/atomic"
)

// memory holds the directories that passed the rule during one run: the
// config file, its certificate, token and AppRole files and state_dir
// usually share most of their directories, and each walk would otherwise
// lstat(2) "/" and every one of them again.
//
// Remembering is sound for the length of a run: a directory that passed,
// with every directory above it, can be changed or replaced only by root or
// the helper's own user, so it still passes, and its path still leads to it,
// until one of them changes it. Only directories that passed are kept; a
// refused one is walked again and refused again, with its message.
type memory struct {
	mu   sync.Mutex
	dirs map[string]struct{}
}

// current is the run's memory; nil when no run remembers (a test that
// checks, changes a directory and checks again sees every change).
var current atomic.Pointer[memory]

// Remember starts a run's memory of the directories that passed the rule,
// so that each is looked at once per run, and returns what ends it. Call
// it where one run of the helper starts (internal/plumbing does) and end it
// where the run ends: a process that changes directories' modes between two
// runs (a test) must not carry one run's answers into the next. Starting a
// memory replaces the one before; ending a memory that was replaced does
// nothing.
func Remember() (forget func()) {
	m := &memory{dirs: make(map[string]struct{})}
	current.Store(m)
	return func() { current.CompareAndSwap(m, nil) }
}

// passedBefore says whether dir, a clean absolute path with no link on it,
// passed the rule earlier in this run.
func passedBefore(dir string) bool {
	m := current.Load()
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.dirs[dir]
	return ok
}

// passed records that dir, a clean absolute path with no link on it, and
// every directory above it have passed the rule.
func passed(dir string) {
	m := current.Load()
	if m == nil {
		return
	}
	m.mu.Lock()
	m.dirs[dir] = struct{}{}
	m.mu.Unlock()
}
