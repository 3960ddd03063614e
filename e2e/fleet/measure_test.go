package fleet

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// result is one mode's figures.
type result struct {
	Mode   string `json:"mode"`
	Label  string `json:"label"`
	Logins int    `json:"logins"`
	Hosts  int    `json:"hosts"`
	Failed int    `json:"failed"`
	// Login times as pam_exec would see them (process start to exit), and the whole run.
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	Wall time.Duration `json:"wall_ns"`
	// Requests is every request entry Vault's audit log holds from the run, by operation
	// and path; HarnessRequests are those made with the root token (there should be none).
	Requests        map[string]int `json:"requests"`
	HarnessRequests int            `json:"harness_requests"`
	// Tokens in the store (accessors listed with the root token): before the run, right
	// after it, and how long after the run they were back to Before (-1: not within the wait).
	TokenTTL     time.Duration `json:"token_ttl_ns,omitempty"`
	TokensBefore int           `json:"tokens_before"`
	TokensAfter  int           `json:"tokens_after"`
	DrainedAfter time.Duration `json:"drained_after_ns"`
	// VerifyOnly is -verify-only's exit code on the first host, run after everything else.
	VerifyOnly int `json:"verify_only_exit"`
}

// helperRequests is the total of the helper's requests.
func (r result) helperRequests() int {
	n := 0
	for _, c := range r.Requests {
		n += c
	}
	return n
}

func (r result) perLogin() float64 { return float64(r.helperRequests()) / float64(r.Logins) }

func (r result) row() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	tokens := fmt.Sprintf("%+d", r.TokensAfter-r.TokensBefore)
	gone := "n/a"
	switch {
	case r.TokensAfter > r.TokensBefore && r.DrainedAfter >= 0:
		gone = fmt.Sprintf("%.0f s", r.DrainedAfter.Seconds())
	case r.TokensAfter > r.TokensBefore:
		gone = "not within the wait"
	}
	verify := "passes"
	if r.VerifyOnly != 0 {
		verify = fmt.Sprintf("fails (exit %d)", r.VerifyOnly)
	}
	return fmt.Sprintf("| %s | %d × %d | %d | %s | %s | %s | %.0f | %.2f (%s) | %s | %s | %s |",
		r.Label, r.Hosts, (r.Logins+r.Hosts-1)/r.Hosts, r.Failed, ms(r.P50), ms(r.P99), ms(r.Max),
		float64(r.Logins)/r.Wall.Seconds(), r.perLogin(), breakdown(r.Requests, r.Logins), tokens, gone, verify)
}

// breakdown names each path's requests per login, in a stable order.
func breakdown(req map[string]int, logins int) string {
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, float64(req[k])/float64(logins))
	}
	return strings.Join(parts, ", ")
}

func renderReport(k knobs, rs []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d logins per mode from %d parallel hosts (own config and state_dir each), 3-node Vault cluster, AppRole token_ttl %s\n\n",
		k.logins, k.hosts, k.tokenTTL)
	b.WriteString("| mode | hosts × logins | failed | p50 | p99 | max | logins/s | Vault requests per login (audit log) | tokens left after | tokens gone after | -verify-only |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|\n")
	for _, r := range rs {
		b.WriteString(r.row() + "\n")
	}
	return b.String()
}

func writeReport(t *testing.T, dir, report string, rs []result) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run prepares m, runs its logins, and measures them from Vault's side.
func (f *fleet) run(t *testing.T, m *mode) result {
	t.Helper()
	var hosts []host
	var logins []login
	var finish func(*login)
	if m.prepare != nil {
		hosts, logins, finish = m.prepare(f, t)
	} else {
		hosts, logins, finish = f.prepareAppRole(t, m)
	}
	r := result{Mode: m.name, Label: m.label, Logins: len(logins), Hosts: len(hosts), DrainedAfter: -1}
	if m.approle != nil {
		r.TokenTTL = f.k.tokenTTL
	}

	r.TokensBefore = f.tokenCount(t)
	mark := auditSize(t, f.audit)
	outcomes, wall := f.runLogins(t, hosts, logins, finish)
	r.Wall = wall
	// Right after the last login, before any harness request reaches the audit log.
	r.Requests, r.HarnessRequests = auditSince(t, f.audit, mark)
	r.TokensAfter = f.tokenCount(t)

	times := make([]time.Duration, len(outcomes))
	for i, o := range outcomes {
		times[i] = o.elapsed
		if o.code != 0 || !strings.Contains(o.output, vaulttest.Reason("main.authenticated", "")) {
			r.Failed++
			if r.Failed <= 3 {
				t.Errorf("login %d (%s on host %d): exit %d after %s:\n%s", i, logins[i].user, logins[i].host, o.code, o.elapsed, o.output)
			}
		}
	}
	for i, o := range outcomes {
		if o.leaked {
			t.Errorf("login %d (%s on host %d): the helper's output holds the password it read", i, logins[i].user, logins[i].host)
		}
	}
	r.P50, r.P99, r.Max = percentile(times, 50), percentile(times, 99), percentile(times, 100)

	if r.Failed > 0 {
		t.Errorf("%d of %d logins failed", r.Failed, r.Logins)
	}
	if r.HarnessRequests != 0 {
		t.Errorf("%d requests with the root token during the run: the counts are not the helper's alone", r.HarnessRequests)
	}
	f.checkRequests(t, m, r)
	if r.TokensAfter > r.TokensBefore {
		r.DrainedAfter = f.waitTokensGone(t, r.TokensBefore, r.TokenTTL)
	}
	if m.approle != nil && m.approle["token_type"] == "batch" && r.TokensAfter != r.TokensBefore {
		t.Errorf("batch tokens: %d tokens in the store after the run, %d before: batch tokens are never stored", r.TokensAfter, r.TokensBefore)
	}
	// Last, so that its own token (AppRole) is outside every count above.
	r.VerifyOnly = f.verifyOnly(t, hosts[0], m)
	return r
}

