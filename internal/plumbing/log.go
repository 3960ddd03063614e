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

// outboxLines bounds what may wait for a slow sink. A run prints a handful of
// lines (a few dozen at debug, the usage text is a few writes), so the queue
// only fills when the sink has stopped taking writes.
const outboxLines = 64

// flushGrace is the longest the process waits, as it ends, for its last lines
// to be written. A working log= file or pipe takes them in microseconds; a
// sink that has stopped (a stalled NFS or FUSE mount) never will, so waiting
// longer only delays sshd. A quarter of a second lets a slow but live disk
// keep the line that says why a login ended, and is small beside the budget
// (1 s at least) and sshd's LoginGraceTime.
const flushGrace = 250 * time.Millisecond

// outbox is the only way the process writes to stdout and stderr: callers
// queue a copy and go on, and one goroutine does the writing. A sink that
// blocks in write(2) then stalls that goroutine alone, never a login's
// decision or the watchdog's exit. What does not fit in the queue is dropped
// and counted.
type outbox struct {
	queue   chan chunk
	dropped atomic.Int64
}

// chunk is one Write to w, or, when done is set, the mark a flush waits for.
type chunk struct {
	w    io.Writer
	p    []byte
	done chan struct{}
}

func newOutbox() *outbox {
	o := &outbox{queue: make(chan chunk, outboxLines)}
	go o.writeQueued()
	return o
}

// writeQueued writes chunks in the order they were queued until the final
// flush mark, each line cut to quote.MaxLine: this is the one writer of
// every line, so no line leaves longer whatever it carries. Write errors are ignored as a log line's always were: there is
// nowhere left to report them.
func (o *outbox) writeQueued() {
	for c := range o.queue {
		if c.done != nil {
			close(c.done)
			return
		}
		c.w.Write(quote.BoundLines(c.p))
	}
}

// tryPut queues p for w unless the queue is full.
func (o *outbox) tryPut(w io.Writer, p []byte) bool {
	select {
	case o.queue <- chunk{w: w, p: p}:
		return true
	default:
		return false
	}
}

// put queues p for w, or counts it dropped.
func (o *outbox) put(w io.Writer, p []byte) {
	if !o.tryPut(w, p) {
		o.dropped.Add(1)
	}
}

// to returns a writer for w that never blocks: every Write is queued whole
// (one line, or one piece of the usage text) and reports success, as a
// dropped write is counted and said in the log.
func (o *outbox) to(w io.Writer) io.Writer { return queuedWriter{o, w} }

type queuedWriter struct {
	o *outbox
	w io.Writer
}

func (q queuedWriter) Write(p []byte) (int, error) {
	q.o.put(q.w, append([]byte(nil), p...))
	return len(p), nil
}

