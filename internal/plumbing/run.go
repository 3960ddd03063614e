// Package plumbing runs one process of the helper around the decision that
// main wires up: every write to stdout and stderr goes through one bounded
// outbox (a stalled log= file never holds up a login), a watchdog denies a
// run that outlives its budget, a login ends in one summary line for syslog,
// and -verify-only checks every Vault address. It never maps an outcome to
// an exit code: that is main's one function, exitCode. Package main is the
// only caller; nothing here imports it.
package plumbing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// Run is one run's plumbing: its outbox, logger and watchdog.
type Run struct {
	// Log is the run's logger (pam_exec's log= file, through the outbox).
	Log *Logger
	// Stdout queues writes for the process's stdout in the same outbox.
	Stdout   io.Writer
	start    time.Time
	watchdog *watchdog
	// forget ends the run's memory of the directories that passed the
	// trust rule (see trust.Remember).
	forget func()
}

// Start sets up a run that began at start, writing to stdout and stderr.
// exit is called only by the watchdog, when the run outlives its budget.
func Start(start time.Time, stdout, stderr io.Writer, exit func(int)) *Run {
	out := newOutbox()
	log := newLogger(out, stderr)
	return &Run{
		Log:      log,
		Stdout:   out.to(stdout),
		start:    start,
		watchdog: startWatchdog(start, log, exit),
		// The config, its certificate, token files and state_dir share
		// most of their directories: each is checked once per run.
		forget: trust.Remember(),
	}
}

// StopWatchdog stops the watchdog; End does it too.
func (r *Run) StopWatchdog() { r.watchdog.stop() }

// End writes out what is queued, waiting at most flushGrace. The flush is
// bounded, so the watchdog is not needed for it; stopping it first keeps a
// slow flush near the deadline from turning an exit 0 into the watchdog's 1.
func (r *Run) End() {
	r.watchdog.stop()
	r.forget()
	r.Log.finish(flushGrace)
}

// WaitingFor records what the run waits for next, for the watchdog's line.
func (r *Run) WaitingFor(what string) { r.watchdog.waitingFor(what) }

// Budget moves the watchdog's deadline to the configured timeout and
// returns the context every wait of the run ends with, both counted from
// the run's start.
func (r *Run) Budget(timeout time.Duration) (context.Context, context.CancelFunc) {
	r.watchdog.setBudget(timeout)
	return context.WithDeadline(context.Background(), r.start.Add(timeout))
}

// SendSummary queues the summary line of a login that has ended (nothing
// for a run that is not a login or whose config has no syslog_facility).
// Call it after the run's last line on stderr, so both logs end the same
// way.
func (r *Run) SendSummary() { r.Log.sendSummary() }

// Mode is what the plumbing needs of a mode (package helper defines it).
type Mode = helper.Mode

// VerifyOnly is -verify-only: it checks Vault with m, or, when the config
// lists several addresses, every one of them with a mode modeAt makes for
// the client of that address. It returns nil only when Vault (every
// address) is healthy.
func (r *Run) VerifyOnly(ctx context.Context, cfg *config.Config, client *agent.Client, m Mode,
	modeAt func(*agent.Client) (Mode, error)) error {
	r.watchdog.waitingFor("Vault at " + cfg.VaultAddr.String())
	if len(cfg.Addrs()) > 1 {
		return checkEvery(ctx, cfg, client, modeAt, r.Log)
	}
	return check(ctx, m, cfg, r.Log)
}

// Login reads the password from stdin and asks m whether it lets PAM_USER
// in. It returns nil only for a verified login. With syslog_facility set,
// it records the login's summary, which SendSummary sends.
func (r *Run) Login(ctx context.Context, cfg *config.Config, client *agent.Client, m Mode,
	stdin io.Reader, getenv func(string) string) error {
	report := r.reportLoginsTo(cfg, m, client, getenv)
	return report(login(ctx, m, cfg, client, stdin, getenv("PAM_USER"), r.Log, r.watchdog))
}

// reportLoginsTo arms the summary line when the config asks for syslog, and
// returns what ends the login: it adds the request_id of Vault's answers to
// the denial (the success line has it already) and records the summary,
// which SendSummary sends after the run's last line. It never changes the
// outcome: a nil error stays the only verified login.
func (r *Run) reportLoginsTo(cfg *config.Config, m Mode, client *agent.Client, getenv func(string) string) func(helper.Result, error) error {
	log := r.Log
	if cfg.Syslog != nil {
		log.reportTo(&loginReport{
			user:   getenv("PAM_USER"),
			rhost:  getenv("PAM_RHOST"),
			fields: m.About().SummaryFields,
			sink:   newSyslogSink(cfg.Syslog.Facility, log.syslogFallback),
		})
	}
	return func(r helper.Result, err error) error {
		ids := client.RequestIDs()
		if err != nil && len(ids) > 0 {
			err = fmt.Errorf("%w%s", err, requestIDNote(ids))
		}
		end := loginEnd{allowed: err == nil, requestIDs: ids, fields: r.Fields}
		if err != nil {
			end.reason = err.Error()
		}
		log.loginEnded(end)
		return err
	}
}

func check(ctx context.Context, m Mode, cfg *config.Config, log *Logger) error {
	log.Debug("%s to %s", m.About().CheckStep, cfg.VaultAddr)
	found, err := m.Check(ctx)
	for _, f := range found {
		if f.Warning {
			log.Warn("%s", f.Text)
		} else {
			log.Info("%s", f.Text)
		}
	}
	if err != nil {
		return explainTimeout(err, cfg)
	}
	log.Info("vault-ssh-helper verification successful!")
	return nil
}

// login returns a nil error only when m verified the password for pamUser.
func login(ctx context.Context, m Mode, cfg *config.Config, client *agent.Client, stdin io.Reader,
	pamUser string, log *Logger, watchdog *watchdog) (helper.Result, error) {
	watchdog.waitingFor("the password on stdin")
	password, err := readPassword(ctx, m, stdin)
	if errors.Is(err, agent.ErrTimeout) {
		return helper.Result{}, fmt.Errorf("%w (timeout = %s)", err, cfg.Timeout)
	}
	if err != nil {
		return helper.Result{}, err
	}
	log.Debug("verifying %s with Vault at %s", m.About().Secret, cfg.VaultAddr)
	watchdog.waitingFor("Vault at " + cfg.VaultAddr.String())
	r, err := m.Login(ctx, password, pamUser)
	if err != nil {
		return r, explainTimeout(err, cfg)
	}
	log.Info("%s authenticated!%s", r.Who, requestIDNote(client.RequestIDs()))
	return r, nil
}

// readPassword reads stdin within the budget: run by hand without a pipe,
// stdin is a terminal that may never close.
func readPassword(ctx context.Context, m Mode, stdin io.Reader) (string, error) {
	type result struct {
		password string
		err      error
	}
	done := make(chan result, 1)
	go func() {
		password, err := m.ReadPassword(stdin)
		done <- result{password, err}
	}()
	select {
	case r := <-done:
		return r.password, r.err
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
