package plumbing

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
)

func TestLogLineFormatIsTheOriginals(t *testing.T) {
	var buf plumbingtest.SyncBuffer
	l := newLogger(&buf)
	l.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC) }
	l.SetLevel(levelTrace)
	l.Info("a")
	l.Warn("b")
	l.Error("c\nd\x1be\u009bf\u2028g")
	l.Debug("f")
	if !l.finish(plumbingtest.HangDetector) {
		t.Fatal("the log was not written out")
	}
	want := "2026-01-02T03:04:05.006Z [INFO]  a\n" +
		"2026-01-02T03:04:05.006Z [WARN]  b\n" +
		"2026-01-02T03:04:05.006Z [ERROR] c; d?e?f?g\n" +
		"2026-01-02T03:04:05.006Z [DEBUG] f\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestLogLevelFilters(t *testing.T) {
	for name, wantLines := range map[string]int{"TRACE": 4, "debug": 4, "Info": 3, "warn": 2, "error": 1, "off": 0} {
		lv, err := ParseLevel(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf plumbingtest.SyncBuffer
		l := newLogger(&buf)
		l.SetLevel(lv)
		l.Debug("1")
		l.Info("2")
		l.Warn("3")
		l.Error("4")
		if !l.finish(plumbingtest.HangDetector) {
			t.Fatal("the log was not written out")
		}
		if got := strings.Count(buf.String(), "\n"); got != wantLines {
			t.Errorf("level %s printed %d lines, want %d", name, got, wantLines)
		}
	}
}

// gateWriter blocks every Write until release is closed, and says when the
// first Write has begun.
type gateWriter struct {
	began   chan struct{}
	once    sync.Once
	release chan struct{}
	buf     plumbingtest.SyncBuffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.once.Do(func() { close(g.began) })
	<-g.release
	return g.buf.Write(p)
}

// stallAndDrop returns a logger whose writer is held in its first Write
// until g.release is closed, with the queue full behind it and four writes
// dropped: three log lines and one write to stdout.
func stallAndDrop(t *testing.T) (*Logger, *gateWriter) {
	t.Helper()
	g := &gateWriter{began: make(chan struct{}), release: make(chan struct{})}
	l := newLogger(g)
	l.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC) }
	l.Info("first")
	select {
	case <-g.began:
	case <-time.After(plumbingtest.HangDetector):
		t.Fatal("the first line was never written")
	}
	within(t, "logging behind a held write", func() {
		for i := 0; i < outboxLines+3; i++ {
			l.Info("line %d", i)
		}
		l.to(g).Write([]byte("usage text\n"))
	})
	return l, g
}

// within runs f and fails the test if it has not returned by plumbingtest.HangDetector.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(plumbingtest.HangDetector):
		t.Fatalf("%s hung: not done after %s", what, plumbingtest.HangDetector)
	}
}

func TestLoggingNeverWaitsForAStalledSink(t *testing.T) {
	t.Parallel()
	sink := plumbingtest.StalledSink(t)
	l := newLogger(sink)
	l.SetLevel(levelTrace)
	within(t, "logging to a stalled sink", func() {
		for i := 0; i < 10*outboxLines; i++ {
			l.Debug("line %d", i)
			l.to(sink).Write([]byte("usage text\n"))
		}
		if l.finish(flushGrace) {
			t.Error("finish says a stalled sink took the log")
		}
	})
}

// checkWritten expects g to have taken the first line and the outboxLines
// queued behind it, in order, then rest.
func checkWritten(t *testing.T, g *gateWriter, rest ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(g.buf.String(), "\n"), "\n")
	if len(lines) != 1+outboxLines+len(rest) {
		t.Fatalf("%d lines written, want %d:\n%s", len(lines), 1+outboxLines+len(rest), g.buf.String())
	}
	if want := "2026-01-02T03:04:05.006Z [INFO]  line 63"; lines[outboxLines] != want {
		t.Errorf("last queued line %q, want %q", lines[outboxLines], want)
	}
	for i, want := range rest {
		if got := lines[1+outboxLines+i]; got != want {
			t.Errorf("line %d is %q, want %q", 1+outboxLines+i, got, want)
		}
	}
}

const droppedFour = "2026-01-02T03:04:05.006Z [WARN]  dropped 4 writes to stdout or stderr: the log was not taking them"

func TestDroppedWritesAreSaidAtTheEnd(t *testing.T) {
	t.Parallel()
	l, g := stallAndDrop(t)
	close(g.release)
	if !l.finish(plumbingtest.HangDetector) {
		t.Fatal("the log was not written out")
	}
	checkWritten(t, g, droppedFour)
}

func TestDroppedWritesAreSaidBeforeTheNextLine(t *testing.T) {
	t.Parallel()
	l, g := stallAndDrop(t)
	close(g.release)
	// Once the sink has taken the queue, the next line has room for the
	// notice ahead of it.
	for i := 0; len(l.queue) > 0; i++ {
		if i == int(plumbingtest.HangDetector/time.Millisecond) {
			t.Fatal("the queue was never written out")
		}
		time.Sleep(time.Millisecond)
	}
	l.Info("after")
	if !l.finish(plumbingtest.HangDetector) {
		t.Fatal("the log was not written out")
	}
	checkWritten(t, g, droppedFour, "2026-01-02T03:04:05.006Z [INFO]  after")
}

func TestNoDropNoticeWhenTheLogIsOff(t *testing.T) {
	t.Parallel()
	g := &gateWriter{began: make(chan struct{}), release: make(chan struct{})}
	l := newLogger(g)
	l.to(g).Write([]byte("held\n"))
	select {
	case <-g.began:
	case <-time.After(plumbingtest.HangDetector):
		t.Fatal("the first write never began")
	}
	for i := 0; i < outboxLines+1; i++ {
		l.to(g).Write([]byte("x\n"))
	}
	l.SetLevel(levelOff)
	close(g.release)
	if !l.finish(plumbingtest.HangDetector) {
		t.Fatal("the output was not written out")
	}
	if strings.Contains(g.buf.String(), "dropped") {
		t.Errorf("-log-level=off printed a drop notice:\n%s", g.buf.String())
	}
}
