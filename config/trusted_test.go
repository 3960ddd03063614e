package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
	"github.com/vault-ssh-helper/vault-ssh-helper/internal/trust"
)

// foreignUID owns what the tests give away: nobody on Debian.
const foreignUID = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to give a file or directory to uid %d (CI runs the tests as root)", foreignUID)
	}
}

func mkdir(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	chmod(t, path, mode)
	return path
}

// chmod sets mode exactly (umask plays no part), sticky bit included.
func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

func giveAway(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, foreignUID, foreignUID); err != nil {
		t.Fatal(err)
	}
}

// TestUnsafeDirectoryMessages pins the full text of every directory message,
// and that each carries its sentinel.
func TestUnsafeDirectoryMessages(t *testing.T) {
	cases := []struct {
		name string
		root bool
		// layout builds a config under base and returns the path to load
		// and the directory the message must name.
		layout func(t *testing.T, base string) (path, dir string)
		want   string // with $P for the path and $D for the directory
		kind   error
	}{{
		name: "world-writable directory",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "open"), 0o777)
			return writeFile(t, dir, "c.hcl", minimal, 0o600), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0777); run: chmod go-w $D`,
		kind: trust.ErrUnsafePermissions,
	}, {
		name: "group-writable directory above the file's",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "team"), 0o775)
			inner := mkdir(t, filepath.Join(dir, "etc"), 0o755)
			return writeFile(t, inner, "c.hcl", minimal, 0o600), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0775); run: chmod go-w $D`,
		kind: trust.ErrUnsafePermissions,
	}, {
		name: "sticky directory like /tmp",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "shared"), 0o777|os.ModeSticky)
			return writeFile(t, dir, "c.hcl", minimal, 0o600), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 1777, sticky); move the file to a directory only root can write`,
		kind: trust.ErrUnsafePermissions,
	}, {
		name: "directory owned by another user",
		root: true,
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "theirs"), 0o755)
			path := writeFile(t, dir, "c.hcl", minimal, 0o600)
			giveAway(t, dir)
			return path, dir
		},
		want: `config file "$P": directory "$D" is owned by uid 65534, not by root; run: chown root $D`,
		kind: trust.ErrUnsafeOwner,
	}, {
		name: "link whose target sits in a writable directory",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "open"), 0o777)
			target := writeFile(t, dir, "real.hcl", minimal, 0o600)
			return symlink(t, target, filepath.Join(base, "c.hcl")), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0777); run: chmod go-w $D`,
		kind: trust.ErrUnsafePermissions,
	}, {
		name: "relative link into a writable directory",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "open"), 0o777)
			writeFile(t, dir, "real.hcl", minimal, 0o600)
			etc := mkdir(t, filepath.Join(base, "etc"), 0o755)
			return symlink(t, "../open/real.hcl", filepath.Join(etc, "c.hcl")), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0777); run: chmod go-w $D`,
		kind: trust.ErrUnsafePermissions,
	}, {
		name: "linked directory on the path",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "shared"), 0o777|os.ModeSticky)
			writeFile(t, dir, "c.hcl", minimal, 0o600)
			link := symlink(t, dir, filepath.Join(base, "etc"))
			return filepath.Join(link, "c.hcl"), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 1777, sticky); move the file to a directory only root can write`,
		kind: trust.ErrUnsafePermissions,
	}, {
		// The attack: anyone can point a link in a shared
		// directory at another root-owned file. Where it leads is fine;
		// where it sits is not.
		name: "link in a shared directory to a safe file",
		layout: func(t *testing.T, base string) (string, string) {
			safe := writeFile(t, base, "real.hcl", minimal, 0o600)
			dir := mkdir(t, filepath.Join(base, "shared"), 0o777|os.ModeSticky)
			return symlink(t, safe, filepath.Join(dir, "c.hcl")), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 1777, sticky); move the file to a directory only root can write`,
		kind: trust.ErrUnsafePermissions,
	}, {
		name: "link chain through a writable directory",
		layout: func(t *testing.T, base string) (string, string) {
			safe := writeFile(t, base, "real.hcl", minimal, 0o600)
			dir := mkdir(t, filepath.Join(base, "open"), 0o777)
			hop := symlink(t, safe, filepath.Join(dir, "hop"))
			return symlink(t, hop, filepath.Join(base, "c.hcl")), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0777); run: chmod go-w $D`,
		kind: trust.ErrUnsafePermissions,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root {
				needRoot(t)
			}
			path, dir := c.layout(t, t.TempDir())
			_, err := load(path, Options{})
			want := strings.NewReplacer("$P", path, "$D", dir).Replace(c.want)
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v\nwant  %s", err, want)
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("err is not %v", c.kind)
			}
		})
	}
}

