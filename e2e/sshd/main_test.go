package sshd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestMain holds the whole package to what issue 4 promises: the system's sshd, its PAM and
// sshd configuration and its users are as the tests found them. What earlier killed runs left
// behind (names with our prefixes) is left out: the tests sweep it away.
func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		os.Exit(m.Run())
	}
	before := systemState()
	code := m.Run()
	if changed := diffState(before, systemState()); len(changed) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the sshd tests changed the system: %s\n", strings.Join(changed, "; "))
		code = 1
	}
	os.Exit(code)
}

// systemState maps each thing the tests must leave alone to a digest of it.
func systemState() map[string]string {
	state := map[string]string{}
	for _, pattern := range []string{"/etc/pam.d/*", "/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/*"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			if strings.HasPrefix(filepath.Base(f), ServicePrefix) {
				continue
			}
			if b, err := os.ReadFile(f); err == nil {
				state[f] = digest(b)
			}
		}
	}
	for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/subuid", "/etc/subgid"} {
		if b, err := os.ReadFile(f); err == nil {
			state[f] = digest(withoutTestAccounts(b))
		}
	}
	state["system sshd processes"] = systemSSHDs()
	return state
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// withoutTestAccounts drops the lines of account files that name a test user.
func withoutTestAccounts(b []byte) []byte {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), UserPrefix) {
			out.WriteString(sc.Text() + "\n")
		}
	}
	return out.Bytes()
}

// systemSSHDs lists the pids of sshd listeners that init started. Ours run under another
// name (ServicePrefix...), and per-connection sshd processes of the host come and go.
func systemSSHDs() string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "sshd" {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// After "pid (comm) state": the parent's pid.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == "1" {
			pid, _ := strconv.Atoi(filepath.Base(d))
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return fmt.Sprint(pids)
}

func diffState(before, after map[string]string) []string {
	var changed []string
	for k, v := range before {
		switch w, ok := after[k]; {
		case !ok:
			changed = append(changed, k+" is gone")
		case w != v:
			changed = append(changed, k+" changed")
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			changed = append(changed, k+" appeared")
		}
	}
	sort.Strings(changed)
	return changed
}
