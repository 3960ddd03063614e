package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		kind: ErrUnsafePermissions,
	}, {
		name: "group-writable directory above the file's",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "team"), 0o775)
			inner := mkdir(t, filepath.Join(dir, "etc"), 0o755)
			return writeFile(t, inner, "c.hcl", minimal, 0o600), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0775); run: chmod go-w $D`,
		kind: ErrUnsafePermissions,
	}, {
		name: "sticky directory like /tmp",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "shared"), 0o777|os.ModeSticky)
			return writeFile(t, dir, "c.hcl", minimal, 0o600), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 1777, sticky); move the file to a directory only root can write`,
		kind: ErrUnsafePermissions,
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
		kind: ErrUnsafeOwner,
	}, {
		name: "link whose target sits in a writable directory",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "open"), 0o777)
			target := writeFile(t, dir, "real.hcl", minimal, 0o600)
			return symlink(t, target, filepath.Join(base, "c.hcl")), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0777); run: chmod go-w $D`,
		kind: ErrUnsafePermissions,
	}, {
		name: "relative link into a writable directory",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "open"), 0o777)
			writeFile(t, dir, "real.hcl", minimal, 0o600)
			etc := mkdir(t, filepath.Join(base, "etc"), 0o755)
			return symlink(t, "../open/real.hcl", filepath.Join(etc, "c.hcl")), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0777); run: chmod go-w $D`,
		kind: ErrUnsafePermissions,
	}, {
		name: "linked directory on the path",
		layout: func(t *testing.T, base string) (string, string) {
			dir := mkdir(t, filepath.Join(base, "shared"), 0o777|os.ModeSticky)
			writeFile(t, dir, "c.hcl", minimal, 0o600)
			link := symlink(t, dir, filepath.Join(base, "etc"))
			return filepath.Join(link, "c.hcl"), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 1777, sticky); move the file to a directory only root can write`,
		kind: ErrUnsafePermissions,
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
		kind: ErrUnsafePermissions,
	}, {
		name: "link chain through a writable directory",
		layout: func(t *testing.T, base string) (string, string) {
			safe := writeFile(t, base, "real.hcl", minimal, 0o600)
			dir := mkdir(t, filepath.Join(base, "open"), 0o777)
			hop := symlink(t, safe, filepath.Join(dir, "hop"))
			return symlink(t, hop, filepath.Join(base, "c.hcl")), dir
		},
		want: `config file "$P": directory "$D" is writable by group or others (mode 0777); run: chmod go-w $D`,
		kind: ErrUnsafePermissions,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root {
				needRoot(t)
			}
			path, dir := c.layout(t, t.TempDir())
			_, err := Load(path, Options{})
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
		if _, err := Load(path, Options{}); err != nil {
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
	_, err := Load(a, Options{})
	if want := `config file "` + a + `" cannot be read: too many levels of symbolic links`; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	// resolveTrusted's own bound, reached without the kernel's help.
	err = CheckDirectory("TMPDIR", a)
	if want := `TMPDIR "` + a + `" cannot be read: too many levels of symbolic links`; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func TestCheckDirectoryHoldsTheDirectoryItselfToTheRule(t *testing.T) {
	base := t.TempDir()
	if err := CheckDirectory("TMPDIR", base); err != nil {
		t.Errorf("a private directory was refused: %v", err)
	}
	dir := mkdir(t, filepath.Join(base, "tmp"), 0o777|os.ModeSticky)
	err := CheckDirectory("TMPDIR", dir)
	if !errors.Is(err, ErrUnsafePermissions) || !strings.Contains(err.Error(), `directory "`+dir+`"`) {
		t.Errorf("err = %v", err)
	}
}

// trustedLayout is a valid config that uses every kind of trusted file,
// each in a directory of its own, so that one kind can be spoiled at a time.
type trustedLayout struct {
	config, caCert, caPath, caPathFile, caPathSub, clientCert, clientKey string
}

func newTrustedLayout(t *testing.T) trustedLayout {
	t.Helper()
	base := t.TempDir()
	var l trustedLayout
	l.caCert = writeCA(t, mkdir(t, filepath.Join(base, "ca"), 0o755), "ca.pem")
	l.caPath = mkdir(t, filepath.Join(mkdir(t, filepath.Join(base, "capath-parent"), 0o755), "ca.d"), 0o755)
	l.caPathFile = writeCA(t, l.caPath, "a.pem")
	l.caPathSub = mkdir(t, filepath.Join(l.caPath, "sub"), 0o755)
	writeCA(t, l.caPathSub, "b.pem")
	var key string
	l.clientCert, key = writeClientPair(t, mkdir(t, filepath.Join(base, "client"), 0o755))
	l.clientKey = filepath.Join(mkdir(t, filepath.Join(base, "key"), 0o755), "client-key.pem")
	if err := os.Rename(key, l.clientKey); err != nil {
		t.Fatal(err)
	}
	cfgDir := mkdir(t, filepath.Join(base, "etc"), 0o755)
	l.config = writeFile(t, cfgDir, "c.hcl", minimal+
		`ca_cert = "`+l.caCert+`"`+"\n"+
		`ca_path = "`+l.caPath+`"`+"\n"+
		`client_cert = "`+l.clientCert+`"`+"\n"+
		`client_key = "`+l.clientKey+`"`+"\n", 0o600)
	return l
}

// trustedKinds names each kind of trusted file as its messages do, and picks
// its path in a layout.
var trustedKinds = []struct {
	what string
	item func(trustedLayout) string
}{
	{"config file", func(l trustedLayout) string { return l.config }},
	{"ca_cert", func(l trustedLayout) string { return l.caCert }},
	{"ca_path", func(l trustedLayout) string { return l.caPath }},
	{"ca_path file", func(l trustedLayout) string { return l.caPathFile }},
	{"ca_path directory", func(l trustedLayout) string { return l.caPathSub }},
	{"client_cert", func(l trustedLayout) string { return l.clientCert }},
	{"client_key", func(l trustedLayout) string { return l.clientKey }},
}

func TestTrustedLayoutLoads(t *testing.T) {
	l := newTrustedLayout(t)
	cfg, err := Load(l.config, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientCert == nil || cfg.RootCAs == nil {
		t.Fatalf("layout did not load every file: %+v", cfg)
	}
}

// TestEveryKindOfTrustedFileIsHeldToTheRule spoils one kind at a time, the
// item itself and the directory holding it: skipping the check for any one
// kind makes its rows fail.
func TestEveryKindOfTrustedFileIsHeldToTheRule(t *testing.T) {
	spoils := []struct {
		name   string
		root   bool
		parent bool // spoil the directory holding the item, not the item
		spoil  func(t *testing.T, path string)
		kind   error
	}{
		{"owned by another user", true, false, giveAway, ErrUnsafeOwner},
		{"writable by group", false, false, func(t *testing.T, p string) { addMode(t, p, 0o020) }, ErrUnsafePermissions},
		{"writable by others", false, false, func(t *testing.T, p string) { addMode(t, p, 0o002) }, ErrUnsafePermissions},
		{"directory owned by another user", true, true, giveAway, ErrUnsafeOwner},
		{"directory writable by group", false, true, func(t *testing.T, p string) { addMode(t, p, 0o020) }, ErrUnsafePermissions},
		{"directory sticky and world-writable", false, true, func(t *testing.T, p string) { chmod(t, p, 0o777|os.ModeSticky) }, ErrUnsafePermissions},
	}
	for _, k := range trustedKinds {
		for _, s := range spoils {
			t.Run(k.what+"/"+s.name, func(t *testing.T) {
				if s.root {
					needRoot(t)
				}
				l := newTrustedLayout(t)
				spoilt := k.item(l)
				if s.parent {
					spoilt = filepath.Dir(spoilt)
				}
				s.spoil(t, spoilt)
				_, err := Load(l.config, Options{})
				if !errors.Is(err, s.kind) {
					t.Fatalf("err = %v, want %v", err, s.kind)
				}
				// The check that fired is the one for this kind: a later
				// check of the same directory (a file's path passes
				// through ca_path) must not be what refuses it.
				named := k.what + ` "` + spoilt + `" is `
				if s.parent {
					// ca_path holds the ca_path file and directory:
					// it is named as ca_path then.
					named = `"` + spoilt + `" is `
				}
				if !strings.Contains(err.Error(), named) {
					t.Errorf("err does not say %q: %v", named, err)
				}
			})
		}
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
	_, err := Parse([]byte(caConfig("ca_path", caDir)), Options{})
	if !errors.Is(err, ErrUnsafePermissions) || !strings.Contains(err.Error(), `ca_path file "`+filepath.Join(caDir, "evil.pem")+`": directory "`+open+`" is `) {
		t.Errorf("err = %v", err)
	}
	safe := mkdir(t, filepath.Join(base, "safe"), 0o755)
	symlink(t, writeCA(t, safe, "b.pem"), filepath.Join(caDir, "b.pem"))
	os.Remove(filepath.Join(caDir, "evil.pem"))
	if _, err := Parse([]byte(caConfig("ca_path", caDir)), Options{}); err != nil {
		t.Errorf("a link in ca_path to a CA in a safe directory was refused: %v", err)
	}
}
