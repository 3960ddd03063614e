// Package plumbing runs one process of the helper around the decision that
// main wires up: every write to stdout and stderr goes through one bounded
// outbox (a stalled log= file never holds up a login), a watchdog denies a
// run that outlives its budget, a login ends in one summary line for syslog,
// and -verify-only checks every Vault address. Mapping an outcome to an exit
// code is main's alone (exitCode).
package plumbing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// WatchdogGrace is how long past the budget the process may live before the
// watchdog denies: the budget's context ends every foreseen wait, and the
// watchdog a wait nobody foresaw (nothing else kills a hung pam_exec helper).
// A second lets a run slow to be scheduled end with its own reason.
const WatchdogGrace = time.Second

// Run is one run's plumbing: outbox, watchdog and summary line.
type Run struct {
	// Log (pam_exec's log= file) and Stdout queue in the one outbox.
	Log      *Logger
	Stdout   io.Writer
	start    time.Time
	exit     func(int)
	watchdog *time.Timer
	forget   func() // ends trust.Remember's memory of checked directories

	mu      sync.Mutex // the watchdog's goroutine reads what the run writes
	budget  time.Duration
	waiting string

	// report is set when the config asks for syslog, and taken by the one
	// summary line: the run's end and the watchdog may both try.
	report atomic.Pointer[loginReport]
	ended  *loginEnd
}

// Start sets up a run that began at start, writing to stdout and stderr.
// exit is called only by the watchdog, when the run outlives its budget.
func Start(start time.Time, stdout, stderr io.Writer, exit func(int)) *Run {
	log := newLogger(stderr)
	r := &Run{
		Log: log, Stdout: log.to(stdout), start: start, exit: exit,
		budget: config.DefaultTimeout, waiting: "the start-up",
		// The files a run trusts (the config, its certificate, a mode's
		// files) share most of their directories: each is checked once per run.
		forget: trust.Remember(),
	}
	r.watchdog = time.AfterFunc(time.Until(start.Add(r.budget+WatchdogGrace)), r.fire)
	return r
}

// StopWatchdog stops the watchdog; End does it too.
func (r *Run) StopWatchdog() { r.watchdog.Stop() }

// End writes out what is queued, waiting at most flushGrace, after stopping
// the watchdog: a slow flush must not turn an exit 0 into its 1.
func (r *Run) End() {
	r.watchdog.Stop()
	r.forget()
	r.Log.finish(flushGrace)
}

// WaitingFor records what the run waits for next, for the watchdog's line.
func (r *Run) WaitingFor(what string) {
	r.mu.Lock()
	r.waiting = what
	r.mu.Unlock()
}

// Budget moves the watchdog's deadline to the configured timeout and returns
// the context every wait ends with, both counted from the run's start.
func (r *Run) Budget(timeout time.Duration) (context.Context, context.CancelFunc) {
	r.mu.Lock()
	r.budget = timeout
	r.mu.Unlock()
	r.watchdog.Reset(time.Until(r.start.Add(timeout + WatchdogGrace)))
	return context.WithDeadline(context.Background(), r.start.Add(timeout))
}

// fire denies, saying what the run waited for. The exit waits at most
// flushGrace for its line: the sink may be what stalled.
func (r *Run) fire() {
	r.mu.Lock()
	err := fmt.Errorf("timed out after %s waiting for %s; denying", r.budget, r.waiting)
	r.mu.Unlock()
	r.Log.Error("%v", err)
	r.summarize(loginEnd{err: err})
	r.Log.finish(flushGrace)
	r.exit(1)
}

// VerifyOnly is -verify-only: it checks Vault with m, or every address the
// config lists with the mode modeAt makes for its client. It returns nil
// only when Vault (every address) is healthy.
func (r *Run) VerifyOnly(ctx context.Context, cfg *config.Config, client *agent.Client, m helper.Mode,
	modeAt func(*agent.Client) (helper.Mode, error)) error {
	r.WaitingFor("Vault at " + cfg.VaultAddrs[0].String())
	if len(cfg.Addrs()) > 1 {
		if err := checkEvery(ctx, cfg, client, modeAt, r.Log); err != nil {
			return err
		}
	} else {
		r.Log.Debug("%s to %s", m.About().CheckStep, cfg.VaultAddrs[0])
		found, err := m.Check(ctx)
		logFindings(r.Log, "", found)
		if err != nil {
			return explainTimeout(err, cfg)
		}
	}
	r.Log.Info("vault-ssh-helper verification successful!")
	return nil
}

