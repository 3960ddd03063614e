package plumbing

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// loginReport is what a login's summary line says about who asked: the
// one line per login that goes to syslog (syslog_facility), for the
// journal, the auth log and fail2ban. It exists only when the config asks
// for syslog.
type loginReport struct {
	user, rhost string
	// fields name what the mode adds to the line (helper.About's
	// SummaryFields): the SSH OTP mode's otp_ip.
	fields []string
	sink   *syslogSink
	// end is how the login ended, once it has.
	end atomic.Pointer[loginEnd]
	// sent makes the line once per login: the run's end and the watchdog
	// may both try.
	sent atomic.Bool
}

// loginEnd is how a login ended, for its summary line.
type loginEnd struct {
	allowed bool
	// fields are the values of the mode's fields that the login found.
	fields     map[string]string
	requestIDs []string
	reason     string
}

// Severities of syslog(3), RFC 5424 numbering.
const (
	severityNotice = 5
	severityInfo   = 6
)

// line is the summary's text. rhost comes first, right after the fixed
// words, so a filter that reads the client's address there (fail2ban's
// <HOST>) reads the address sshd gave, whatever a user name or Vault's
// words hold further on.
func (r *loginReport) line(end loginEnd) string {
	var b strings.Builder
	if end.allowed {
		b.WriteString("login allowed:")
	} else {
		b.WriteString("login denied:")
	}
	fmt.Fprintf(&b, " rhost=%s user=%s", field(r.rhost), field(r.user))
	for _, name := range r.fields {
		fmt.Fprintf(&b, " %s=%s", name, field(end.fields[name]))
	}
	fmt.Fprintf(&b, " request_id=%s", field(strings.Join(end.requestIDs, ",")))
	if !end.allowed {
		fmt.Fprintf(&b, " reason=%s", strconv.Quote(quote.Cut(end.reason, maxReason)))
	}
	return b.String()
}

// field puts a value from outside (a user name is whatever the client
// typed) into the line by the one rule for that, quote.Field.
func field(s string) string { return quote.Field(s) }

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