func TestLinksThroughSafeDirectoriesAreFollowed(t *testing.T) {
	base := t.TempDir()
	real := mkdir(t, filepath.Join(base, "real"), 0o755)
	writeFile(t, real, "c.hcl", minimal, 0o600)
	etc := symlink(t, real, filepath.Join(base, "etc"))
	symlink(t, "c.hcl", filepath.Join(real, "link.hcl"))
	for _, path := range []string{filepath.Join(etc, "c.hcl"), filepath.Join(etc, "link.hcl"), filepath.Join(base, "real", ".", "link.hcl")} {
		if _, err := load(path, Options{}); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	caDir := mkdir(t, filepath.Join(base, "cas"), 0o755)
	writeCA(t, caDir, "a.pem")
	link := symlink(t, caDir, filepath.Join(base, "ca.d"))
	if cfg := mustParse(t, caConfig("ca_path", link), Options{}); !cfg.RootCAs.Equal(poolOf(t, filepath.Join(caDir, "a.pem"))) {
		t.Error("a ca_path that is a link to a safe directory did not load its CA")
	}
}

func TestLinkLoopIsRefused(t *testing.T) {
	base := t.TempDir()
	a := filepath.Join(base, "a")
	symlink(t, filepath.Join(base, "b"), a)
	symlink(t, a, filepath.Join(base, "b"))
	_, err := load(a, Options{})
	if want := `config file "` + a + `" cannot be read: too many levels of symbolic links`; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	// resolveTrusted's own bound, reached without the kernel's help.
	_, err = trust.Directory("TMPDIR", a)
	if want := `TMPDIR "` + a + `" cannot be read: too many levels of symbolic links`; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func TestATrustedDirectoryIsItselfHeldToTheRule(t *testing.T) {
	base := t.TempDir()
	if _, err := trust.Directory("TMPDIR", base); err != nil {
		t.Errorf("a private directory was refused: %v", err)
	}
	dir := mkdir(t, filepath.Join(base, "tmp"), 0o777|os.ModeSticky)
	_, err := trust.Directory("TMPDIR", dir)
	if !errors.Is(err, trust.ErrUnsafePermissions) || !strings.Contains(err.Error(), `directory "`+dir+`"`) {
		t.Errorf("err = %v", err)
	}
}

// trustedLayout uses every kind of trusted path: a valid SSH OTP config
// with every certificate file, a TOTP config with a token file, one with an
// AppRole pair, and a rate-limit state_dir holding a state file. Each item
// sits in a directory of its own under one of its own, so that one kind
// (its file, its directory or the one above) can be spoiled at a time.
type trustedLayout struct {
	base                                                                 string
	config, caCert, caPath, caPathFile, caPathSub, clientCert, clientKey string
	tokenConfig, token, appRoleConfig, roleID, secretID                  string
	stateDir, stateFile                                                  string
}

// nest makes base/name-up/name (0755 each) and returns the inner directory.
func nest(t *testing.T, base, name string) string {
	t.Helper()
	return mkdir(t, filepath.Join(mkdir(t, filepath.Join(base, name+"-up"), 0o755), name), 0o755)
}

func newTrustedLayout(t *testing.T) trustedLayout {
	t.Helper()
	base := t.TempDir()
	l := trustedLayout{base: base}
	l.caCert = writeCA(t, nest(t, base, "ca"), "ca.pem")
	l.caPath = mkdir(t, filepath.Join(nest(t, base, "capath"), "ca.d"), 0o755)
	l.caPathFile = writeCA(t, l.caPath, "a.pem")
	l.caPathSub = mkdir(t, filepath.Join(l.caPath, "sub"), 0o755)
	writeCA(t, l.caPathSub, "b.pem")
	var key string
	l.clientCert, key = writeClientPair(t, nest(t, base, "client"))
	l.clientKey = filepath.Join(nest(t, base, "key"), "client-key.pem")
	if err := os.Rename(key, l.clientKey); err != nil {
		t.Fatal(err)
	}
	l.config = writeFile(t, nest(t, base, "etc"), "c.hcl", minimal+
		`ca_cert = "`+l.caCert+`"`+"\n"+
		`ca_path = "`+l.caPath+`"`+"\n"+
		`client_cert = "`+l.clientCert+`"`+"\n"+
		`client_key = "`+l.clientKey+`"`+"\n", 0o600)
	l.token = writeFile(t, nest(t, base, "token"), "token", testToken+"\n", 0o600)
	l.tokenConfig = writeFile(t, nest(t, base, "totp-token"), "c.hcl", totpConfigWith(`vault_token_file = "`+l.token+`"`), 0o600)
	l.roleID = writeFile(t, nest(t, base, "role"), "role-id", "role\n", 0o600)
	l.secretID = writeFile(t, nest(t, base, "secret"), "secret-id", "secret\n", 0o600)
	l.appRoleConfig = writeFile(t, nest(t, base, "totp-approle"), "c.hcl", totpConfigWith(
		`approle_role_id_file = "`+l.roleID+`"`+"\n"+`approle_secret_id_file = "`+l.secretID+`"`), 0o600)
	l.stateDir = filepath.Join(nest(t, base, "state"), "dir")
	l.stateFile = recordFailure(t, l.stateDir)
	return l
}

// recordFailure has the rate limiter create dir and a state file in it (one
// failure of alice's), and returns the file's path.
func recordFailure(t *testing.T, dir string) string {
	t.Helper()
	if _, err := beginAttempt(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	var files []string
	for _, e := range entries {
		if e.Name() != hostKeyName {
			files = append(files, e.Name())
		}
	}
	if err != nil || len(files) != 1 {
		t.Fatalf("state_dir holds %v (%v), want the host key and one state file", entries, err)
	}
	return filepath.Join(dir, files[0])
}

// beginAttempt is what a TOTP login does with the state: open the limiter
// on dir, then count an attempt of alice's.
func beginAttempt(dir string) (*ratelimit.Attempt, error) {
	l, err := ratelimit.Open(dir, 3, time.Minute, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return l.BeginCode(ctx, "alice", "", time.Now())
}

func loadConfig(path string) func() error {
	return func() error { _, err := load(path, Options{}); return err }
}

// trustedKinds names each kind of trusted path as its messages do, picks
// its path in a layout, and runs what the helper runs to trust it.
var trustedKinds = []struct {
	what string
	item func(trustedLayout) string
	use  func(trustedLayout) error
	// linkRefused: a link in the item's place is refused as a link
	// (ELOOP), not followed and held to the rule where it leads.
	linkRefused bool
	// linkSkipped: a link in the item's place is not followed at all,
	// so nothing it leads to is trusted (ca_path's subdirectories).
	linkSkipped bool
	// holder is the kind that holds the item (ca_path holds its files and
	// directories, state_dir its state files): spoiling its directory or
	// one above is refused as the holder's.
	holder func(trustedLayout) (what, path string)
}{
	{what: "config file", item: func(l trustedLayout) string { return l.config }, use: func(l trustedLayout) error { return loadConfig(l.config)() }},
	{what: "ca_cert", item: func(l trustedLayout) string { return l.caCert }, use: func(l trustedLayout) error { return loadConfig(l.config)() }},
	{what: "ca_path", item: func(l trustedLayout) string { return l.caPath }, use: func(l trustedLayout) error { return loadConfig(l.config)() }},
	{what: "ca_path file", item: func(l trustedLayout) string { return l.caPathFile }, use: func(l trustedLayout) error { return loadConfig(l.config)() }, holder: caPathHolds},
	{what: "ca_path directory", item: func(l trustedLayout) string { return l.caPathSub }, use: func(l trustedLayout) error { return loadConfig(l.config)() }, linkSkipped: true, holder: caPathHolds},
	{what: "client_cert", item: func(l trustedLayout) string { return l.clientCert }, use: func(l trustedLayout) error { return loadConfig(l.config)() }},
	{what: "client_key", item: func(l trustedLayout) string { return l.clientKey }, use: func(l trustedLayout) error { return loadConfig(l.config)() }},
	{what: "vault_token_file", item: func(l trustedLayout) string { return l.token }, use: func(l trustedLayout) error { return loadConfig(l.tokenConfig)() }},
	{what: "approle_role_id_file", item: func(l trustedLayout) string { return l.roleID }, use: func(l trustedLayout) error { return loadConfig(l.appRoleConfig)() }},
	{what: "approle_secret_id_file", item: func(l trustedLayout) string { return l.secretID }, use: func(l trustedLayout) error { return loadConfig(l.appRoleConfig)() }},
	{what: "state_dir", item: func(l trustedLayout) string { return l.stateDir }, use: func(l trustedLayout) error {
		_, err := ratelimit.Open(l.stateDir, 3, time.Minute, 5*time.Minute)
		return err
	}},
	{what: "state file", item: func(l trustedLayout) string { return l.stateFile }, use: func(l trustedLayout) error {
		_, err := beginAttempt(l.stateDir)
		return err
	}, linkRefused: true, holder: func(l trustedLayout) (string, string) { return "state_dir", l.stateDir }},
	// The record's host key is held, and named, as a state file.
	{what: "state file", item: func(l trustedLayout) string { return filepath.Join(l.stateDir, hostKeyName) }, use: func(l trustedLayout) error {
		_, err := beginAttempt(l.stateDir)
		return err
	}, linkRefused: true, holder: func(l trustedLayout) (string, string) { return "state_dir", l.stateDir }},
}

// hostKeyName is the TOTP record's host key in state_dir (ratelimit's).
const hostKeyName = "totp-hostkey"

func caPathHolds(l trustedLayout) (string, string) { return "ca_path", l.caPath }

func TestTrustedLayoutLoads(t *testing.T) {
	l := newTrustedLayout(t)
	cfg, err := load(l.config, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientCert == nil || cfg.RootCAs == nil {
		t.Fatalf("layout did not load every file: %+v", cfg)
	}
	for _, k := range trustedKinds {
		if err := k.use(l); err != nil {
			t.Errorf("%s: %v", k.what, err)
		}
	}
}

// TestEveryKindOfTrustedFileIsHeldToTheRule spoils one kind at a time: the
// item itself, the directory holding it, the directory above that, or the
// item swapped for a link to a copy in a directory anyone can write.
// Skipping the check for any one kind, or the walk above any one kind, makes
// its rows fail.
func TestEveryKindOfTrustedFileIsHeldToTheRule(t *testing.T) {
	spoils := []struct {
		name  string
		root  bool
		up    int // spoil the directory this many levels above the item
		spoil func(t *testing.T, path string)
		kind  error
	}{
		{"owned by another user", true, 0, giveAway, trust.ErrUnsafeOwner},
		{"writable by group", false, 0, func(t *testing.T, p string) { addMode(t, p, 0o020) }, trust.ErrUnsafePermissions},
		{"writable by others", false, 0, func(t *testing.T, p string) { addMode(t, p, 0o002) }, trust.ErrUnsafePermissions},
		{"directory owned by another user", true, 1, giveAway, trust.ErrUnsafeOwner},
		{"directory writable by group", false, 1, func(t *testing.T, p string) { addMode(t, p, 0o020) }, trust.ErrUnsafePermissions},
		{"directory sticky and world-writable", false, 1, func(t *testing.T, p string) { chmod(t, p, 0o777|os.ModeSticky) }, trust.ErrUnsafePermissions},
		{"directory above owned by another user", true, 2, giveAway, trust.ErrUnsafeOwner},
		{"directory above writable by others", false, 2, func(t *testing.T, p string) { addMode(t, p, 0o002) }, trust.ErrUnsafePermissions},
		{"directory above sticky and world-writable", false, 2, func(t *testing.T, p string) { chmod(t, p, 0o777|os.ModeSticky) }, trust.ErrUnsafePermissions},
	}
	for _, k := range trustedKinds {
		for _, s := range spoils {
			t.Run(k.what+"/"+s.name, func(t *testing.T) {
				if s.root {
					needRoot(t)
				}
				l := newTrustedLayout(t)
				spoilt := k.item(l)
				for range s.up {
					spoilt = filepath.Dir(spoilt)
				}
				s.spoil(t, spoilt)
				err := k.use(l)
				if !errors.Is(err, s.kind) {
					t.Fatalf("err = %v, want %v", err, s.kind)
				}
				// The check that fired is the one for this kind (or
				// its holder's), naming the item and what was spoilt:
				// a later check of the same directory must not be what
				// refuses it.
				what, item := k.what, k.item(l)
				if k.holder != nil && s.up > 0 {
					what, item = k.holder(l)
				}
				named := what + ` "` + item + `": directory "` + spoilt + `" is `
				if item == spoilt {
					named = what + ` "` + item + `" is `
				}
				if !strings.Contains(err.Error(), named) {
					t.Errorf("err does not say %q: %v", named, err)
				}
			})
		}
		t.Run(k.what+"/link swap", func(t *testing.T) {
			l := newTrustedLayout(t)
			item := k.item(l)
			open := mkdir(t, filepath.Join(l.base, "open"), 0o777)
			moved := filepath.Join(open, filepath.Base(item))
			if err := os.Rename(item, moved); err != nil {
				t.Fatal(err)
			}
			symlink(t, moved, item)
			err := k.use(l)
			// Either way the message names the kind and the item.
			named := k.what + ` "` + item + `": directory "` + open + `" is writable`
			switch {
			case k.linkSkipped:
				// Not followed, so what it leads to is not loaded:
				// the rest of ca_path still is.
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			case k.linkRefused:
				if !errors.Is(err, syscall.ELOOP) {
					t.Fatalf("err = %v, want ELOOP", err)
				}
				named = k.what + ` "` + item + `" is a symbolic link`
			case !errors.Is(err, trust.ErrUnsafePermissions):
				t.Fatalf("err = %v, want %v", err, trust.ErrUnsafePermissions)
			}
			if !strings.Contains(err.Error(), named) {
				t.Errorf("err does not say %q: %v", named, err)
			}
		})
	}
}

// The reported defect: a state_dir below a directory others can write
// could be swapped by them for a fresh one, erasing every failure count.
func TestStateDirBelowAWorldWritableDirectoryIsRefused(t *testing.T) {
	open := mkdir(t, filepath.Join(t.TempDir(), "shared"), 0o777)
	dir := filepath.Join(open, "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := ratelimit.Open(dir, 3, time.Minute, 5*time.Minute)
	want := `state_dir "` + dir + `": directory "` + open + `" is writable by group or others (mode 0777); run: chmod go-w ` + open
	if !errors.Is(err, ratelimit.ErrState) || !errors.Is(err, trust.ErrUnsafePermissions) || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func addMode(t *testing.T, path string, bits os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	chmod(t, path, info.Mode().Perm()|bits)
}

// A ca_path file that is a link is resolved like any trusted path: where it
// leads must pass the rule, though the walk vouches for ca_path itself.
func TestLinkInCAPathIsHeldToTheRule(t *testing.T) {
	base := t.TempDir()
	caDir := mkdir(t, filepath.Join(base, "ca.d"), 0o755)
	writeCA(t, caDir, "a.pem")
	open := mkdir(t, filepath.Join(base, "open"), 0o777)
	symlink(t, writeCA(t, open, "evil.pem"), filepath.Join(caDir, "evil.pem"))
	_, err := parse([]byte(caConfig("ca_path", caDir)), Options{})
	if !errors.Is(err, trust.ErrUnsafePermissions) || !strings.Contains(err.Error(), `ca_path file "`+filepath.Join(caDir, "evil.pem")+`": directory "`+open+`" is `) {
		t.Errorf("err = %v", err)
	}
	safe := mkdir(t, filepath.Join(base, "safe"), 0o755)
	symlink(t, writeCA(t, safe, "b.pem"), filepath.Join(caDir, "b.pem"))
	os.Remove(filepath.Join(caDir, "evil.pem"))
	if _, err := parse([]byte(caConfig("ca_path", caDir)), Options{}); err != nil {
		t.Errorf("a link in ca_path to a CA in a safe directory was refused: %v", err)
	}
}
