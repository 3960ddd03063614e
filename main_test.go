package main

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/testtmp"
)

// TestMain lets the scripts run the real main as the command
// vault-ssh-helper, in its own process, exactly as pam_exec would. The tests
// run only under a TMPDIR whose files the helper would trust (testtmp).
func TestMain(m *testing.M) {
	testscript.Main(testtmp.M{M: m}, map[string]func(){
		"vault-ssh-helper": func() {
			os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, os.Exit))
		},
	})
}

// TestScripts runs testdata/script/*.txtar: one script per concern, each
// pinning the flags, messages and exit codes a user sees.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"stubvault": cmdStubVault,
			"requests":  cmdRequests,
			"expand":    cmdExpand,
			"stalled":   cmdStalled,
			"reason":    cmdReason,
		},
	})
}

// setupScript gives the scripts what -version prints ($VERSION, $COMMIT)
// and makes their files look like an operator's.
func setupScript(env *testscript.Env) error {
	env.Setenv("VERSION", version)
	env.Setenv("COMMIT", commit)
	return stripGroupWrite(env)
}

// stripGroupWrite makes the script's files look like an operator's: the
// helper refuses config files that group or others may write, and a umask
// of 002 would otherwise make every script fail for the wrong reason.
func stripGroupWrite(env *testscript.Env) error {
	return filepath.Walk(env.WorkDir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chmod(path, info.Mode().Perm()&^0o022)
	})
}

// stubVault is an httptest stand-in for the faults and answers the unit of
// CLI behaviour needs; the real Vault is in e2e/ (a module of its own).
type stubVault struct {
	requests atomic.Int64
}

// cmdStubVault: stubvault [-tls] [-hang] NAME STATUS [BODYFILE]
// starts a server answering every request with STATUS and BODYFILE's
// content, sets $NAME to its URL and, with -tls, writes its certificate to
// $WORK/NAME.pem.
func cmdStubVault(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! stubvault")
	}
	useTLS, hang := false, false
	for len(args) > 0 && (args[0] == "-tls" || args[0] == "-hang") {
		useTLS = useTLS || args[0] == "-tls"
		hang = hang || args[0] == "-hang"
		args = args[1:]
	}
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: stubvault [-tls] [-hang] NAME STATUS [BODYFILE]")
	}
	name := args[0]
	status, err := strconv.Atoi(args[1])
	ts.Check(err)
	var body []byte
	if len(args) == 3 {
		body = []byte(ts.ReadFile(args[2]))
	}
	stub := &stubVault{}
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stub.requests.Add(1)
		io.Copy(io.Discard, r.Body)
		if hang {
			<-release
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	})
	var srv *httptest.Server
	if useTLS {
		srv = httptest.NewTLSServer(handler)
		cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		ts.Check(os.WriteFile(ts.MkAbs(name+".pem"), cert, 0o644))
	} else {
		srv = httptest.NewServer(handler)
	}
	ts.Defer(func() {
		close(release)
		srv.Close()
	})
	ts.Setenv(name, srv.URL)
	stubsMu.Lock()
	stubs[srv.URL] = stub
	stubsMu.Unlock()
}

// stubs maps a stub's URL to its counters; scripts run in parallel.
var (
	stubsMu sync.Mutex
	stubs   = map[string]*stubVault{}
)

// cmdRequests: requests NAME N checks the stub named by $NAME got N requests.
func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: requests NAME N")
	}
	stubsMu.Lock()
	stub := stubs[ts.Getenv(args[0])]
	stubsMu.Unlock()
	if stub == nil {
		ts.Fatalf("no stub vault named %s", args[0])
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := int(stub.requests.Load())
	if (got == want) == neg {
		ts.Fatalf("stub vault %s got %d requests, want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// cmdExpand: expand SRC DST [NAME] writes SRC with $VARS expanded to DST,
// mode 0600, so config files can name a stub's address; with NAME, $ADDR
// stands for $NAME.
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: expand SRC DST [NAME]")
	}
	lookup := ts.Getenv
	if len(args) == 3 {
		lookup = func(name string) string {
			if name == "ADDR" {
				return ts.Getenv(args[2])
			}
			return ts.Getenv(name)
		}
	}
	text := os.Expand(ts.ReadFile(args[0]), lookup)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(text), 0o600))
}

// cmdStalled: stalled [-stdin FILE] CODE PROG [ARGS...] runs PROG as
// pam_exec would with its log= file on a mount that stopped taking writes:
// stdout and stderr both on a FIFO whose buffer is full and never read. It
// passes PATH, PAM_TYPE and PAM_USER from the script and fails unless PROG
// exits with CODE before plumbingtest.HangDetector.
func cmdStalled(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! stalled (give the exit code)")
	}
	stdin := ""
	if len(args) > 1 && args[0] == "-stdin" {
		stdin = ts.ReadFile(args[1])
		args = args[2:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: stalled [-stdin FILE] CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	dir, err := os.MkdirTemp(ts.MkAbs("."), "stalled-")
	ts.Check(err)
	sink, release, err := plumbingtest.FullFIFO(filepath.Join(dir, "log.fifo"))
	ts.Check(err)
	ts.Defer(release)
	path, err := exec.LookPath(args[1])
	ts.Check(err)

	ctx, cancel := context.WithTimeout(context.Background(), plumbingtest.HangDetector)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = []string{"PATH=" + ts.Getenv("PATH")}
	for _, name := range []string{"PAM_TYPE", "PAM_USER"} {
		if v := ts.Getenv(name); v != "" {
			cmd.Env = append(cmd.Env, name+"="+v)
		}
	}
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = sink, sink
	started := time.Now()
	err = cmd.Run()
	ts.Logf("exited after %s with stdout and stderr stalled: %v", time.Since(started).Round(time.Millisecond), err)
	if ctx.Err() != nil {
		ts.Fatalf("%s hung: not done after %s with its output stalled", args[1], plumbingtest.HangDetector)
	}
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		ts.Fatalf("run %s: %v", args[1], err)
	}
	if code != want {
		ts.Fatalf("%s exited %d, want %d", args[1], code, want)
	}
}
