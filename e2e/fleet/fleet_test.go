// Package fleet measures what a fleet of hosts costs a Vault cluster: many hosts, each with
// its own config and state_dir, run the built binary as pam_exec would, in parallel, against
// the real 3-node cluster. It reports login times, the requests per login that Vault's own
// file audit device recorded, and the tokens left in Vault's token store afterwards.
//
// It is long, so it runs only when VSH_FLEET=1 (scripts/bench-fleet.sh, `make bench`);
// otherwise it skips and says so. It asserts what the README's sizing advice rests on (every
// login succeeds, the requests per login, batch tokens leave nothing), and prints the rest.
package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/e2e/vaulttest"
)

// The knobs (environment), read once by loadKnobs.
const (
	envRun      = "VSH_FLEET"           // "1" runs the bench
	envLogins   = "VSH_FLEET_LOGINS"    // logins per mode (1000)
	envHosts    = "VSH_FLEET_HOSTS"     // parallel hosts (50)
	envModes    = "VSH_FLEET_MODES"     // comma-separated mode names (all)
	envTokenTTL = "VSH_FLEET_TOKEN_TTL" // the AppRole roles' token_ttl (1m)
	envOut      = "VSH_FLEET_OUT"       // directory for report.md and results.json (none)
)

type knobs struct {
	logins, hosts int
	modes         []string
	tokenTTL      time.Duration
	out           string
}

func loadKnobs(t *testing.T) knobs {
	t.Helper()
	k := knobs{logins: 1000, hosts: 50, tokenTTL: time.Minute, out: os.Getenv(envOut)}
	for _, m := range allModes {
		k.modes = append(k.modes, m.name)
	}
	num := func(name string, into *int, max int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > max {
				t.Fatalf("%s=%q: want a whole number from 1 to %d", name, v, max)
			}
			*into = n
		}
	}
	// Bounded: every login is a process and a few Vault requests.
	num(envLogins, &k.logins, 100000)
	num(envHosts, &k.hosts, 500)
	if v := os.Getenv(envModes); v != "" {
		k.modes = strings.Split(v, ",")
		for _, name := range k.modes {
			if modeNamed(name) == nil {
				t.Fatalf("%s: no mode %q (modes: %s)", envModes, name, modeNames())
			}
		}
	}
	if v := os.Getenv(envTokenTTL); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 10*time.Minute {
			t.Fatalf("%s=%q: want a Go duration from 1s to 10m", envTokenTTL, v)
		}
		k.tokenTTL = d
	}
	if k.hosts > k.logins {
		k.hosts = k.logins
	}
	return k
}

// TestFleet runs every selected mode against one cluster, one after the other.
func TestFleet(t *testing.T) {
	if os.Getenv(envRun) != "1" {
		t.Skipf("the fleet bench is long (minutes): run scripts/bench-fleet.sh, or set %s=1", envRun)
	}
	k := loadKnobs(t)
	bin := vaulttest.HelperBinary(t)
	c := vaulttest.StartCluster(t)
	active := c.Active(t)
	f := &fleet{c: c, active: active, bin: bin, k: k, audit: active.EnableFileAudit(t)}
	f.setUpEngines(t)

	var results []result
	for _, name := range k.modes {
		m := modeNamed(name)
		t.Run(m.name, func(t *testing.T) {
			r := f.run(t, m)
			results = append(results, r)
			t.Logf("%s", r.row())
		})
	}
	report := renderReport(k, results)
	t.Logf("\n%s", report)
	if k.out != "" {
		writeReport(t, k.out, report, results)
	}
}

// fleet is the cluster and what every mode shares.
type fleet struct {
	c      *vaulttest.Cluster
	active *vaulttest.Server
	bin    string
	k      knobs
	audit  *vaulttest.AuditLog
	totp   *vaulttest.TOTP
}

const (
	sshRole   = "fleet"
	totpMount = "totp"
	approle   = "approle"
)

