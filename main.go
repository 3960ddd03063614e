// Command vault-ssh-helper lets sshd (through pam_exec) accept a Vault SSH
// one-time password: it reads the OTP from stdin, asks Vault to verify it,
// checks the answer against this login and exits 0 only if all agree.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp"
)

// Stamped by the Makefile with -ldflags -X.
var (
	version = "0.1.0-dev"
	commit  = "unknown"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, os.Exit))
}

// outcome is how a run ended. Its zero value denies, so a path that forgets
// to set one cannot let anybody in.
type outcome int

const (
	denied outcome = iota
	loginVerified
	echoVerified
	versionShown
)

// exitCode is the only place that turns an outcome into an exit status.
// An error denies whatever outcome came with it. Under pam_exec (PAM_TYPE
// set) only a verified login exits 0: a stray -version or -verify-only in the
// PAM line must not let anyone in.
func exitCode(o outcome, err error, underPAM bool) int {
	if err != nil {
		return 1
	}
	switch o {
	case loginVerified:
		return 0
	case echoVerified, versionShown:
		if underPAM {
			return 1
		}
		return 0
	}
	return 1
}

// run is main without the process: it returns the exit code. exit is called
// only by the watchdog. Nothing run prints, to stdout or stderr, is written
// by the goroutine that decides: it goes through one outbox, and the exit
// waits at most flushGrace for it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, exit func(int)) int {
	start := time.Now()
	out := newOutbox()
	log := newLogger(out, stderr)
	watchdog := startWatchdog(start, log, exit)
	defer watchdog.stop()

	code := decide(args, stdin, out.to(stdout), log, getenv, start, watchdog)
	// The flush is bounded, so the watchdog is not needed for it; stopping
	// it first keeps a slow flush near the deadline from turning an exit 0
	// into the watchdog's 1.
	watchdog.stop()
	log.finish(flushGrace)
	return code
}

// decide runs the login (or the other modes) and logs how it ended.
func decide(args []string, stdin io.Reader, stdout io.Writer, log *logger,
	getenv func(string) string, start time.Time, watchdog *watchdog) int {
	o, err := execute(args, stdin, stdout, log, getenv, start, watchdog)
	if err != nil {
		log.Error("%v", err)
	}
	code := exitCode(o, err, getenv("PAM_TYPE") != "")
	if err == nil && o != denied && code != 0 {
		log.Error("%s", refusalUnderPAM(o))
	}
	log.sendSummary()
	return code
}

func refusalUnderPAM(o outcome) string {
	if o == versionShown {
		return "PAM_TYPE is set: under pam_exec only a verified login exits 0, so printing the version denies"
	}
	return "PAM_TYPE is set: -verify-only checks Vault, not a user, so under pam_exec it denies"
}

// execute is the one straight data path: flags, config, OTP, Vault, decision.
func execute(args []string, stdin io.Reader, stdout io.Writer, log *logger,
	getenv func(string) string, start time.Time, watchdog *watchdog) (outcome, error) {
	if wantsVersion(args) {
		fmt.Fprintf(stdout, "vault-ssh-helper v%s (%s)\n", version, commit)
		return versionShown, nil
	}
	opts, err := parseFlags(args, stdout)
	if err != nil {
		return denied, err
	}
	log.setLevel(opts.level)
	if opts.dev {
		log.Warn("Dev mode is enabled!")
	}
	watchdog.waitingFor("the config file " + opts.configPath)
	cfg, err := config.Load(opts.configPath, config.Options{Dev: opts.dev})
	if err != nil {
		return denied, err
	}
	watchdog.setBudget(cfg.Timeout)
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(cfg.Timeout))
	defer cancel()

	client, err := agent.New(cfg)
	if err != nil {
		return denied, err
	}
	client.OnSkip(func(s agent.Skip) { log.Warn("%s", s) })
	m := newMode(cfg, client)
	log.Info("%s", m.Announce())
	if cfg.Namespace != "" {
		log.Info("using namespace: %s", cfg.Namespace)
	}
	if opts.verifyOnly {
		watchdog.waitingFor("Vault at " + cfg.VaultAddr.String())
		if len(cfg.Addrs()) > 1 {
			return checkEvery(ctx, cfg, client, log)
		}
		return check(ctx, m, cfg, log)
	}
	report := reportLoginsTo(cfg, m, client, getenv, log)
	o, err := login(ctx, m, cfg, client, stdin, getenv("PAM_USER"), log, watchdog)
	return o, report(o, err)
}

// reportLoginsTo arms the summary line when the config asks for syslog, and
// returns what ends the login: it adds the request_id of Vault's answers to
// the denial (the success line has it already) and records the summary,
// which decide sends after the run's last line. It never changes the
// outcome.
func reportLoginsTo(cfg *config.Config, m mode, client *agent.Client, getenv func(string) string, log *logger) func(outcome, error) error {
	ip, otpMode := m.(interface{ OTPIP() netip.Addr })
	if cfg.Syslog != nil {
		log.reportTo(&loginReport{
			user:    getenv("PAM_USER"),
			rhost:   getenv("PAM_RHOST"),
			otpMode: otpMode,
			sink:    newSyslogSink(cfg.Syslog.Facility, log.syslogFallback),
		})
	}
	return func(o outcome, err error) error {
		ids := client.RequestIDs()
		if err != nil && len(ids) > 0 {
			err = fmt.Errorf("%w%s", err, requestIDNote(ids))
		}
		end := loginEnd{allowed: err == nil && o == loginVerified, requestIDs: ids}
		if otpMode {
			end.otpIP = ip.OTPIP()
		}
		if err != nil {
			end.reason = err.Error()
		}
		log.loginEnded(end)
		return err
	}
}

