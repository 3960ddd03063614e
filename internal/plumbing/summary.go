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
// reading its socket; then it goes to stderr instead.
const syslogWait = time.Millisecond

// loginReport is what a login's summary line (one per login, to syslog:
// the journal, the auth log and fail2ban) says about who asked; fields
// name what the mode adds (helper.About's SummaryFields: otp_ip).
type loginReport struct {
	user, rhost string
	fields      []string
	facility    int
}

// loginEnd is how a login ended: err is nil only for a verified one, and
// fields hold the values of the mode's fields that the login found.
type loginEnd struct {
	err        error
	fields     map[string]string
	requestIDs []string
}

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
	severity := 5 // notice: a denial
	if end.err == nil {
		severity = 6 // info
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
		return errors.New("the socket is full")
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
	words := []string{"login allowed:", "rhost=" + quote.Field(r.rhost), "user=" + quote.Field(r.user)}
	for _, name := range r.fields {
		words = append(words, name+"="+quote.Field(end.fields[name]))
	}
	words = append(words, "request_id="+quote.Field(strings.Join(end.requestIDs, ",")))
	if end.err != nil {
		words[0] = "login denied:"
		words = append(words, "reason="+strconv.Quote(quote.Cut(end.err.Error(), maxReason)))
	}
	return strings.Join(words, " ")
}

// maxReason bounds the reason before it is quoted, so that a line stays
// within quote.MaxLine in any ordinary case (the writers cut the others).
const maxReason = 1024

// requestIDNote is what a success or denial line on stderr adds so that it
// leads to Vault's audit log: Vault writes the same request_id there.
func requestIDNote(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return " (request_id=" + strings.Join(ids, ",") + ")"
}