func (f *fleet) setUpEngines(t *testing.T) {
	t.Helper()
	f.active.CreateOTPRole(t, "ssh", sshRole, "nobody", "0.0.0.0/0")
	f.totp = f.active.EnableTOTP(t, totpMount)
	f.active.EnableAppRole(t, approle)
}

// host is one machine of the fleet: its own directory, config and state_dir.
type host struct {
	dir, config string
}

// vaultAddrs lists the three nodes starting at node i%3, as hosts spread over a cluster
// would: a third of the fleet asks the active node first, the rest a standby (which
// forwards to it).
func (f *fleet) vaultAddrs(i int) string {
	n := len(f.c.Nodes)
	addrs := make([]string, n)
	for j := range addrs {
		addrs[j] = f.c.Nodes[(i+j)%n].Addr
	}
	return strings.Join(addrs, ", ")
}

// newHost makes host i's directory (0700) and writes its config: the common lines, then
// the mode's.
func (f *fleet) newHost(t *testing.T, mode string, i int, lines ...string) host {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("%s-host%03d", mode, i))
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	common := []string{
		fmt.Sprintf("vault_addr = %q", f.vaultAddrs(i)),
		fmt.Sprintf("ca_cert = %q", f.c.CACertFile),
		// A login waits its turn on a loaded 2-core machine; the default would do too.
		`timeout = "20s"`,
	}
	cfg := vaulttest.WriteConfig(t, dir, strings.Join(append(common, lines...), "\n")+"\n")
	return host{dir: dir, config: cfg}
}

// login is one prepared login: who, on which host, with which password.
type login struct {
	host     int
	user     string
	password string
}

// outcome is what one login did.
type outcome struct {
	code    int
	elapsed time.Duration
	output  string
	// leaked: the output holds the password it was given (it never may).
	leaked bool
}

// runLogins runs every login: hosts in parallel, each host's logins one after the other
// (sshd on one host runs the helper once per login). prepare makes a login's password just
// before it runs (a TOTP code must be current); it must not ask Vault.
func (f *fleet) runLogins(t *testing.T, hosts []host, logins []login, prepare func(*login)) ([]outcome, time.Duration) {
	t.Helper()
	out := make([]outcome, len(logins))
	var wg sync.WaitGroup
	start := time.Now()
	for h := range hosts {
		wg.Add(1)
		go func(h int) {
			defer wg.Done()
			for i := range logins {
				if logins[i].host != h {
					continue
				}
				l := logins[i]
				if prepare != nil {
					prepare(&l)
				}
				res := vaulttest.RunHelper(t, vaulttest.Run{
					Binary: f.bin, Config: hosts[h].config, User: l.user, Stdin: l.password, Timeout: 30 * time.Second,
				})
				out[i] = outcome{code: res.Code, elapsed: res.Elapsed, output: res.Output, leaked: holdsSecret(res.Output, l.password)}
			}
		}(h)
	}
	wg.Wait()
	return out, time.Since(start)
}

var digitRun = regexp.MustCompile(`[0-9]+`)

// holdsSecret reports whether output holds password: a TOTP code as a number of its own
// (a timestamp or a port may hold the same digits inside a longer number), anything else
// anywhere.
func holdsSecret(output, password string) bool {
	if password == "" {
		return false
	}
	if digitRun.MatchString(password) && digitRun.FindString(password) == password {
		return slices.Contains(digitRun.FindAllString(output, -1), password)
	}
	return strings.Contains(output, password)
}

// spread assigns n logins to hosts round-robin.
func spread(n, hosts int, user func(i int) string) []login {
	ls := make([]login, n)
	for i := range ls {
		ls[i] = login{host: i % hosts, user: user(i)}
	}
	return ls
}

// parallel runs fn(i) for i in [0, n) on a few goroutines: the harness's own set-up
// requests, bounded so as not to swamp the cluster.
func parallel(n int, fn func(i int)) {
	const workers = 8
	var wg sync.WaitGroup
	// Filled and closed first: a worker that stops (t.Fatal) leaves the rest to the others
	// and never blocks a sender.
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	wg.Wait()
}
