//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package ratelimit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// helperDirEnv makes the test binary, re-executed, act as other logins.
const helperDirEnv = "RATELIMIT_TEST_HELPER_DIR"

const (
	concMax        = 3
	concGoroutines = 20
	concProcesses  = 4
	concPerProcess = 5
)

// Logins for one user at once, as goroutines here and in other processes,
// all with wrong codes (nobody calls Succeeded): exactly max get an attempt,
// that is, reach Vault; every other one is limited, none fails on the state.
func TestConcurrentBegin(t *testing.T) {
	widenLockedGap(t)
	dir := filepath.Join(t.TempDir(), "state")
	l, err := Open(dir, concMax, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	var procs []*exec.Cmd
	var releases []io.Closer
	var outs []*bytes.Buffer
	for range concProcesses {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentBeginHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
		release, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs, releases, outs = append(procs, cmd), append(releases, release), append(outs, out)
	}

	start := make(chan struct{})
	results := make(chan error, concGoroutines)
	var wg sync.WaitGroup
	for range concGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results <- beginOnce(l)
		}()
	}
	close(start)
	for _, r := range releases {
		r.Close()
	}
	wg.Wait()
	close(results)

	got, limited := 0, 0
	for err := range results {
		got, limited = tally(t, err, got, limited)
	}
	for i, cmd := range procs {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process: %v\n%s", err, outs[i])
		}
		g, lim, err := helperResult(outs[i].String())
		if err != nil {
			t.Fatal(err)
		}
		got, limited = got+g, limited+lim
	}

	if got != concMax || got+limited != concGoroutines+concProcesses*concPerProcess {
		t.Errorf("%d attempts got through and %d were limited; want %d through of %d",
			got, limited, concMax, concGoroutines+concProcesses*concPerProcess)
	}
	// The processes ended without Succeeded, as a crashed helper would: their
	// attempts stay failures.
	if n := len(strings.Fields(stateOf(t, l, "alice"))); n != concMax {
		t.Errorf("state holds %d failures, want %d", n, concMax)
	}
}

// TestConcurrentBeginHelper is the other processes' part of
// TestConcurrentBegin: it waits for stdin to close, then runs its logins
// and prints how they went.
func TestConcurrentBeginHelper(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("run by TestConcurrentBegin")
	}
	widenLockedGap(t)
	l, err := Open(dir, concMax, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, os.Stdin)
	results := make(chan error, concPerProcess)
	for range concPerProcess {
		go func() { results <- beginOnce(l) }()
	}
	got, limited := 0, 0
	for range concPerProcess {
		got, limited = tally(t, <-results, got, limited)
	}
	fmt.Printf("RESULT %d %d\n", got, limited)
}

// widenLockedGap keeps each Begin between its read and its write a little
// while, so that without the lock other logins would read the same count.
func widenLockedGap(t *testing.T) {
	lockedHook = func() { time.Sleep(2 * time.Millisecond) }
	t.Cleanup(func() { lockedHook = func() {} })
}

func beginOnce(l *Limiter) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := l.Begin(ctx, "alice", t0)
	return err
}

func tally(t *testing.T, err error, got, limited int) (int, int) {
	switch {
	case err == nil:
		return got + 1, limited
	case errors.Is(err, ErrLimited):
		return got, limited + 1
	}
	t.Errorf("Begin: %v", err)
	return got, limited
}

func helperResult(out string) (got, limited int, err error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "RESULT %d %d", &got, &limited); err == nil {
			return got, limited, nil
		}
	}
	return 0, 0, fmt.Errorf("no RESULT line from the helper process:\n%s", out)
}
