package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// The README's sizing table (after <!-- fleet-sizing -->) is arithmetic on the requests per
// login that TestFleet asserts; this recomputes every row from the modes' counts, so that
// neither can change without the other. It runs in `make test` (no Vault).

// sizingTTL is the token_ttl the README recommends and the table's last column assumes.
const sizingTTLSeconds = 60

func TestREADMESizingTableFollowsFromTheMeasuredRequestsPerLogin(t *testing.T) {
	rows := readmeTable(t, "fleet-sizing")
	if len(rows) < 3 {
		t.Fatalf("the fleet-sizing table has %d rows", len(rows))
	}
	perLogin := func(name string) float64 {
		n := 0
		for _, c := range modeNamed(name).want {
			n += c
		}
		return float64(n)
	}
	for _, row := range rows {
		if len(row) != 6 {
			t.Fatalf("row %q: %d cells, want 6", row, len(row))
		}
		hosts, perMinute := hostsTimesRate(t, row[0])
		loginsPerSecond := float64(hosts*perMinute) / 60
		want := []string{
			row[0],
			rate(loginsPerSecond),
			// SSH OTP: the helper's verify, and the user's creds that made the OTP.
			rate(loginsPerSecond * (perLogin("ssh-otp") + 1)),
			rate(loginsPerSecond * perLogin("totp-token-file")),
			rate(loginsPerSecond * perLogin("totp-approle-service")),
			rate(loginsPerSecond * sizingTTLSeconds),
		}
		for i := range want {
			if row[i] != want[i] {
				t.Errorf("row %q, column %d: %q, want %q", row[0], i+1, row[i], want[i])
			}
		}
	}
}

// hostsTimesRate reads "1,000 × 10".
func hostsTimesRate(t *testing.T, cell string) (int, int) {
	t.Helper()
	a, b, ok := strings.Cut(cell, " × ")
	hosts, err1 := strconv.Atoi(strings.ReplaceAll(a, ",", ""))
	perMinute, err2 := strconv.Atoi(strings.ReplaceAll(b, ",", ""))
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("cell %q is not \"hosts × logins per minute\"", cell)
	}
	return hosts, perMinute
}

// rate writes x as the table does: one decimal under 10, else a whole number with commas.
func rate(x float64) string {
	if x < 10 {
		return fmt.Sprintf("%.1f", x)
	}
	s := strconv.FormatInt(int64(x+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestRateFormat(t *testing.T) {
	for x, want := range map[float64]string{1.6667: "1.7", 16.667: "17", 1666.67: "1,667", 100000: "100,000", 9.96: "10.0"} {
		if got := rate(x); got != want {
			t.Errorf("rate(%v) = %q, want %q", x, got, want)
		}
	}
}

// readmeTable returns the body rows (cells trimmed) of the markdown table that follows the
// line <!-- name --> in the repository's README.md.
func readmeTable(t *testing.T, name string) [][]string {
	t.Helper()
	root, err := vaulttest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "<!-- "+name+" -->\n")
	if !ok {
		t.Fatalf("README.md has no <!-- %s --> marker", name)
	}
	var rows [][]string
	for i, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		if i < 2 { // the header and the |---| line
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		rows = append(rows, cells)
	}
	return rows
}
