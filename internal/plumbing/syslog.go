package plumbing

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// SyslogSocket is the local syslog daemon's socket (rsyslog's or
// journald's). Only tests change it, from inside the test binary (package
// main's tests run whole logins against sockets of their own); nothing in
// the environment or the config does.
var SyslogSocket = "/dev/log"

// syslogTag is what the daemon files the lines under.
const syslogTag = "vault-ssh-helper"

// errSyslogFull: the daemon is not reading its socket (stalled, or slower
// than what is sent to it). The line is not waited for.
var errSyslogFull = errors.New("the socket is full")

// syslogSink sends a summary line to the local syslog daemon. It is only
// ever called from the writing goroutine of the logger's syslog outbox, and
// it never waits: the
// socket is dialled when the line is sent (a run that needs no line never
// touches it), and a datagram that does not fit at once is not sent. A line
// that cannot be sent goes to stderr instead, saying why.
type syslogSink struct {
	facility int
	path     string
	pid      int
	now      func() time.Time
	// fallback queues the line for stderr.
	fallback func(msg string)
}

func newSyslogSink(facility int, fallback func(string)) *syslogSink {
	return &syslogSink{facility: facility, path: SyslogSocket, pid: os.Getpid(), now: time.Now, fallback: fallback}
}

// syslogLine is one summary line at one severity, as queued in the outbox.
type syslogLine struct {
	sink     *syslogSink
	severity int
}

func (l syslogLine) Write(p []byte) (int, error) {
	if err := l.sink.send(l.severity, string(p)); err != nil {
		l.sink.fallback(fmt.Sprintf("not sent to syslog (%s: %v): %s", l.sink.path, err, p))
	}
	return len(p), nil
}

// send writes one datagram in the form local daemons take (RFC 3164 with
// no host name): "<PRI>Mmm dd hh:mm:ss tag[pid]: message".
func (s *syslogSink) send(severity int, msg string) error {
	// Cut as a whole: the line was cut to quote.MaxLine already, but the
	// datagram adds its header.
	datagram := quote.Cut(fmt.Sprintf("<%d>%s %s[%d]: %s", s.facility*8+severity, s.now().Format(time.Stamp), syslogTag, s.pid, msg), quote.MaxLine)
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
		}
		return err
	}
	defer conn.Close()
	return sendNow(conn, []byte(datagram))
}

// sendNow writes p with one non-blocking write(2): a full socket answers
// EAGAIN at once instead of parking the writer until the daemon reads.
func sendNow(conn *net.UnixConn, p []byte) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = raw.Write(func(fd uintptr) bool {
		_, werr = syscall.Write(int(fd), p)
		return true // never wait for the socket to become writable
	})
	if err != nil {
		return err
	}
	if errors.Is(werr, syscall.EAGAIN) {
		return errSyslogFull
	}
	return werr
}
