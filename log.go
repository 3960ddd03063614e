package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"
)

// level orders log lines; a logger prints lines at or above its level.
type level int

const (
	levelTrace level = iota
	levelDebug
	levelInfo
	levelWarn
	levelError
	levelOff
)

var levelNames = []string{"trace", "debug", "info", "warn", "error", "off"}

// parseLevel accepts the original's names in any case. Unlike the original,
// which quietly logged everything for a name it did not know, a typo is an
// error: a misspelt level must not decide what reaches the log.
func parseLevel(s string) (level, error) {
	for i, name := range levelNames {
		if strings.EqualFold(s, name) {
			return level(i), nil
		}
	}
	return levelInfo, fmt.Errorf("invalid -log-level %q: use trace, debug, info, warn, error or off", s)
}

// logger writes the original's line format to stderr, which pam_exec's log=
// file collects: `2006-01-02T15:04:05.000Z0700 [INFO]  message`.
type logger struct {
	mu  sync.Mutex // the watchdog logs from its own goroutine
	w   io.Writer
	lv  level
	now func() time.Time
}

func newLogger(w io.Writer) *logger {
	return &logger{w: w, lv: levelInfo, now: time.Now}
}

func (l *logger) setLevel(lv level) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lv = lv
}

func (l *logger) Debug(format string, args ...any) { l.log(levelDebug, format, args...) }
func (l *logger) Info(format string, args ...any)  { l.log(levelInfo, format, args...) }
func (l *logger) Warn(format string, args ...any)  { l.log(levelWarn, format, args...) }
func (l *logger) Error(format string, args ...any) { l.log(levelError, format, args...) }

func (l *logger) log(lv level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lv < l.lv || l.lv == levelOff {
		return
	}
	tag := "[" + strings.ToUpper(levelNames[lv]) + "]"
	msg := oneLine(fmt.Sprintf(format, args...))
	fmt.Fprintf(l.w, "%s %-7s %s\n", l.now().Format("2006-01-02T15:04:05.000Z0700"), tag, msg)
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