// finish queues last for lastTo (the drop notice; nil for none), waits, for
// at most grace in all, until everything queued is written, and then ends
// the writing goroutine. It reports whether the queue was written out; false
// means the sink did not take it in time.
func (o *outbox) finish(grace time.Duration, last []byte, lastTo io.Writer) bool {
	timer := time.NewTimer(grace)
	defer timer.Stop()
	if last != nil {
		select {
		case o.queue <- chunk{w: lastTo, p: last}:
		case <-timer.C:
			return false
		}
	}
	done := make(chan struct{})
	select {
	case o.queue <- chunk{done: done}:
	case <-timer.C:
		return false
	}
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// Logger writes the original's line format to stderr, which pam_exec's log=
// file collects: `2006-01-02T15:04:05.000Z0700 [INFO]  message`. It holds no
// lock and never waits on the sink: lines go through the outbox.
type Logger struct {
	out    *outbox
	stderr io.Writer
	lv     atomic.Int32 // the watchdog logs from its own goroutine
	now    func() time.Time
	// report is the login under way when its summary goes to syslog; the
	// watchdog reads it too.
	report atomic.Pointer[loginReport]
	// syslogOut carries the summary line to syslog apart from stdout and
	// stderr: a stalled log= file must not keep the line from syslog, nor
	// a stalled syslog the log. It exists only when a login reports.
	syslogOut atomic.Pointer[outbox]
}

func newLogger(out *outbox, stderr io.Writer) *Logger {
	// Every line's time is local: the first one loads the zone. Loading it
	// here, near the bottom of the stack, costs the zone file alone; left to
	// the first line, deep in a login, it also makes the runtime grow and
	// copy that deep stack (about 1% of a login's instructions, measured by
	// scripts/bench-startup.sh).
	_ = time.Local.String()
	l := &Logger{out: out, stderr: stderr, now: time.Now}
	l.lv.Store(int32(levelInfo))
	return l
}

func (l *Logger) SetLevel(lv Level) { l.lv.Store(int32(lv)) }

func (l *Logger) enabled(lv Level) bool {
	min := Level(l.lv.Load())
	return min != levelOff && lv >= min
}

func (l *Logger) Debug(format string, args ...any) { l.log(levelDebug, format, args...) }
func (l *Logger) Info(format string, args ...any)  { l.log(levelInfo, format, args...) }
func (l *Logger) Warn(format string, args ...any)  { l.log(levelWarn, format, args...) }
func (l *Logger) Error(format string, args ...any) { l.log(levelError, format, args...) }

func (l *Logger) log(lv Level, format string, args ...any) {
	if !l.enabled(lv) {
		return
	}
	l.sayDropped()
	l.out.put(l.stderr, l.line(lv, fmt.Sprintf(format, args...)))
}

func (l *Logger) line(lv Level, msg string) []byte {
	tag := "[" + strings.ToUpper(levelNames[lv]) + "]"
	return fmt.Appendf(nil, "%s %-7s %s\n", l.now().Format("2006-01-02T15:04:05.000Z0700"), tag, oneLine(msg))
}

// droppedNotice is said once the sink takes writes again, so a reader of the
// log knows lines are missing and why.
func (l *Logger) droppedNotice(n int64) []byte {
	if !l.enabled(levelWarn) {
		return nil
	}
	return l.line(levelWarn, fmt.Sprintf("dropped %d writes to stdout or stderr: the log was not taking them", n))
}

// sayDropped queues the drop notice ahead of the next line, if there is room.
func (l *Logger) sayDropped() {
	n := l.out.dropped.Swap(0)
	if n == 0 {
		return
	}
	if notice := l.droppedNotice(n); notice != nil && !l.out.tryPut(l.stderr, notice) {
		l.out.dropped.Add(n)
	}
}

// finish writes out what is queued, with the drop notice if any writes were
// lost, waiting at most grace: the process exits right after, whatever the
// sink does.
func (l *Logger) finish(grace time.Duration) bool {
	deadline := time.Now().Add(grace)
	// The summary goes first: when syslog does not take it, its fallback
	// line joins stderr's queue before that is written out. Both waits
	// together stay within grace.
	if o := l.syslogOut.Load(); o != nil {
		o.finish(grace, nil, nil)
	}
	grace = time.Until(deadline)
	var notice []byte
	if n := l.out.dropped.Swap(0); n > 0 {
		notice = l.droppedNotice(n)
	}
	return l.out.finish(grace, notice, l.stderr)
}

// reportTo makes this run's login end with a summary line sent to syslog
// through sink; before it is called (no syslog_facility, or not a login)
// summarize does nothing.
func (l *Logger) reportTo(r *loginReport) {
	l.syslogOut.Store(newOutbox())
	l.report.Store(r)
}

// loginEnded records how the login ended; sendSummary sends it after the
// run's last line on stderr, so both logs end the same way.
func (l *Logger) loginEnded(end loginEnd) {
	if r := l.report.Load(); r != nil {
		r.end.Store(&end)
	}
}

// sendSummary queues the summary of a login that has ended.
func (l *Logger) sendSummary() {
	if r := l.report.Load(); r != nil {
		if end := r.end.Load(); end != nil {
			l.summarize(*end)
		}
	}
}

// summarize queues the login's summary line for syslog, once per run. The
// decision is made already: the line only reports it.
func (l *Logger) summarize(end loginEnd) {
	r := l.report.Load()
	if r == nil || !r.sent.CompareAndSwap(false, true) {
		return
	}
	severity := severityNotice
	if end.allowed {
		severity = severityInfo
	}
	if o := l.syslogOut.Load(); o != nil {
		o.put(syslogLine{sink: r.sink, severity: severity}, []byte(r.line(end)))
	}
}

// syslogFallback queues, for stderr, a summary line that syslog did not
// take, as a warning.
func (l *Logger) syslogFallback(msg string) {
	if l.enabled(levelWarn) {
		l.out.put(l.stderr, l.line(levelWarn, msg))
	}
}

// oneLine keeps each event on one line: joined errors become "; "-separated,
// and other control characters (from Vault's messages, say) are escaped so
// nothing can forge a line in the log.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, s)
}
