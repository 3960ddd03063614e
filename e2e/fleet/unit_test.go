package fleet

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"
)

// These run in `make test` (no Vault, no VSH_FLEET): the arithmetic behind the bench's figures.

func TestTOTPCodeMatchesRFC6238(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	// RFC 6238, appendix B (SHA1), last six digits of each 8-digit code.
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		if got := totpCode(t, secret, time.Unix(unix, 0)); got != want {
			t.Errorf("code at %d = %s, want %s", unix, got, want)
		}
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond // unsorted on purpose
	}
	for p, want := range map[int]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 1: time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%d = %s, want %s", p, got, want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one = %s", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %s", got)
	}
}

func TestCountRequestsSeparatesTheRootTokenAndFoldsTOTPKeys(t *testing.T) {
	log := strings.Join([]string{
		`{"type":"request","auth":{},"request":{"operation":"update","path":"auth/approle/login"}}`,
		`{"type":"response","auth":{},"request":{"operation":"update","path":"auth/approle/login"}}`,
		`{"type":"request","auth":{"policies":["default","totp-validate"]},"request":{"operation":"update","path":"totp/code/svc-u00001"}}`,
		`{"type":"request","auth":{"policies":["default","totp-validate"]},"request":{"operation":"update","path":"totp/code/svc-u00002"}}`,
		`{"type":"request","auth":{"policies":["root"]},"request":{"operation":"list","path":"auth/token/accessors"}}`,
		`{"type":"request","auth":{},"request":{"operation":"update","path":"ssh/verify"}}`,
		`{"type":"request","auth":{},"request":{"operation":"update","path":"other/code/x"}}`,
	}, "\n") + "\n"
	got, root, err := countRequests(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"update auth/approle/login": 1, "update totp/code/*": 2, "update ssh/verify": 1, "update other/code/x": 1}
	if !mapsEqual(got, want) || root != 1 {
		t.Errorf("got %v and %d root, want %v and 1", got, root, want)
	}
	if _, _, err := countRequests(strings.NewReader("not json\n")); err == nil {
		t.Error("a line that is not JSON was counted")
	}
}

func TestRowSaysPerLoginAndTokens(t *testing.T) {
	r := result{Label: "m", Logins: 1000, Hosts: 50, P50: 41 * time.Millisecond, P99: 250 * time.Millisecond,
		Max: time.Second, Wall: 20 * time.Second, TokensBefore: 60, TokensAfter: 1060, DrainedAfter: 65 * time.Second,
		Requests: map[string]int{"update auth/approle/login": 1000, "update totp/code/*": 1000}}
	want := "| m | 50 × 20 | 0 | 41 ms | 250 ms | 1000 ms | 50 | 2.00 (update auth/approle/login 1.00, update totp/code/* 1.00) | +1000 | 65 s | passes |"
	if got := r.row(); got != want {
		t.Errorf("row:\n got %s\nwant %s", got, want)
	}
	r.TokensAfter, r.DrainedAfter, r.VerifyOnly = 60, -1, 1
	if got := r.row(); !strings.HasSuffix(got, "| +0 | n/a | fails (exit 1) |") {
		t.Errorf("row without tokens left: %s", got)
	}
}

func TestFleetSkipsWithoutItsVariable(t *testing.T) {
	t.Setenv(envRun, "")
	skipped := false
	t.Run("fleet", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		TestFleet(t)
	})
	if !skipped {
		t.Fatalf("TestFleet ran without %s=1", envRun)
	}
}

func TestHoldsSecret(t *testing.T) {
	line := "2026-12-04T17:22:04.668Z [INFO]  Vault at https://127.0.0.1:44541: code 123456 accepted"
	for _, c := range []struct {
		output, password string
		want             bool
	}{
		{line, "123456", true},
		{line, "044541", false}, // inside a longer number only
		{line, "4541", false},
		{line, "", false},
		{"otp 0b3e2c6a-1d5f-4e8b-9a7c-2f6d8e4b1a93 used", "0b3e2c6a-1d5f-4e8b-9a7c-2f6d8e4b1a93", true},
		{line, "0b3e2c6a-1d5f-4e8b-9a7c-2f6d8e4b1a93", false},
	} {
		if got := holdsSecret(c.output, c.password); got != c.want {
			t.Errorf("holdsSecret(%q, %q) = %v, want %v", c.output, c.password, got, c.want)
		}
	}
}
