// Command runner measures the programs scripts/bench-startup.sh hands it and
// prints markdown. Three subcommands:
//
//	runner bench -spec=<cases.json>
//	    Runs every case -runs times, interleaved in a new random order each
//	    round so that a noisy machine slows all cases alike, and prints wall
//	    time, CPU time and minor page faults with their ratio to the baseline
//	    case. (Not peak RSS: after a vfork-style exec, Linux reports the
//	    parent's high-water mark for the child, so it would show the runner.)
//	    With "callgrind" > 0 in the spec it also counts each case's
//	    instructions under valgrind --tool=callgrind, which repeat closely.
//	    Every run must exit with the case's expected code, or the bench stops.
//	runner inittrace -n=<runs> -top=<k> -- <argv...>
//	    Runs argv with GODEBUG=inittrace=1 and ranks packages by the time and
//	    memory their init functions take (median over the runs).
//	runner sizes -bin=<unstripped binary> -pkgs=<"pkg module" lines>
//	    Adds the binary's symbol sizes up by module.
package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: runner bench|inittrace|sizes [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "bench":
		err = benchCmd(os.Args[2:])
	case "inittrace":
		err = inittraceCmd(os.Args[2:])
	case "sizes":
		err = sizesCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}

// spec is what the script asks for.
type spec struct {
	Runs      int    `json:"runs"`
	Warmup    int    `json:"warmup"`
	Callgrind int    `json:"callgrind"`     // callgrind runs per case; 0 = none
	OutDir    string `json:"callgrind_dir"` // where callgrind.out files are kept
	Baseline  string `json:"baseline"`      // id of the case ratios are taken to
	// Baseline2, when set, is a second yardstick: every ratio is also
	// taken to it, in its own columns.
	Baseline2 string `json:"baseline2"`
	Cases     []*bcase
}

type bcase struct {
	ID    string   `json:"id"`
	Label string   `json:"label"`
	Argv  []string `json:"argv"`
	Env   []string `json:"env"`   // the whole environment of the run
	Stdin string   `json:"stdin"` // file fed on stdin; empty = /dev/null
	// FreshCode feeds a new 6-digit code on stdin on every run instead: the
	// TOTP mode refuses a code it accepted before, before asking Vault.
	FreshCode bool `json:"fresh_code"`
	Exit      int  `json:"exit"` // expected exit code

	wall, cpu []time.Duration
	faults    []int64 // minor page faults
	instr     []int64
}

// perRunLimit bounds one run; a run that takes longer is a broken bench.
const perRunLimit = 60 * time.Second

