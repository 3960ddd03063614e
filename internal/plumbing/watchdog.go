package plumbing

import (
	"fmt"
	"sync"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/config"
)

// WatchdogGrace is how long past the budget the process may live before the
// watchdog ends it. The budget's context should end every wait first; the
// watchdog is for a wait nobody foresaw (a stalled file system, say), since
// nothing else ever kills a hung pam_exec helper. A full second leaves a
// run that is slow to be scheduled (a loaded host) the time to end on its
// own budget with its own reason, rather than the watchdog's.
const WatchdogGrace = time.Second

// watchdog denies a run that outlives its budget, saying what it was
// waiting for. Until the config sets the budget, the default applies.
type watchdog struct {
	start time.Time
	log   *Logger
	exit  func(int)
	timer *time.Timer

	mu      sync.Mutex // the timer's goroutine reads what the run writes
	budget  time.Duration
	waiting string
}

func startWatchdog(start time.Time, log *Logger, exit func(int)) *watchdog {
	w := &watchdog{start: start, log: log, exit: exit, budget: config.DefaultTimeout, waiting: "the start-up"}
	w.timer = time.AfterFunc(time.Until(start.Add(w.budget+WatchdogGrace)), w.fire)
	return w
}

// setBudget moves the deadline to the configured timeout, counted from start.
func (w *watchdog) setBudget(d time.Duration) {
	w.mu.Lock()
	w.budget = d
	w.mu.Unlock()
	w.timer.Reset(time.Until(w.start.Add(d + WatchdogGrace)))
}

// waitingFor records what the run waits for next, for the watchdog's log line.
func (w *watchdog) waitingFor(what string) {
	w.mu.Lock()
	w.waiting = what
	w.mu.Unlock()
}

func (w *watchdog) stop() { w.timer.Stop() }

// fire denies. Its line is queued, never written here, and the exit waits
// at most flushGrace for it: the sink may be the very thing that stalled, so
// the deadline must not depend on it. Nothing here takes a lock the writing
// goroutine can hold.
func (w *watchdog) fire() {
	w.mu.Lock()
	budget, waiting := w.budget, w.waiting
	w.mu.Unlock()
	reason := fmt.Sprintf("timed out after %s waiting for %s; denying", budget, waiting)
	w.log.Error("%s", reason)
	w.log.summarize(loginEnd{reason: reason})
	w.log.finish(flushGrace)
	w.exit(1)
}
