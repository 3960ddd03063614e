//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package ratelimit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMessages pins the full text of every message an operator can meet; in
// the wants, DIR stands for the state_dir and ALICE for alice's state file.
// Elsewhere tests match the sentinels only. Why a file is corrupt is pinned
// in TestParseStamps; here it is what the parser says.
func TestMessages(t *testing.T) {
	cases := []struct {
		name     string
		rootOnly bool
		// run makes the situation in state_dir dir (not yet created; its
		// parent is a safe private directory) and returns what the package said.
		run  func(t *testing.T, dir string) error
		want error
		msg  string
	}{{
		name: "max below one",
		run:  func(t *testing.T, dir string) error { return openErr(dir, 0, time.Second) },
		msg:  "max failures 0 is outside 1..100",
	}, {
		name: "max above the bound",
		run:  func(t *testing.T, dir string) error { return openErr(dir, 101, time.Second) },
		msg:  "max failures 101 is outside 1..100",
	}, {
		name: "window not positive",
		run:  func(t *testing.T, dir string) error { return openErr(dir, 3, 0) },
		msg:  "failure window 0s is not positive",
	}, {
		name: "dir open to group",
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o750)
			return openErr(dir, 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "DIR" is accessible by group or others (mode 0750); run: chmod 0700 DIR`,
	}, {
		name: "dir readable by others",
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o704)
			return openErr(dir, 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "DIR" is accessible by group or others (mode 0704); run: chmod 0700 DIR`,
	}, {
		name: "dir is a file",
		run: func(t *testing.T, dir string) error {
			writeFile(t, dir, "", 0o600)
			return openErr(dir, 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "DIR" is not a directory`,
	}, {
		name: "dir under a file",
		run: func(t *testing.T, dir string) error {
			writeFile(t, dir, "", 0o600)
			return openErr(filepath.Join(dir, "sub"), 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "DIR/sub" cannot be used: not a directory`,
	}, {
		name: "dir missing, parent open to others",
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o777)
			chmod(t, dir, 0o777) // past the umask
			return openErr(filepath.Join(dir, "sub"), 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "DIR/sub": directory "DIR" is writable by group or others (mode 0777); run: chmod go-w DIR`,
	}, {
		name: "dir and parent missing",
		run: func(t *testing.T, dir string) error {
			return openErr(filepath.Join(dir, "sub"), 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "DIR/sub" does not exist and its parent cannot be used: no such file or directory`,
	}, {
		name: "dir cannot be created",
		run: func(t *testing.T, dir string) error {
			if runtime.GOOS != "linux" {
				t.Skip("needs /proc, where mkdir fails")
			}
			return openErr("/proc/vault-ssh-helper-test", 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "/proc/vault-ssh-helper-test" cannot be created: no such file or directory`,
	}, {
		name:     "dir owned by another user",
		rootOnly: true,
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o700)
			chown(t, dir, 65534)
			return openErr(dir, 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "DIR" is owned by uid 65534, not by root; run: chown root DIR`,
	}, {
		name:     "dir missing, parent owned by another user",
		rootOnly: true,
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o755)
			chown(t, dir, 65534)
			return openErr(filepath.Join(dir, "sub"), 3, time.Second)
		},
		want: ErrState,
		msg:  `state_dir "DIR/sub": directory "DIR" is owned by uid 65534, not by root; run: chown root DIR`,
	}, {
		name: "lifetime not positive",
		run: func(t *testing.T, dir string) error {
			_, err := Open(dir, 3, time.Second, 0)
			return err
		},
		msg: "code lifetime 0s is not positive",
	}, {
		name: "host key corrupt",
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o700)
			writeFile(t, filepath.Join(dir, hostKeyName), "not a key\n", 0o600)
			return openErr(dir, 3, time.Second)
		},
		want: ErrState,
		msg:  `host key "DIR/totp-hostkey" is corrupt: it is not 64 lowercase hex digits and a newline; remove it (every user's used codes are then forgotten): rm DIR/totp-hostkey`,
	}, {
		name: "code already accepted",
		run: func(t *testing.T, dir string) error {
			l, err := Open(dir, 3, 30*time.Second, 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			accept(t, l, "alice", code, at(0.5))
			_, err = beginCode(t, l, "alice", code, at(2))
			return err
		},
		want: ErrUsed,
		msg:  `code already accepted for user "alice" on this host at 2025-11-30T02:33:21Z; it stays refused until 2025-11-30T02:38:21Z (totp_code_lifetime 5m0s); state file ALICE`,
	}, {
		name: "record full",
		run: func(t *testing.T, dir string) error {
			l, err := Open(dir, 3, 30*time.Second, 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			used := "\n" + strings.Repeat("used 1764470000 "+sumA+"\n", MaxUsedCodes)
			writeFile(t, filepath.Join(dir, fileName("alice")), used, 0o600)
			a, err := beginCode(t, l, "alice", code, at(1))
			if err != nil {
				t.Fatal(err)
			}
			return a.Succeeded()
		},
		want: ErrState,
		msg:  `state file "ALICE" already holds 100 codes accepted for user "alice" within 5m0s, as many as it can; refusing rather than forgetting one`,
	}, {
		name: "empty user",
		run:  func(t *testing.T, dir string) error { return beginErr(t, dir, "", t0) },
		want: ErrUser,
		msg:  "empty user name: user name cannot be rate-limited",
	}, {
		name: "limited",
		run: func(t *testing.T, dir string) error {
			writeState(t, dir, "1764470000 1764470010 1764470020\n")
			return beginErr(t, dir, "alice", at(25))
		},
		want: ErrLimited,
		msg:  `too many failed codes for user "alice" (3 within 30s); refused until 2025-11-30T02:33:50Z; to lift it now: rm ALICE`,
	}, {
		name: "symbolic link",
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o700)
			symlink(t, "/etc/passwd", filepath.Join(dir, fileName("alice")))
			return beginErr(t, dir, "alice", t0)
		},
		want: ErrState,
		msg:  `state file "ALICE" is a symbolic link; remove it: rm ALICE`,
	}, {
		name: "named pipe",
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o700)
			if err := syscall.Mkfifo(filepath.Join(dir, fileName("alice")), 0o600); err != nil {
				t.Fatal(err)
			}
			return beginErr(t, dir, "alice", t0)
		},
		want: ErrState,
		msg:  `state file "ALICE" is a named pipe, not a regular file; remove it: rm ALICE`,
	}, {
		name: "directory",
		run: func(t *testing.T, dir string) error {
			mkdir(t, dir, 0o700)
			mkdir(t, filepath.Join(dir, fileName("alice")), 0o700)
			return beginErr(t, dir, "alice", t0)
		},
		want: ErrState,
		msg:  `state file "ALICE" cannot be opened: is a directory`,
	}, {
		name: "state file readable by group",
		run: func(t *testing.T, dir string) error {
			writeState(t, dir, "")
			chmod(t, filepath.Join(dir, fileName("alice")), 0o640)
			return beginErr(t, dir, "alice", t0)
		},
		want: ErrState,
		msg:  `state file "ALICE" is accessible by group or others (mode 0640); run: chmod 0600 ALICE`,
	}, {
		name:     "state file owned by another user",
		rootOnly: true,
		run: func(t *testing.T, dir string) error {
			writeState(t, dir, "")
			chown(t, filepath.Join(dir, fileName("alice")), 65534)
			return beginErr(t, dir, "alice", t0)
		},
		want: ErrState,
		msg:  `state file "ALICE" is owned by uid 65534, not by root; run: chown root ALICE`,
	}, {
		name: "hard link",
		run: func(t *testing.T, dir string) error {
			writeState(t, dir, "")
			if err := os.Link(filepath.Join(dir, fileName("alice")), filepath.Join(dir, "other")); err != nil {
				t.Fatal(err)
			}
			return beginErr(t, dir, "alice", t0)
		},
		want: ErrState,
		msg:  `state file "ALICE" has 2 hard links; remove it: rm ALICE`,
	}, {
		name: "corrupt",
		run: func(t *testing.T, dir string) error {
			writeState(t, dir, "1764470000 17644x0010\n")
			return beginErr(t, dir, "alice", t0)
		},
		want: ErrState,
		msg:  `state file "ALICE" is corrupt: ` + whyCorrupt("1764470000 17644x0010\n") + `; remove it to reset the user's failures and used codes: rm ALICE`,
	}, {
		name: "oversized",
		run: func(t *testing.T, dir string) error {
			writeState(t, dir, strings.Repeat("1 ", 5000)+"1\n")
			return beginErr(t, dir, "alice", t0)
		},
		want: ErrState,
		msg:  `state file "ALICE" is corrupt: ` + whyCorrupt(strings.Repeat("1 ", 5000)+"1\n") + `; remove it to reset the user's failures and used codes: rm ALICE`,
	}, {
		name: "clock before 1970",
		run:  func(t *testing.T, dir string) error { return beginErr(t, dir, "alice", time.Unix(-1, 0)) },
		want: ErrState,
		msg:  `the clock says 1969-12-31T23:59:59Z, which state file "ALICE" cannot hold`,
	}, {
		name: "clock past the format",
		run:  func(t *testing.T, dir string) error { return beginErr(t, dir, "alice", time.Unix(maxStamp+1, 0)) },
		want: ErrState,
		msg:  `the clock says 33658-09-27T01:46:40Z, which state file "ALICE" cannot hold`,
	}, {
		name: "locked past the deadline",
		run: func(t *testing.T, dir string) error {
			writeState(t, dir, "")
			holdLock(t, filepath.Join(dir, fileName("alice")))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			return beginCtxErr(t, ctx, dir, "alice")
		},
		want: ErrState,
		msg:  `state file "ALICE" stayed locked by another login until the time budget ran out`,
	}, {
		name: "locked until the context ends",
		run: func(t *testing.T, dir string) error {
			writeState(t, dir, "")
			holdLock(t, filepath.Join(dir, fileName("alice")))
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return beginCtxErr(t, ctx, dir, "alice")
		},
		want: ErrState,
		msg:  `state file "ALICE" stayed locked by another login until the time budget ran out`,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.rootOnly && os.Geteuid() != 0 {
				t.Skip("needs root to give a file away")
			}
			dir := filepath.Join(t.TempDir(), "state")
			err := c.run(t, dir)
			if err == nil {
				t.Fatal("no error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
			msg := strings.NewReplacer("ALICE", filepath.Join(dir, fileName("alice")), "DIR", dir).Replace(c.msg)
			if err.Error() != msg {
				t.Errorf("message = %q\nwant      %q", err.Error(), msg)
			}
		})
	}
}

func openErr(dir string, max int, window time.Duration) error {
	_, err := Open(dir, max, window, 5*time.Minute)
	return err
}

// beginErr opens dir (30s window, max 3) and returns Begin's error.
func beginErr(t *testing.T, dir, user string, now time.Time) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := Open(dir, 3, 30*time.Second, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.Begin(ctx, user, now)
	if a != nil && err != nil {
		t.Errorf("Begin returned an attempt with error %v", err)
	}
	return err
}

func beginCtxErr(t *testing.T, ctx context.Context, dir, user string) error {
	t.Helper()
	l, err := Open(dir, 3, 30*time.Second, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Begin(ctx, user, t0)
	return err
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, dir, mode)
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// writeState makes dir as Open would and alice's state file with content.
func writeState(t *testing.T, dir, content string) {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		mkdir(t, dir, 0o700)
	}
	writeFile(t, filepath.Join(dir, fileName("alice")), content, 0o600)
}

// holdLock takes path's flock through an open file description of its own,
// as another login would, until the test ends.
func holdLock(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
}

// whyCorrupt is what the parser says of a state file holding content.
func whyCorrupt(content string) string {
	if _, err := parseState([]byte(content)); err != nil {
		return err.Error()
	}
	return "(parsed)"
}