func benchCmd(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	specPath := fs.String("spec", "", "cases, as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := os.ReadFile(*specPath)
	if err != nil {
		return err
	}
	var sp spec
	if err := json.Unmarshal(data, &sp); err != nil {
		return fmt.Errorf("%s: %w", *specPath, err)
	}
	if len(sp.Cases) == 0 || sp.Runs < 1 {
		return errors.New("spec needs cases and runs >= 1")
	}
	var base, base2 *bcase
	for _, c := range sp.Cases {
		if c.ID == sp.Baseline {
			base = c
		}
		if c.ID == sp.Baseline2 {
			base2 = c
		}
	}
	if base == nil {
		return fmt.Errorf("baseline %q is not a case", sp.Baseline)
	}
	if sp.Baseline2 != "" && base2 == nil {
		return fmt.Errorf("baseline2 %q is not a case", sp.Baseline2)
	}

	// Warm-up rounds fill the page cache and let the CPU settle; not recorded.
	for i := 0; i < sp.Warmup; i++ {
		for _, c := range sp.Cases {
			if _, err := runOnce(c, nil); err != nil {
				return err
			}
		}
	}
	order := slices.Clone(sp.Cases)
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same order every bench
	progressEvery := max(sp.Runs/10, 1)
	for i := 0; i < sp.Runs; i++ {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, c := range order {
			m, err := runOnce(c, nil)
			if err != nil {
				return err
			}
			c.wall = append(c.wall, m.wall)
			c.cpu = append(c.cpu, m.cpu)
			c.faults = append(c.faults, m.minflt)
		}
		if (i+1)%progressEvery == 0 {
			fmt.Fprintf(os.Stderr, "runner: %d/%d rounds\n", i+1, sp.Runs)
		}
	}
	if sp.Callgrind > 0 {
		for _, c := range sp.Cases {
			for i := 0; i < sp.Callgrind; i++ {
				n, err := callgrind(c, sp.OutDir, i)
				if err != nil {
					return err
				}
				c.instr = append(c.instr, n)
			}
			fmt.Fprintf(os.Stderr, "runner: callgrind %s done\n", c.ID)
		}
	}
	printTable(os.Stdout, sp, base, base2)
	return nil
}

type measure struct {
	wall, cpu time.Duration
	minflt    int64
	stderr    []byte
}

// codes counts the fresh codes handed out, so no two runs share one.
var codes int

// runOnce runs c once; extraEnv is added to the case's environment.
func runOnce(c *bcase, extraEnv []string) (measure, error) {
	return runArgv(c, c.Argv, extraEnv)
}

func runArgv(c *bcase, argv []string, extraEnv []string) (measure, error) {
	ctx, cancel := context.WithTimeout(context.Background(), perRunLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(slices.Clone(c.Env), extraEnv...)
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would mean "inherit the runner's"
	}
	if c.FreshCode {
		codes++
		cmd.Stdin = strings.NewReader(fmt.Sprintf("%06d\n", codes%1_000_000))
	} else if c.Stdin != "" {
		f, err := os.Open(c.Stdin)
		if err != nil {
			return measure{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return measure{}, fmt.Errorf("case %s: %w", c.ID, err)
	}
	st := cmd.ProcessState
	if code := st.ExitCode(); code != c.Exit {
		return measure{}, fmt.Errorf("case %s (%s) exited %d, want %d\n--- stdout\n%s--- stderr\n%s",
			c.ID, strings.Join(argv, " "), code, c.Exit, stdout.String(), stderr.String())
	}
	m := measure{wall: wall, cpu: st.UserTime() + st.SystemTime(), stderr: stderr.Bytes()}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		m.minflt = ru.Minflt
	}
	return m, nil
}

var collectedRE = regexp.MustCompile(`(?m)^==\d+== Collected : (\d+)`)

// callgrind counts the instructions of one run of c (all its threads).
func callgrind(c *bcase, dir string, i int) (int64, error) {
	out := os.DevNull
	if dir != "" {
		out = filepath.Join(dir, fmt.Sprintf("callgrind.out.%s.%d", c.ID, i))
	}
	argv := append([]string{"valgrind", "--tool=callgrind", "--callgrind-out-file=" + out}, c.Argv...)
	path, err := exec.LookPath("valgrind")
	if err != nil {
		return 0, err
	}
	argv[0] = path
	// Callgrind aborts on the signals of Go's asynchronous preemption
	// (threads.c: "sigNum == vgCallgrind_current_state.sig"); without them
	// the program does the same work.
	m, err := runArgv(c, argv, []string{"GODEBUG=asyncpreemptoff=1"})
	if err != nil {
		return 0, err
	}
	sub := collectedRE.FindSubmatch(m.stderr)
	if sub == nil {
		return 0, fmt.Errorf("case %s: no callgrind total in:\n%s", c.ID, m.stderr)
	}
	return strconv.ParseInt(string(sub[1]), 10, 64)
}

// printTable prints one row per case: medians, and their ratios to base
// and, when set, to base2.
func printTable(w io.Writer, sp spec, base, base2 *bcase) {
	bases := []*bcase{base}
	if base2 != nil {
		bases = append(bases, base2)
	}
	ids := make([]string, len(bases))
	for i, b := range bases {
		ids[i] = "(" + b.ID + ")"
	}
	fmt.Fprintf(w, "%d interleaved rounds after %d warm-up rounds; ratios are to %s.\n", sp.Runs, sp.Warmup, strings.Join(ids, " and to "))
	fmt.Fprintln(w, "Wall and CPU (user+sys) are per run of the client process; the server's time is not in CPU.")
	fmt.Fprintln(w)
	hdr := "| case | wall median | wall p90 |"
	sep := "|---|---:|---:|"
	for _, id := range ids {
		hdr += " wall / " + id + " |"
		sep += "---:|"
	}
	hdr += " CPU median |"
	sep += "---:|"
	for _, id := range ids {
		hdr += " CPU / " + id + " |"
		sep += "---:|"
	}
	hdr += " page faults median |"
	sep += "---:|"
	if sp.Callgrind > 0 {
		hdr += " instructions (callgrind) |"
		sep += "---:|"
		for _, id := range ids {
			hdr += " instr. / " + id + " |"
			sep += "---:|"
		}
		hdr += " instr. spread |"
		sep += "---:|"
	}
	fmt.Fprintln(w, hdr)
	fmt.Fprintln(w, sep)
	for _, c := range sp.Cases {
		wm, cm := pct(c.wall, 50), pct(c.cpu, 50)
		fmt.Fprintf(w, "| (%s) %s | %s | %s |", c.ID, c.Label, ms(wm), ms(pct(c.wall, 90)))
		for _, b := range bases {
			fmt.Fprintf(w, " %.2fx |", ratio(wm, pct(b.wall, 50)))
		}
		fmt.Fprintf(w, " %s |", ms(cm))
		for _, b := range bases {
			fmt.Fprintf(w, " %.2fx |", ratio(cm, pct(b.cpu, 50)))
		}
		fmt.Fprintf(w, " %d |", medianInt(c.faults))
		if sp.Callgrind > 0 {
			im := medianInt(c.instr)
			fmt.Fprintf(w, " %s |", millions(im))
			for _, b := range bases {
				fmt.Fprintf(w, " %.3fx |", float64(im)/float64(medianInt(b.instr)))
			}
			lo, hi := slices.Min(c.instr), slices.Max(c.instr)
			fmt.Fprintf(w, " %.2f%% |", 100*float64(hi-lo)/float64(im))
		}
		fmt.Fprintln(w)
	}
	if sp.Callgrind > 0 {
		fmt.Fprintf(w, "\nInstructions: median of %d callgrind runs per case (all threads of the client); spread = (max-min)/median.\n", sp.Callgrind)
	}
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func millions(n int64) string { return fmt.Sprintf("%.2f M", float64(n)/1e6) }

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(float64(p)/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func medianInt(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// inittrace lines look like
// "init net/http @1.2 ms, 0.15 ms clock, 12345 bytes, 67 allocs".
var initRE = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, (\d+) bytes, (\d+) allocs`)

type initStat struct {
	pkg           string
	clock         []float64 // ms
	bytes, allocs []int64
}

func inittraceCmd(args []string) error {
	fs := flag.NewFlagSet("inittrace", flag.ContinueOnError)
	n := fs.Int("n", 30, "runs")
	top := fs.Int("top", 10, "packages to list")
	label := fs.String("label", "", "what the program is, for the heading")
	if err := fs.Parse(args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return errors.New("inittrace: no program given")
	}
	c := &bcase{ID: "inittrace", Argv: argv, Exit: 0}
	stats := map[string]*initStat{}
	var order []string
	var lastStart, totalClock []float64
	for i := 0; i < *n; i++ {
		m, err := runOnce(c, []string{"GODEBUG=inittrace=1"})
		if err != nil {
			return err
		}
		var last, sum float64
		sc := bufio.NewScanner(bytes.NewReader(m.stderr))
		for sc.Scan() {
			sub := initRE.FindStringSubmatch(sc.Text())
			if sub == nil {
				continue
			}
			at, _ := strconv.ParseFloat(sub[2], 64)
			clock, _ := strconv.ParseFloat(sub[3], 64)
			b, _ := strconv.ParseInt(sub[4], 10, 64)
			a, _ := strconv.ParseInt(sub[5], 10, 64)
			s := stats[sub[1]]
			if s == nil {
				s = &initStat{pkg: sub[1]}
				stats[sub[1]] = s
				order = append(order, sub[1])
			}
			s.clock = append(s.clock, clock)
			s.bytes = append(s.bytes, b)
			s.allocs = append(s.allocs, a)
			last = at + clock
			sum += clock
		}
		lastStart = append(lastStart, last)
		totalClock = append(totalClock, sum)
	}
	if len(stats) == 0 {
		return errors.New("inittrace: no init lines (is the program a Go binary?)")
	}
	all := make([]*initStat, 0, len(stats))
	var totalBytes, totalAllocs int64
	for _, p := range order {
		s := stats[p]
		all = append(all, s)
		totalBytes += medianInt(s.bytes)
		totalAllocs += medianInt(s.allocs)
	}
	w := os.Stdout
	fmt.Fprintf(w, "%s: %d packages ran init work; summed init clock %.3f ms (median of %d runs), "+
		"last init done %.3f ms after the runtime started; %s and %d allocations in init.\n\n",
		*label, len(all), medianFloat(totalClock), *n, medianFloat(lastStart), kib(totalBytes), totalAllocs)

	byClock := slices.Clone(all)
	sort.SliceStable(byClock, func(i, j int) bool { return medianFloat(byClock[i].clock) > medianFloat(byClock[j].clock) })
	fmt.Fprintf(w, "Top %d by init time:\n\n", *top)
	printInit(w, byClock[:min(*top, len(byClock))])
	byBytes := slices.Clone(all)
	sort.SliceStable(byBytes, func(i, j int) bool { return medianInt(byBytes[i].bytes) > medianInt(byBytes[j].bytes) })
	fmt.Fprintf(w, "\nTop %d by bytes allocated in init:\n\n", *top)
	printInit(w, byBytes[:min(*top, len(byBytes))])
	return nil
}

func printInit(w io.Writer, list []*initStat) {
	fmt.Fprintln(w, "| package | init clock median | p90 | bytes | allocs |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, s := range list {
		sorted := slices.Clone(s.clock)
		slices.Sort(sorted)
		p90 := sorted[max(int(math.Ceil(0.9*float64(len(sorted))))-1, 0)]
		fmt.Fprintf(w, "| %s | %.3f ms | %.3f ms | %s | %d |\n",
			s.pkg, medianFloat(s.clock), p90, kib(medianInt(s.bytes)), medianInt(s.allocs))
	}
}

func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/1024) }

// sizesCmd adds up the sizes of an unstripped binary's symbols by module,
// counting only symbols that take room in the file (not .bss/.noptrbss).
// pkgs lists "importpath modulepath" lines (module empty for the standard
// library).
func sizesCmd(args []string) error {
	fs := flag.NewFlagSet("sizes", flag.ContinueOnError)
	binPath := fs.String("bin", "", "unstripped ELF binary")
	pkgsPath := fs.String("pkgs", "", `"importpath module" lines from go list -deps`)
	top := fs.Int("top", 15, "modules to list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pkgData, err := os.ReadFile(*pkgsPath)
	if err != nil {
		return err
	}
	moduleOf := map[string]string{}
	for _, line := range strings.Split(string(pkgData), "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 1:
			moduleOf[f[0]] = "std"
		case 2:
			moduleOf[f[0]] = f[1]
		}
	}
	ef, err := elf.Open(*binPath)
	if err != nil {
		return err
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		return fmt.Errorf("%s: %w (stripped?)", *binPath, err)
	}
	sizes := map[string]int64{}
	var total int64
	for _, sym := range syms {
		if sym.Size == 0 || int(sym.Section) <= 0 || int(sym.Section) >= len(ef.Sections) {
			continue
		}
		if ef.Sections[sym.Section].Type == elf.SHT_NOBITS {
			continue
		}
		mod := "(runtime tables, unattributed)"
		if p := symbolPackage(sym.Name); p != "" {
			if m, ok := moduleOf[p]; ok {
				mod = m
			} else if strings.HasPrefix(p, "vendor/") || !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
				mod = "std"
			}
		}
		sizes[mod] += int64(sym.Size)
		total += int64(sym.Size)
	}
	type kv struct {
		mod  string
		size int64
	}
	var list []kv
	for m, s := range sizes {
		list = append(list, kv{m, s})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].size > list[j].size })
	w := os.Stdout
	fmt.Fprintln(w, "| module | symbol bytes | share |")
	fmt.Fprintln(w, "|---|---:|---:|")
	for _, e := range list[:min(*top, len(list))] {
		fmt.Fprintf(w, "| %s | %s | %.1f%% |\n", e.mod, kib(e.size), 100*float64(e.size)/float64(total))
	}
	fmt.Fprintf(w, "| (all sized symbols in the file) | %s | 100%% |\n", kib(total))
	return nil
}

// symbolPackage guesses the import path of a Go symbol name such as
// "github.com/hashicorp/vault/api.(*Client).Logical",
// "type:.eq.net/http.Request" or "go:itab.*net/http.Transport,net/http.RoundTripper".
func symbolPackage(name string) string {
	for _, prefix := range []string{"go:itab.", "type:.eq.", "type:.hash.", "type:", "go:"} {
		name = strings.TrimPrefix(name, prefix)
	}
	name = strings.TrimLeft(name, "*[]")
	if i := strings.IndexAny(name, ",["); i >= 0 {
		name = name[:i]
	}
	slash := strings.LastIndex(name, "/")
	dot := strings.Index(name[slash+1:], ".")
	if dot < 0 {
		return ""
	}
	return name[:slash+1+dot]
}
