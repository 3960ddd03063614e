package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
)

// These tests run whole logins and point plumbing.SyslogSocket (the only way
// to another socket than /dev/log) at sockets of their own. They do not run
// in parallel: the tests that do never configure syslog, so never read it.

const (
	summaryOTP   = "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3a"
	summaryID    = "8c2b5f0e-3c1a-6f7e-2a9d-1b4c5d6e7f80"
	summaryRHost = "203.0.113.7"
)

// useSyslogSocket points the helper at path for one test.
func useSyslogSocket(t *testing.T, path string) {
	t.Helper()
	old := plumbing.SyslogSocket
	plumbing.SyslogSocket = path
	t.Cleanup(func() { plumbing.SyslogSocket = old })
}

// verifyVault is a stand-in Vault whose verify answer is status and body.
func verifyVault(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// syslogConfig writes a config for vault at addr with syslog_facility and
// extra lines.
func syslogConfig(t *testing.T, addr string, extra ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.hcl")
	text := fmt.Sprintf("vault_addr = %q\nallowed_roles = \"*\"\ntimeout = \"5s\"\n%s\n", addr, strings.Join(extra, "\n"))
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loginAs runs one login in-process as pam_exec would, from summaryRHost.
func loginAs(t *testing.T, cfg, user, password string) (int, string) {
	t.Helper()
	env := map[string]string{"PAM_TYPE": "auth", "PAM_USER": user, "PAM_RHOST": summaryRHost}
	var stderr plumbingtest.SyncBuffer
	code := run([]string{"-dev", "-config=" + cfg}, strings.NewReader(password), io.Discard, &stderr,
		func(k string) string { return env[k] }, func(int) {})
	return code, stderr.String()
}

func allowedAnswer(user string) string {
	return `{"request_id":"` + summaryID + `","data":{"username":"` + user + `","ip":"127.0.0.1","role_name":"dev"}}`
}

// rsyslog is a real rsyslogd on a private socket, writing what it receives
// to two files: one with the facility and severity spelt out, one in the
// traditional format of Debian's /var/log/auth.log.
type rsyslog struct {
	socket, pinned, traditional string
}

func startRsyslog(t *testing.T) *rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("rsyslogd is not installed (CI=true): run scripts/syslog-deps.sh as root")
		}
		t.Skip("rsyslogd is not installed: sudo bash scripts/syslog-deps.sh")
	}
	dir := plumbingtest.ShortTempDir(t)
	r := &rsyslog{
		socket:      filepath.Join(dir, "log.sock"),
		pinned:      filepath.Join(dir, "pinned.log"),
		traditional: filepath.Join(dir, "auth.log"),
	}
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket=%q)
template(name="pinned" type="string" string="%%syslogfacility-text%%.%%syslogseverity-text%% %%syslogtag%%%%msg%%\n")
:syslogtag, startswith, "vault-ssh-helper" action(type="omfile" file=%q template="pinned")
:syslogtag, startswith, "vault-ssh-helper" action(type="omfile" file=%q template="RSYSLOG_TraditionalFileFormat")
`, dir, r.socket, r.pinned, r.traditional)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out plumbingtest.SyncBuffer
	cmd := exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("rsyslogd's output:\n%s", out.String())
		}
	})
	for i := 0; i < 200; i++ {
		if fi, err := os.Stat(r.socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("rsyslogd made no socket at %s", r.socket)
	return nil
}

// lines waits (boundedly) until file holds n lines and returns them.
func waitLines(t *testing.T, file string, n int) []string {
	t.Helper()
	var lines []string
	for i := 0; i < 200; i++ {
		b, _ := os.ReadFile(file)
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s holds %d lines, want %d: %q", file, len(lines), n, lines)
	return nil
}

// What lands in a real rsyslog, pinned: facility and severity, the tag with
// the helper's pid, and the whole line, for a login allowed, one Vault
// denies and one denied before Vault is asked; never the OTP.
func TestSummaryLinesLandInARealSyslogDaemon(t *testing.T) {
	d := startRsyslog(t)
	useSyslogSocket(t, d.socket)
	allowed := syslogConfig(t, verifyVault(t, 200, allowedAnswer("alice")), `syslog_facility = "authpriv"`)
	used := verifyVault(t, 400, `{"errors":["OTP not found"]}`)
	refused := syslogConfig(t, used, `syslog_facility = "authpriv"`)

	runs := []struct {
		cfg, user, password string
		code                int
	}{
		{allowed, "alice", summaryOTP, 0},
		{refused, "alice", summaryOTP, 1},
		{refused, "root", "hunter2", 1},
	}
	for _, r := range runs {
		code, stderr := loginAs(t, r.cfg, r.user, r.password)
		if code != r.code {
			t.Fatalf("exit code %d, want %d; log:\n%s", code, r.code, stderr)
		}
		if strings.Contains(stderr, "syslog") {
			t.Errorf("a working syslog left a line on stderr:\n%s", stderr)
		}
	}
	tag := fmt.Sprintf("vault-ssh-helper[%d]:", os.Getpid())
	want := []string{
		"authpriv.info " + tag + " login allowed: rhost=203.0.113.7 user=alice otp_ip=127.0.0.1 request_id=" + summaryID,
		"authpriv.notice " + tag + ` login denied: rhost=203.0.113.7 user=alice otp_ip=- request_id=- reason="verify at ` + used + `/v1/ssh/verify: OTP not found or already used"`,
		"authpriv.notice " + tag + ` login denied: rhost=203.0.113.7 user=root otp_ip=- request_id=- reason="password is not an OTP (a UUID: 8-4-4-4-12 hexadecimal digits)"`,
	}
	got := waitLines(t, d.pinned, len(want))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rsyslog received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, file := range []string{d.pinned, d.traditional} {
		if b, _ := os.ReadFile(file); strings.Contains(string(b), summaryOTP) || strings.Contains(string(b), "hunter2") {
			t.Errorf("%s holds the password:\n%s", file, b)
		}
	}
}

// The README's fail2ban filter, read from the README, bans the client of
// every denial in Debian's auth.log format as rsyslog writes it, and
// nobody for an allowed login, whatever the user name holds: as a Go
// regexp made the way fail2ban makes one, and in the real fail2ban-regex.
func TestTheREADMEsFail2banFilterMatchesDenialsInARealSyslog(t *testing.T) {
	d := startRsyslog(t)
	useSyslogSocket(t, d.socket)
	allowed := syslogConfig(t, verifyVault(t, 200, allowedAnswer("alice")), `syslog_facility = "auth"`)
	mismatch := syslogConfig(t, verifyVault(t, 200, allowedAnswer("bob")), `syslog_facility = "auth"`)
	forged := `x rhost=198.51.100.9 user=y`
	for _, r := range []struct{ cfg, user, password string }{
		{allowed, "alice", summaryOTP},
		{mismatch, "alice", summaryOTP},
		{mismatch, forged, summaryOTP},
		{mismatch, "alice", "not an otp"},
	} {
		loginAs(t, r.cfg, r.user, r.password)
	}
	re := fail2banRegexp(t)
	lines := waitLines(t, d.traditional, 4)
	wantHosts := []string{"", summaryRHost, summaryRHost, summaryRHost}
	for i, line := range lines {
		host := ""
		if m := re.FindStringSubmatch(line); m != nil {
			host = m[re.SubexpIndex("host")]
		}
		if host != wantHosts[i] {
			t.Errorf("the filter reads host %q from %q, want %q", host, line, wantHosts[i])
		}
	}
	if got := fail2banHosts(t, d.traditional); got != strings.Repeat(summaryRHost+"\n", 3) {
		t.Errorf("fail2ban-regex with the README's filter finds hosts %q, want %s three times", got, summaryRHost)
	}
}

// fail2banHosts runs the real fail2ban-regex with the README's filter (and
// fail2ban's own common.conf beside it) over log, and returns the address
// of each line it matched.
func fail2banHosts(t *testing.T, log string) string {
	t.Helper()
	bin, err := exec.LookPath("fail2ban-regex")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fail2ban-regex is not installed (CI=true): run scripts/syslog-deps.sh as root")
		}
		t.Skip("fail2ban-regex is not installed: sudo bash scripts/syslog-deps.sh")
	}
	dir := t.TempDir()
	common, err := os.ReadFile("/etc/fail2ban/filter.d/common.conf")
	if err != nil {
		t.Fatal(err)
	}
	filter := filepath.Join(dir, "vault-ssh-helper.conf")
	if err := os.WriteFile(filepath.Join(dir, "common.conf"), common, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filter, []byte(readmeFail2banFilter(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-o", "ip", log, filter).CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, out)
	}
	return string(out)
}

// fail2banRegexp is the README's failregex as fail2ban applies it to a
// line of auth.log: fail2ban takes the date off first, %(__prefix_line)s
// stands for "host daemon[pid]: " (common.conf, with _daemon from the
// filter), and <HOST> captures the address.
func fail2banRegexp(t *testing.T) *regexp.Regexp {
	t.Helper()
	block := readmeFail2banFilter(t)
	var failregex, daemon string
	sc := bufio.NewScanner(strings.NewReader(block))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		switch strings.TrimSpace(key) {
		case "failregex":
			failregex = strings.TrimLeft(value, " ")
		case "_daemon":
			daemon = strings.TrimSpace(value)
		}
		_ = ok
	}
	if failregex == "" || daemon == "" {
		t.Fatalf("the README's filter lacks failregex or _daemon:\n%s", block)
	}
	prefix := `\S+ ` + regexp.QuoteMeta(daemon) + `(?:\[\d+\])?: `
	expr := strings.ReplaceAll(failregex, "%(__prefix_line)s", prefix)
	expr = strings.ReplaceAll(expr, "<HOST>", `(?P<host>\S+)`)
	expr = strings.Replace(expr, "^", `^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d `, 1)
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatalf("the README's failregex as a Go regexp %q: %v", expr, err)
	}
	return re
}

// readmeFail2banFilter is the filter file the README gives.
func readmeFail2banFilter(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- fail2ban-filter -->\n```ini\n")
	if !ok {
		t.Fatal("README.md has no <!-- fail2ban-filter --> ini block")
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// A syslog that cannot take the line changes nothing about the login: the
// exit code stands, the run does not wait, and the summary line goes to
// stderr saying why. The fallback line's text is pinned here, once.
func TestASyslogThatCannotTakeTheLineChangesNoOutcome(t *testing.T) {
	full := plumbingtest.FullSocket(t)
	missing := filepath.Join(plumbingtest.ShortTempDir(t), "missing.sock")
	notSocket := filepath.Join(plumbingtest.ShortTempDir(t), "file")
	if err := os.WriteFile(notSocket, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	allowed := syslogConfig(t, verifyVault(t, 200, allowedAnswer("alice")), `syslog_facility = "authpriv"`)
	cases := []struct {
		name, socket, user string
		code               int
		why, summary       string
	}{
		{"full socket, allowed", full, "alice", 0, "the socket is full",
			"login allowed: rhost=203.0.113.7 user=alice otp_ip=127.0.0.1 request_id=" + summaryID},
		{"full socket, denied", full, "bob", 1, "the socket is full",
			`login denied: rhost=203.0.113.7 user=bob otp_ip=127.0.0.1 request_id=` + summaryID +
				` reason="` + reason(t, "sshotp.ErrUsernameMismatch") + `: the OTP is for \"alice\", PAM_USER is \"bob\" (request_id=` + summaryID + `)"`},
		{"no socket, allowed", missing, "alice", 0, "connect: no such file or directory",
			"login allowed: rhost=203.0.113.7 user=alice otp_ip=127.0.0.1 request_id=" + summaryID},
		{"not a socket, denied", notSocket, "bob", 1, "connect: connection refused",
			`login denied: rhost=203.0.113.7 user=bob otp_ip=127.0.0.1 request_id=` + summaryID +
				` reason="` + reason(t, "sshotp.ErrUsernameMismatch") + `: the OTP is for \"alice\", PAM_USER is \"bob\" (request_id=` + summaryID + `)"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			useSyslogSocket(t, c.socket)
			code, stderr := loginAs(t, allowed, c.user, summaryOTP)
			if code != c.code {
				t.Errorf("exit code %d, want %d", code, c.code)
			}
			want := "[WARN]  not sent to syslog (" + c.socket + ": " + c.why + "): " + c.summary + "\n"
			if !strings.HasSuffix(stderr, want) {
				t.Errorf("log:\n%s\nwant it to end with:\n%s", stderr, want)
			}
		})
	}
}

// Without syslog_facility, and in -verify-only (not a login), nothing is
// sent: the start-up path stays as it was.
func TestNothingGoesToSyslogUnlessALoginAsksForIt(t *testing.T) {
	path, received := plumbingtest.Listen(t)
	useSyslogSocket(t, path)
	addr := verifyVault(t, 200, allowedAnswer("alice"))
	unset := syslogConfig(t, addr)
	if code, stderr := loginAs(t, unset, "alice", summaryOTP); code != 0 || strings.Contains(stderr, "syslog") {
		t.Errorf("exit code %d; log:\n%s", code, stderr)
	}
	echo := syslogConfig(t, verifyVault(t, 200, `{"data":{"message":"verify-echo-response"}}`), `syslog_facility = "authpriv"`)
	var stderr plumbingtest.SyncBuffer
	if code := run([]string{"-dev", "-verify-only", "-config=" + echo}, strings.NewReader(""), io.Discard, &stderr,
		func(string) string { return "" }, func(int) {}); code != 0 {
		t.Errorf("-verify-only: exit code %d; log:\n%s", code, stderr.String())
	}
	if got := received(); len(got) != 0 {
		t.Errorf("syslog received %q", got)
	}
	// The same socket does receive a login's line once syslog_facility is set.
	set := syslogConfig(t, addr, `syslog_facility = "local3"`)
	loginAs(t, set, "alice", summaryOTP)
	if got := received(); len(got) != 1 || !strings.HasPrefix(got[0], "<158>") {
		t.Errorf("with syslog_facility: syslog received %q, want one local3.info line", got)
	}
}

// A log= file that has stopped taking writes does not keep the summary
// from syslog: the two are written apart, and the run still ends.
func TestAStalledLogDoesNotKeepTheSummaryFromSyslog(t *testing.T) {
	path, received := plumbingtest.Listen(t)
	useSyslogSocket(t, path)
	cfg := syslogConfig(t, verifyVault(t, 200, allowedAnswer("alice")), `syslog_facility = "authpriv"`)
	env := map[string]string{"PAM_TYPE": "auth", "PAM_USER": "alice", "PAM_RHOST": summaryRHost}
	if code := runStalled(t, []string{"-dev", "-config=" + cfg}, summaryOTP, env); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	got := received()
	if len(got) != 1 || !strings.HasSuffix(got[0], " login allowed: rhost=203.0.113.7 user=alice otp_ip=127.0.0.1 request_id="+summaryID) {
		t.Errorf("syslog received %q, want the login's summary", got)
	}
}
