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
	"sync"
	"sync/atomic"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// WatchdogGrace is how long past the budget the process may live before the
// watchdog denies. The budget's context should end every wait first; the
// watchdog is for a wait nobody foresaw (a stalled file system), as nothing
// else kills a hung pam_exec helper. A full second lets a run slow to be
// scheduled (a loaded host) end on its own budget, with its own reason.
const WatchdogGrace = time.Second

// Run is one run's plumbing: its outbox and logger, its watchdog, and the
// summary line of its login.
type Run struct {
	// Log is the run's logger (pam_exec's log= file, through the outbox);
	// Stdout queues writes for stdout in the same outbox.
	Log      *Logger
	Stdout   io.Writer
	start    time.Time
	exit     func(int)
	watchdog *time.Timer
	forget   func() // ends trust.Remember's memory of checked directories

	mu      sync.Mutex // the watchdog's goroutine reads what the run writes
	budget  time.Duration
	waiting string

	report     atomic.Pointer[loginReport] // set when the config asks for syslog
	ended      *loginEnd
	summarized atomic.Bool // the run's end and the watchdog may both try
}

// Start sets up a run that began at start, writing to stdout and stderr.
// exit is called only by the watchdog, when the run outlives its budget.
func Start(start time.Time, stdout, stderr io.Writer, exit func(int)) *Run {
	r := newRun(start, newLogger(stderr), exit)
	r.Stdout = r.Log.to(stdout)
	// The config, its certificate, token files and state_dir share most of
	// their directories: each is checked once per run.
	r.forget = trust.Remember()
	return r
}

// newRun starts the watchdog with the default budget.
func newRun(start time.Time, log *Logger, exit func(int)) *Run {
	r := &Run{Log: log, start: start, exit: exit, budget: config.DefaultTimeout, waiting: "the start-up", forget: func() {}}
	r.watchdog = time.AfterFunc(time.Until(start.Add(r.budget+WatchdogGrace)), r.fire)
	return r
}

// StopWatchdog stops the watchdog; End does it too.
func (r *Run) StopWatchdog() { r.watchdog.Stop() }

// End writes out what is queued, waiting at most flushGrace. The flush is
// bounded, so the watchdog is not needed for it; stopping it first keeps a
// slow flush near the deadline from turning an exit 0 into the watchdog's 1.
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

// Budget moves the watchdog's deadline to the configured timeout and
// returns the context every wait of the run ends with, both counted from
// the run's start.
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

// VerifyOnly is -verify-only: it checks Vault with m, or, when the config
// lists several addresses, every one of them with a mode modeAt makes for
// the client of that address. It returns nil only when Vault (every
// address) is healthy.
func (r *Run) VerifyOnly(ctx context.Context, cfg *config.Config, client *agent.Client, m helper.Mode,
	modeAt func(*agent.Client) (helper.Mode, error)) error {
	r.WaitingFor("Vault at " + cfg.VaultAddr.String())
	if len(cfg.Addrs()) > 1 {
		if err := checkEvery(ctx, cfg, client, modeAt, r.Log); err != nil {
			return err
		}
	} else {
		r.Log.Debug("%s to %s", m.About().CheckStep, cfg.VaultAddr)
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
// in. It returns nil only for a verified login, and records how the login
// ended for SendSummary.
func (r *Run) Login(ctx context.Context, cfg *config.Config, client *agent.Client, m helper.Mode,
	stdin io.Reader, getenv func(string) string) error {
	if cfg.Syslog != nil {
		r.report.Store(&loginReport{user: getenv("PAM_USER"), rhost: getenv("PAM_RHOST"),
			fields: m.About().SummaryFields, facility: cfg.Syslog.Facility})
	}
	res, err := r.login(ctx, cfg, client, m, stdin, getenv("PAM_USER"))
	// The denial gets the request_id of Vault's answers too; the success
	// line has it already.
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
	password, err := readPassword(ctx, m, stdin)
	if errors.Is(err, agent.ErrTimeout) {
		return helper.Result{}, fmt.Errorf("%w (timeout = %s)", err, cfg.Timeout)
	}
	if err != nil {
		return helper.Result{}, err
	}
	r.Log.Debug("verifying %s with Vault at %s", m.About().Secret, cfg.VaultAddr)
	r.WaitingFor("Vault at " + cfg.VaultAddr.String())
	res, err := m.Login(ctx, password, pamUser)
	if err != nil {
		return res, explainTimeout(err, cfg)
	}
	r.Log.Info("%s authenticated!%s", res.Who, requestIDNote(client.RequestIDs()))
	return res, nil
}

// readPassword reads stdin within the budget: run by hand without a pipe,
// stdin is a terminal that may never close.
func readPassword(ctx context.Context, m helper.Mode, stdin io.Reader) (string, error) {
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
		return "", fmt.Errorf("%w waiting for the password on stdin", agent.ErrTimeout)
	}
}

// explainTimeout adds the budget to a timeout, so the log line says both what
// the helper waited for and for how long.
func explainTimeout(err error, cfg *config.Config) error {
	if errors.Is(err, agent.ErrTimeout) {
		return fmt.Errorf("%w (timeout = %s; raise it in the config file if Vault is slow)", err, cfg.Timeout)
	}
	return err
}
