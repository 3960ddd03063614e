package plumbing

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// Level orders log lines; a Logger prints lines at or above its level.
type Level int

const (
	levelTrace Level = iota
	levelDebug
	levelInfo
	levelWarn
	levelError
	levelOff
)

var levelNames = []string{"trace", "debug", "info", "warn", "error", "off"}

// ParseLevel accepts the original's names in any case. Unlike the original,
// which quietly logged everything for a name it did not know, a typo is an
// error: a misspelt level must not decide what reaches the log.
func ParseLevel(s string) (Level, error) {
	for i, name := range levelNames {
		if strings.EqualFold(s, name) {
			return Level(i), nil
		}
	}
	return levelInfo, fmt.Errorf("invalid -log-level %q: use trace, debug, info, warn, error or off", s)
}

// outboxLines bounds what may wait for a slow sink. A run prints a few dozen
// lines at most, so the queue only fills when the sink has stopped.
const outboxLines = 64

// flushGrace is the longest the process waits, as it ends, for its last lines
// to be written: a stalled log= file never takes them, and a quarter of a
// second lets a slow but live disk keep the line that says why a login ended.
const flushGrace = 250 * time.Millisecond

// Logger writes the original's line format to stderr (pam_exec's log= file):
// `2006-01-02T15:04:05.000Z0700 [INFO]  message`. It is also the outbox, the
// only way the process writes to stdout and stderr: callers queue a copy, and
// one goroutine writes, so a sink that blocks in write(2) stalls it alone,
// never a login or the watchdog. What does not fit is dropped and counted.
type Logger struct {
	queue   chan chunk
	dropped atomic.Int64
	stderr  io.Writer
	lv      atomic.Int32 // the watchdog logs from its own goroutine
	now     func() time.Time
}

// chunk is one write of p to w; done, when set, is closed once it is written.
type chunk struct {
	w    io.Writer
	p    []byte
	done chan struct{}
}

func newLogger(stderr io.Writer) *Logger {
	// Load the local zone here, near the bottom of the stack: left to the
	// first line, deep in a login, it also grows and copies that stack
	// (about 1% of a login's instructions, scripts/bench-startup.sh).
	_ = time.Local.String()
	l := &Logger{queue: make(chan chunk, outboxLines), stderr: stderr, now: time.Now}
	l.lv.Store(int32(levelInfo))
	go l.writeQueued()
	return l
}

// writeQueued is the one writer of every line, each cut to quote.MaxLine.
// Write errors are ignored: there is nowhere left to report them.
func (l *Logger) writeQueued() {
	for c := range l.queue {
		if len(c.p) > 0 {
			c.w.Write(quote.BoundLines(c.p))
		}
		if c.done != nil {
			close(c.done)
		}
	}
}

func (l *Logger) tryPut(w io.Writer, p []byte) bool {
	select {
	case l.queue <- chunk{w: w, p: p}:
		return true
	default:
		return false
	}
}

// to returns a writer for w that never blocks: every Write is queued whole
// and reports success, as a dropped write is counted and said in the log.
func (l *Logger) to(w io.Writer) io.Writer { return queuedWriter{l, w} }

type queuedWriter struct {
	l *Logger
	w io.Writer
}

func (q queuedWriter) Write(p []byte) (int, error) {
	if !q.l.tryPut(q.w, append([]byte(nil), p...)) {
		q.l.dropped.Add(1)
	}
	return len(p), nil
}

func (l *Logger) SetLevel(lv Level) { l.lv.Store(int32(lv)) }

// enabled needs no case for levelOff: no line is above levelError.
func (l *Logger) enabled(lv Level) bool { return lv >= Level(l.lv.Load()) }

func (l *Logger) Debug(format string, args ...any) { l.log(levelDebug, format, args...) }
func (l *Logger) Info(format string, args ...any)  { l.log(levelInfo, format, args...) }
func (l *Logger) Warn(format string, args ...any)  { l.log(levelWarn, format, args...) }
func (l *Logger) Error(format string, args ...any) { l.log(levelError, format, args...) }

// log queues the line, after the drop notice when writes were lost and the
// sink takes writes again, so a reader knows lines are missing and why.
func (l *Logger) log(lv Level, format string, args ...any) {
	if !l.enabled(lv) {
		return
	}
	if n := l.dropped.Swap(0); n > 0 && l.enabled(levelWarn) && !l.tryPut(l.stderr, l.droppedNotice(n)) {
		l.dropped.Add(n)
	}
	l.to(l.stderr).Write(l.line(lv, fmt.Sprintf(format, args...)))
}

func (l *Logger) line(lv Level, msg string) []byte {
	tag := "[" + strings.ToUpper(levelNames[lv]) + "]"
	return fmt.Appendf(nil, "%s %-7s %s\n", l.now().Format("2006-01-02T15:04:05.000Z0700"), tag, oneLine(msg))
}

func (l *Logger) droppedNotice(n int64) []byte {
	return l.line(levelWarn, fmt.Sprintf("dropped %d writes to stdout or stderr: the log was not taking them", n))
}

// finish queues the drop notice, if writes were lost, and waits at most grace
// until everything queued is written. False means the sink did not take it.
func (l *Logger) finish(grace time.Duration) bool {
	last := chunk{w: l.stderr, done: make(chan struct{})}
	if n := l.dropped.Swap(0); n > 0 && l.enabled(levelWarn) {
		last.p = l.droppedNotice(n)
	}
	// On the side: behind a stalled sink the queue may never have room.
	go func() { l.queue <- last }()
	select {
	case <-last.done:
		return true
	case <-time.After(grace):
		return false
	}
}

// oneLine keeps each event on one line: joined errors become "; "-separated,
// and other control characters are escaped, so nothing can forge a line.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, s)
}