// mode is one way of checking a password with Vault: each reads its kind
// of password, asks Vault and decides in its own package.
type mode interface {
	// Announce is the info line that says what the mode checks against.
	Announce() string
	// Secret names the password in log lines ("the OTP").
	Secret() string
	// ReadPassword reads stdin and refuses, before any network traffic,
	// anything that is not this mode's kind of password.
	ReadPassword(io.Reader) (string, error)
	// Login asks Vault about the password and decides; it returns who
	// logged in. Its errors never carry the password.
	Login(ctx context.Context, password, pamUser string) (string, error)
	// CheckStep says what Check sends, for the debug line before it.
	CheckStep() string
	// Check is -verify-only: it proves Vault is reachable and set up
	// without a password, and returns what it found on the way, also when
	// it fails.
	Check(ctx context.Context) ([]helper.Finding, error)
}

// newMode chooses the mode the config file asks for: the TOTP mode when it
// has totp_mount_point, else the SSH OTP mode.
func newMode(cfg *config.Config, client *agent.Client) mode {
	if cfg.TOTP != nil {
		return totp.New(cfg, client)
	}
	return sshotp.New(cfg, client)
}

func check(ctx context.Context, m mode, cfg *config.Config, log *logger) (outcome, error) {
	log.Debug("%s to %s", m.CheckStep(), cfg.VaultAddr)
	found, err := m.Check(ctx)
	for _, f := range found {
		if f.Warning {
			log.Warn("%s", f.Text)
		} else {
			log.Info("%s", f.Text)
		}
	}
	if err != nil {
		return denied, explainTimeout(err, cfg)
	}
	log.Info("vault-ssh-helper verification successful!")
	return echoVerified, nil
}

func login(ctx context.Context, m mode, cfg *config.Config, client *agent.Client, stdin io.Reader,
	pamUser string, log *logger, watchdog *watchdog) (outcome, error) {
	watchdog.waitingFor("the password on stdin")
	password, err := readPassword(ctx, m, stdin)
	if errors.Is(err, agent.ErrTimeout) {
		return denied, fmt.Errorf("%w (timeout = %s)", err, cfg.Timeout)
	}
	if err != nil {
		return denied, err
	}
	log.Debug("verifying %s with Vault at %s", m.Secret(), cfg.VaultAddr)
	watchdog.waitingFor("Vault at " + cfg.VaultAddr.String())
	who, err := m.Login(ctx, password, pamUser)
	if err != nil {
		return denied, explainTimeout(err, cfg)
	}
	log.Info("%s authenticated!%s", who, requestIDNote(client.RequestIDs()))
	return loginVerified, nil
}

// readPassword reads stdin within the budget: run by hand without a pipe,
// stdin is a terminal that may never close.
func readPassword(ctx context.Context, m mode, stdin io.Reader) (string, error) {
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

// wantsVersion looks at every argument before flags are parsed, as the
// original does.
func wantsVersion(args []string) bool {
	for _, a := range args {
		switch a {
		case "version", "-v", "-version", "--version":
			return true
		}
	}
	return false
}

type options struct {
	configPath string
	dev        bool
	verifyOnly bool
	level      level
}

const usageText = `Usage: vault-ssh-helper -config=<path> [-dev] [-verify-only] [-log-level=<level>]

vault-ssh-helper reads a Vault SSH one-time password (OTP) from stdin, asks
Vault's SSH secrets engine to verify it, and exits 0 only when Vault confirms
the OTP was issued for this user (PAM_USER), this host and an allowed role.
A config file with totp_mount_point selects the TOTP mode instead: it reads
a 6- or 8-digit code and exits 0 only when Vault's TOTP engine says the code
is valid for the user's key (a second factor after sshd's publickey).
sshd runs it through pam_exec, for example in /etc/pam.d/sshd:

  auth requisite pam_exec.so quiet expose_authtok log=/var/log/vault-ssh.log /usr/local/bin/vault-ssh-helper -config=/etc/vault-ssh-helper.d/config.hcl

Options:
  -config=<path>      The HCL or JSON config file (required). It must not be
                      writable by group or others.
  -dev                Development mode: allow an http:// vault_addr (refuse
                      https://) and ignore ca_cert and ca_path. Never in production.
  -verify-only        Check vault_addr, TLS and ssh_mount_point without an OTP
                      and exit 0 when Vault answers (TOTP mode: the token,
                      its policy and totp_mount_point, without a code). Run
                      it by hand; under pam_exec it always denies.
  -log-level=<level>  trace, debug, info (default), warn, error or off.
  -version            Print the version and exit 0 (under pam_exec: exit 1).
  -h, -help           Print this text and exit 1.

Exit status: 0 only for a verified login (or a successful -verify-only run by
hand); 1 for everything else.
`

// errUsage marks a run that printed the usage text; it still denies.
var errUsage = errors.New("usage printed; nothing verified")

func parseFlags(args []string, stdout io.Writer) (options, error) {
	var o options
	var levelName string
	fs := flag.NewFlagSet("vault-ssh-helper", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, usageText) }
	fs.StringVar(&o.configPath, "config", "", "")
	fs.BoolVar(&o.dev, "dev", false, "")
	fs.BoolVar(&o.verifyOnly, "verify-only", false, "")
	fs.StringVar(&levelName, "log-level", "info", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errUsage
		}
		return o, fmt.Errorf("invalid command line: %w", err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("invalid command line: unexpected argument %q (flags come as -name=value)", fs.Arg(0))
	}
	lvl, err := parseLevel(levelName)
	if err != nil {
		return o, err
	}
	o.level = lvl
	if o.configPath == "" {
		return o, errors.New("at least one config path must be specified with -config")
	}
	return o, nil
}
