package plumbing

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/plumbing/plumbingtest"
)

// reasonsFile is package main's table of the messages tests name (see
// reasons_test.go there): the run's own lines are spelled there, once.
const reasonsFile = "../../testdata/reasons.json"

// reason is the text of the reason called name, which takes no arguments.
func reason(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(reasonsFile)
	if err != nil {
		t.Fatal(err)
	}
	var reasons map[string]string
	if err := json.Unmarshal(b, &reasons); err != nil {
		t.Fatalf("%s: %v", reasonsFile, err)
	}
	text, ok := reasons[name]
	if !ok {
		t.Fatalf("no reason named %q in %s", name, reasonsFile)
	}
	return text
}

// findingMode is a mode whose Check reports fixed findings.
type findingMode struct {
	found []helper.Finding
	err   error
}

func (findingMode) About() helper.About                    { return helper.About{CheckStep: "checking"} }
func (findingMode) ReadPassword(io.Reader) (string, error) { return "", nil }
func (findingMode) Login(context.Context, string, string) (helper.Result, error) {
	return helper.Result{}, nil
}
func (m findingMode) Check(context.Context) ([]helper.Finding, error) { return m.found, m.err }

func TestVerifyOnlyLogsWhatItFoundWarningsAtWarn(t *testing.T) {
	addr, _ := url.Parse("https://vault.example.com")
	cfg := &config.Config{VaultAddrs: []*url.URL{addr}, Timeout: time.Second}
	// Stand-in findings: the modes' own are pinned in their packages.
	found := []helper.Finding{{Text: "finding one"}, {Warning: true, Text: "finding two"}}
	for _, failure := range []error{nil, errors.New("a stand-in failure")} {
		var buf plumbingtest.SyncBuffer
		r := Start(time.Now(), io.Discard, &buf, func(int) { t.Error("the watchdog fired") })
		err := r.VerifyOnly(context.Background(), cfg, nil, findingMode{found: found, err: failure}, nil)
		r.StopWatchdog()
		r.forget()
		if !r.Log.finish(plumbingtest.HangDetector) {
			t.Fatal("the log was not written out")
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if failure != nil {
			if err != failure || len(lines) != 2 {
				t.Errorf("failed check: err %v, log:\n%s", err, buf.String())
			}
		} else if err != nil || len(lines) != 3 || !strings.HasSuffix(lines[2], "[INFO]  "+reason(t, "main.verified")) {
			t.Errorf("check: err %v, log:\n%s", err, buf.String())
		}
		if !strings.HasSuffix(lines[0], "[INFO]  finding one") || !strings.HasSuffix(lines[1], "[WARN]  finding two") {
			t.Errorf("findings logged as:\n%s", buf.String())
		}
	}
}

func TestStdinThatNeverClosesDeniesAtTheBudget(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := readPassword(ctx, time.Second, sshotp.New(&sshotp.Settings{}, nil), r)
	if !errors.Is(err, agent.ErrTimeout) || !strings.Contains(err.Error(), "waiting for the password on stdin (timeout = 1s)") {
		t.Errorf("err = %v", err)
	}
}

// TestVerifyOnlyDeniesAnAddressWhoseModeCannotBeMade: over several
// addresses, a mode that cannot be made for one of them makes that address
// unhealthy, so the run denies; the others are still checked.
func TestVerifyOnlyDeniesAnAddressWhoseModeCannotBeMade(t *testing.T) {
	cfg, err := config.Parse([]byte("vault_addr = \"https://a.example.com, https://b.example.com\"\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cannot := errors.New("a stand-in: no mode for this address")
	made := 0
	modeAt := func(c *agent.Client) (helper.Mode, error) {
		if made++; made == 2 {
			return nil, cannot
		}
		return findingMode{}, nil
	}
	var buf plumbingtest.SyncBuffer
	log := newLogger(&buf)
	err = checkEvery(context.Background(), cfg, client, modeAt, log)
	log.finish(plumbingtest.HangDetector)
	if err == nil || !strings.Contains(buf.String(), "Vault at https://a.example.com: healthy") ||
		!strings.Contains(buf.String(), "Vault at https://b.example.com: not healthy: "+cannot.Error()) {
		t.Errorf("err %v, log:\n%s", err, buf.String())
	}
}