// verifyOnly runs -verify-only with host's config, as an administrator checks a host, and
// returns its exit code. It must pass where the README recommends the setup; a mode that
// may not (m.verifyOnlyMayFail) is reported as it is.
func (f *fleet) verifyOnly(t *testing.T, h host, m *mode) int {
	t.Helper()
	res := vaulttest.RunHelper(t, vaulttest.Run{Binary: f.bin, Config: h.config, Args: []string{"-verify-only"}, NoPAM: true})
	verified := res.Code == 0 && strings.Contains(res.Output, vaulttest.Reason("main.verified"))
	switch {
	case !verified && !m.verifyOnlyMayFail:
		t.Errorf("-verify-only: exit %d:\n%s", res.Code, res.Output)
	case !verified:
		t.Logf("-verify-only fails with this role (exit %d):\n%s", res.Code, res.Output)
	}
	return res.Code
}

// checkRequests fails t unless every login made exactly the mode's requests.
func (f *fleet) checkRequests(t *testing.T, m *mode, r result) {
	t.Helper()
	if r.Failed > 0 {
		return // the counts of a run with failures say nothing
	}
	want := make(map[string]int, len(m.want))
	for k, v := range m.want {
		want[k] = v * r.Logins
	}
	if !mapsEqual(r.Requests, want) {
		t.Errorf("Vault's audit log holds %v for %d logins, want %v", r.Requests, r.Logins, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// percentile is the p-th percentile (nearest rank) of ds; 0 for none.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

// tokenCount is the number of tokens in Vault's store: the accessors the root token lists.
// Batch tokens have none; they are not stored.
func (f *fleet) tokenCount(t *testing.T) int {
	t.Helper()
	code, out := f.active.Request(t, "LIST", "auth/token/accessors", nil)
	if code != http.StatusOK {
		t.Fatalf("LIST auth/token/accessors: status %d, errors %v", code, out["errors"])
	}
	data, _ := out["data"].(map[string]any)
	keys, _ := data["keys"].([]any)
	return len(keys)
}

// waitTokensGone polls the token count until it is back to before, for ttl plus a minute
// at most (Vault revokes expired tokens a little after their TTL), and returns how long
// that took; -1 when it did not happen.
func (f *fleet) waitTokensGone(t *testing.T, before int, ttl time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(ttl + time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if f.tokenCount(t) <= before {
			return time.Since(start)
		}
	}
	return -1
}

func auditSize(t *testing.T, a *vaulttest.AuditLog) int64 {
	t.Helper()
	st, err := os.Stat(a.Path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	return st.Size()
}

// auditSince counts the request entries written after offset: those of any token but root
// by "operation path" (a TOTP key's path as totp/code/*), and those of the root token.
func auditSince(t *testing.T, a *vaulttest.AuditLog, offset int64) (map[string]int, int) {
	t.Helper()
	f, err := os.Open(a.Path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		t.Fatalf("audit log: %v", err)
	}
	byPath, root, err := countRequests(f)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	return byPath, root
}

// countRequests reads audit log lines (JSON, one entry a line) from r.
func countRequests(r io.Reader) (map[string]int, int, error) {
	byPath := map[string]int{}
	root := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e struct {
			Type string `json:"type"`
			Auth struct {
				Policies []string `json:"policies"`
			} `json:"auth"`
			Request struct {
				Operation string `json:"operation"`
				Path      string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, 0, fmt.Errorf("a line is not JSON: %w", err)
		}
		if e.Type != "request" {
			continue
		}
		if slices.Contains(e.Auth.Policies, "root") {
			root++
			continue
		}
		byPath[e.Request.Operation+" "+pathClass(e.Request.Path)]++
	}
	return byPath, root, sc.Err()
}

// pathClass names a TOTP key's code path by its mount (totp/code/*): keys differ per login.
func pathClass(p string) string {
	if mount, _, ok := strings.Cut(p, "/code/"); ok && mount == totpMount {
		return mount + "/code/*"
	}
	return p
}
