package plumbing

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// SyslogSocket is the local syslog daemon's socket (rsyslog's or
// journald's). Only tests change it, from inside the test binary; nothing
// in the environment or the config does.
var SyslogSocket = "/dev/log"

// syslogWait is the longest a summary line waits for a daemon that is not
// reading its socket (stalled, or slower than what is sent to it): then it
// goes to stderr instead, as a line that is not sent at all does.
const syslogWait = time.Millisecond

var errSyslogFull = errors.New("the socket is full")

// loginReport is what a login's summary line says about who asked: the
// one line per login that goes to syslog (syslog_facility), for the
// journal, the auth log and fail2ban.
type loginReport struct {
	user, rhost string
	// fields name what the mode adds to the line (helper.About's
	// SummaryFields): the SSH OTP mode's otp_ip.
	fields   []string
	facility int
}

// loginEnd is how a login ended: err is nil only for a verified one.
type loginEnd struct {
	err error
	// fields are the values of the mode's fields that the login found.
	fields     map[string]string
	requestIDs []string
}

// Severities of syslog(3), RFC 5424 numbering.
const (
	severityNotice = 5
	severityInfo   = 6
)

// SendSummary sends the summary line of a login that has ended (nothing
// for a run that is not a login or whose config has no syslog_facility).
// Call it after the run's last line on stderr, so both logs end the same
// way.
func (r *Run) SendSummary() {
	if r.ended != nil {
		r.summarize(*r.ended)
	}
}

// summarize sends the login's summary line, once per run; a line syslog
// does not take goes to stderr, saying why. The decision is made already:
// the line only reports it.
func (r *Run) summarize(end loginEnd) {
	rep := r.report.Load()
	if rep == nil || !r.summarized.CompareAndSwap(false, true) {
		return
	}
	severity := severityNotice
	if end.err == nil {
		severity = severityInfo
	}
	line := rep.line(end)
	if err := sendSyslog(rep.facility*8+severity, line); err != nil {
		r.Log.Warn("not sent to syslog (%s: %v): %s", SyslogSocket, err, line)
	}
}

// sendSyslog sends one datagram in the form local daemons take (RFC 3164
// with no host name): "<PRI>Mmm dd hh:mm:ss tag[pid]: message", cut to
// quote.MaxLine as a whole. The socket is dialled only when a line is sent.
func sendSyslog(priority int, msg string) error {
	datagram := fmt.Sprintf("<%d>%s vault-ssh-helper[%d]: %s", priority, time.Now().Format(time.Stamp), os.Getpid(), msg)
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: SyslogSocket, Net: "unixgram"})
	if err == nil {
		defer conn.Close()
		conn.SetWriteDeadline(time.Now().Add(syslogWait))
		_, err = conn.Write([]byte(quote.Cut(datagram, quote.MaxLine)))
	}
	var op *net.OpError
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errSyslogFull
	case errors.As(err, &op):
		return op.Err
	}
	return err
}

// line is the summary's text. rhost comes first, right after the fixed
// words, so a filter that reads the client's address there (fail2ban's
// <HOST>) reads the address sshd gave, whatever a user name or Vault's
// words hold further on. Values from outside go in through quote.Field.
func (r *loginReport) line(end loginEnd) string {
	var b strings.Builder
	if end.err == nil {
		b.WriteString("login allowed:")
	} else {
		b.WriteString("login denied:")
	}
	fmt.Fprintf(&b, " rhost=%s user=%s", quote.Field(r.rhost), quote.Field(r.user))
	for _, name := range r.fields {
		fmt.Fprintf(&b, " %s=%s", name, quote.Field(end.fields[name]))
	}
	fmt.Fprintf(&b, " request_id=%s", quote.Field(strings.Join(end.requestIDs, ",")))
	if end.err != nil {
		fmt.Fprintf(&b, " reason=%s", strconv.Quote(quote.Cut(end.err.Error(), maxReason)))
	}
	return b.String()
}

// maxReason bounds the reason's text before it is quoted: with the fields
// before it, a line stays well within quote.MaxLine in any ordinary case,
// and the writers' cut at quote.MaxLine holds in every case.
const maxReason = 1024

// requestIDNote is what a success or denial line on stderr adds so that it
// leads to Vault's audit log: Vault writes the same request_id there.
func requestIDNote(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return " (request_id=" + strings.Join(ids, ",") + ")"
}