// checkEvery checks every Vault address at once, each within the whole
// budget (one that hangs must not use up the others' time), then says which
// are healthy. It succeeds only when every one is: a dead node should be
// found before a login needs it.
func checkEvery(ctx context.Context, cfg *config.Config, client *agent.Client,
	modeAt func(*agent.Client) (helper.Mode, error), log *Logger) error {
	addrs := client.Addresses()
	found := make([][]helper.Finding, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		m, err := modeAt(client.At(i))
		if err != nil {
			errs[i] = err
			continue
		}
		log.Debug("%s to %s", m.About().CheckStep, addr)
		wg.Go(func() { found[i], errs[i] = m.Check(ctx) })
	}
	wg.Wait()
	healthy := 0
	for i, addr := range addrs {
		logFindings(log, "Vault at "+addr+": ", found[i])
		if errs[i] != nil {
			log.Error("Vault at %s: not healthy: %v", addr, explainTimeout(errs[i], cfg))
			continue
		}
		healthy++
		log.Info("Vault at %s: healthy", addr)
	}
	if healthy < len(addrs) {
		return fmt.Errorf("%d of %d Vault addresses are healthy; -verify-only succeeds only when every one is", healthy, len(addrs))
	}
	return nil
}

func logFindings(log *Logger, prefix string, found []helper.Finding) {
	for _, f := range found {
		if f.Warning {
			log.Warn("%s%s", prefix, f.Text)
		} else {
			log.Info("%s%s", prefix, f.Text)
		}
	}
}

// Login reads the password from stdin and asks m whether it lets PAM_USER
// in. It returns nil only for a verified login, and keeps its end for
// SendSummary.
func (r *Run) Login(ctx context.Context, cfg *config.Config, client *agent.Client, m helper.Mode,
	stdin io.Reader, getenv func(string) string) error {
	if cfg.Syslog != nil {
		r.report.Store(&loginReport{user: getenv("PAM_USER"), rhost: getenv("PAM_RHOST"),
			fields: m.About().SummaryFields, facility: cfg.Syslog.Facility})
	}
	res, err := r.login(ctx, cfg, client, m, stdin, getenv("PAM_USER"))
	// A denial names Vault's request_ids too (the success line has them).
	ids := client.RequestIDs()
	if err != nil && len(ids) > 0 {
		err = fmt.Errorf("%w%s", err, requestIDNote(ids))
	}
	r.ended = &loginEnd{err: err, fields: res.Fields, requestIDs: ids}
	return err
}

// login returns a nil error only when m verified the password for pamUser.
func (r *Run) login(ctx context.Context, cfg *config.Config, client *agent.Client, m helper.Mode,
	stdin io.Reader, pamUser string) (helper.Result, error) {
	r.WaitingFor("the password on stdin")
	password, err := readPassword(ctx, cfg.Timeout, m, stdin)
	if err != nil {
		return helper.Result{}, err
	}
	r.Log.Debug("verifying %s with Vault at %s", m.About().Secret, cfg.VaultAddrs[0])
	r.WaitingFor("Vault at " + cfg.VaultAddrs[0].String())
	res, err := m.Login(ctx, password, pamUser)
	if err != nil {
		return res, explainTimeout(err, cfg)
	}
	r.Log.Info("%s authenticated!%s", res.Who, requestIDNote(client.RequestIDs()))
	return res, nil
}

// readPassword reads stdin within the budget: run by hand without a pipe,
// stdin is a terminal that may never close.
func readPassword(ctx context.Context, timeout time.Duration, m helper.Mode, stdin io.Reader) (string, error) {
	var password string
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		password, err = m.ReadPassword(stdin)
	}()
	select {
	case <-done:
		return password, err
	case <-ctx.Done():
		return "", fmt.Errorf("%w waiting for the password on stdin (timeout = %s)", agent.ErrTimeout, timeout)
	}
}

// explainTimeout adds the budget to a timeout: what was waited for, how long.
func explainTimeout(err error, cfg *config.Config) error {
	if errors.Is(err, agent.ErrTimeout) {
		return fmt.Errorf("%w (timeout = %s; raise it in the config file if Vault is slow)", err, cfg.Timeout)
	}
	return err
}

// SyslogSocket is the local syslog daemon's socket. Only tests change it;
// nothing in the environment or the config does.
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

// SendSummary sends the summary line of a login that has ended, if the
// config asks for syslog. Call it after the run's last line on stderr, so
// both logs end the same way.
func (r *Run) SendSummary() {
	if r.ended != nil {
		r.summarize(*r.ended)
	}
}

// summarize sends the login's summary line, once per run; a line syslog
// does not take goes to stderr, saying why.
func (r *Run) summarize(end loginEnd) {
	rep := r.report.Swap(nil)
	if rep == nil {
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

// line is the summary's text. rhost comes right after the fixed words, so a
// filter that reads the client's address there (fail2ban's <HOST>) reads
// the one sshd gave, whatever a user name or Vault's words hold further on.
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
