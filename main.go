// Command vault-ssh-helper lets sshd, through pam_exec, check a password
// with Vault: it reads it from stdin, asks Vault in the config's mode and
// exits 0 only for a verified login.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing"
)

// modes is every mode the binary offers, one line each; config reads each
// mode's keys through it and refuses a key of a mode the file did not select.
var modes = helper.Registry{sshotp.Plugin, totp.Plugin}

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
	switch {
	case err != nil:
		return 1
	case o == loginVerified:
		return 0
	case (o == echoVerified || o == versionShown) && !underPAM:
		return 0
	}
	return 1
}

// run is main without the process: it returns the exit code. exit is called
// only by the watchdog. Nothing run prints, to stdout or stderr, is written
// by the goroutine that decides: it goes through the plumbing's one outbox,
// and the exit waits a bounded time for it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, exit func(int)) int {
	p := plumbing.Start(time.Now(), stdout, stderr, exit)
	defer p.StopWatchdog()
	o, err := execute(args, stdin, p, getenv)
	if err != nil {
		p.Log.Error("%v", err)
	}
	code := exitCode(o, err, getenv("PAM_TYPE") != "")
	switch {
	case err != nil || o == denied || code == 0: // nothing to explain
	case o == versionShown:
		p.Log.Error("PAM_TYPE is set: under pam_exec only a verified login exits 0, so printing the version denies")
	default:
		p.Log.Error("PAM_TYPE is set: -verify-only checks Vault, not a user, so under pam_exec it denies")
	}
	p.SendSummary()
	p.End()
	return code
}

// execute is the one straight data path: flags, config, password, Vault,
// decision; only a nil error from the last step is a verified outcome.
func execute(args []string, stdin io.Reader, p *plumbing.Run, getenv func(string) string) (outcome, error) {
	// -version is looked for in every argument before the flags, as the
	// original does.
	if slices.ContainsFunc(args, func(a string) bool { return slices.Contains(versionArgs, a) }) {
		fmt.Fprintf(p.Stdout, "vault-ssh-helper v%s (%s)\n", version, commit)
		return versionShown, nil
	}
	opts, err := parseFlags(args, p.Stdout)
	if err != nil {
		return denied, err
	}
	p.Log.SetLevel(opts.level)
	if opts.dev {
		p.Log.Warn("Dev mode is enabled!")
	}
	p.WaitingFor("the config file " + opts.configPath)
	cfg, err := config.Load(opts.configPath, config.Options{Dev: opts.dev, Modes: modes.Modes()})
	if err != nil {
		return denied, err
	}
	ctx, cancel := p.Budget(cfg.Timeout)
	defer cancel()

	client, err := agent.New(cfg)
	if err != nil {
		return denied, err
	}
	client.OnSkip(func(s agent.Skip) { p.Log.Warn("%s", s) })
	m, err := modes.New(cfg, client)
	if err != nil {
		return denied, err
	}
	p.Log.Info("%s", m.About().Announce)
	if cfg.Namespace != "" {
		p.Log.Info("using namespace: %s", cfg.Namespace)
	}
	if opts.verifyOnly {
		modeAt := func(c *agent.Client) (helper.Mode, error) { return modes.New(cfg, c) }
		if err := p.VerifyOnly(ctx, cfg, client, m, modeAt); err != nil {
			return denied, err
		}
		return echoVerified, nil
	}
	if err := p.Login(ctx, cfg, client, m, stdin, getenv); err != nil {
		return denied, err
	}
	return loginVerified, nil
}

var versionArgs = []string{"version", "-v", "-version", "--version"}

type options struct {
	configPath string
	dev        bool
	verifyOnly bool
	level      plumbing.Level
}

// usage is -h, the modes' paragraphs between its first line and the PAM example.
func usage() string {
	return `Usage: vault-ssh-helper -config=<path> [-dev] [-verify-only] [-log-level=<level>]

` + modes.Usage() + `sshd runs it through pam_exec, for example in /etc/pam.d/sshd:

  auth requisite pam_exec.so quiet expose_authtok log=/var/log/vault-ssh.log /usr/local/bin/vault-ssh-helper -config=/etc/vault-ssh-helper.d/config.hcl

Options:
  -config=<path>      The HCL or JSON config file (required). It must not be
                      writable by group or others.
  -dev                Development mode: allow an http:// vault_addr (refuse
                      https://) and ignore ca_cert and ca_path. Never in production.
  -verify-only        Check Vault for the config's mode without a password
                      (see above) and exit 0 when Vault answers. Run it by
                      hand; under pam_exec it always denies.
  -log-level=<level>  trace, debug, info (default), warn, error or off.
  -version            Print the version and exit 0 (under pam_exec: exit 1).
  -h, -help           Print this text and exit 1.

Exit status: 0 only for a verified login (or a successful -verify-only run by
hand); 1 for everything else.
`
}

// errUsage marks a run that printed the usage text; it still denies.
var errUsage = errors.New("usage printed; nothing verified")

func parseFlags(args []string, stdout io.Writer) (options, error) {
	var o options
	var levelName string
	fs := flag.NewFlagSet("vault-ssh-helper", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, usage()) }
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
	var err error
	if o.level, err = plumbing.ParseLevel(levelName); err != nil {
		return o, err
	}
	if o.configPath == "" {
		return o, errors.New("at least one config path must be specified with -config")
	}
	return o, nil
}
