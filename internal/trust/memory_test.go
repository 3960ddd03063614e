package trust

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// writeFile makes a 0600 file at path.
func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// Within a run, a directory that passed is not looked at again: the test
// opens it to others behind the run's back (only root or we can) and the
// next file under it is still read. Without the memory it is refused, as it
// is once the run has ended.
func TestARunChecksEachDirectoryOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	first, second := filepath.Join(dir, "config.hcl"), filepath.Join(dir, "token")
	writeFile(t, first)
	writeFile(t, second)

	forget := Remember()
	if _, _, err := ReadFile(first, "config file", "/", 64); err != nil {
		forget()
		t.Fatalf("first file: %v", err)
	}
	chmod(t, dir, 0o777)
	_, _, errInRun := ReadFile(second, "vault_token_file", "/", 64)
	forget()
	_, _, errAfter := ReadFile(second, "vault_token_file", "/", 64)
	chmod(t, dir, 0o755)

	if errInRun != nil {
		t.Errorf("second file in the same run: %v; want the directory remembered", errInRun)
	}
	if !errors.Is(errAfter, ErrUnsafePermissions) {
		t.Errorf("after the run: err = %v, want %v", errAfter, ErrUnsafePermissions)
	}
}

// A directory that passed vouches for itself, not for what lies below it:
// a directory under a remembered one is still walked and refused.
func TestARememberedDirectoryDoesNotVouchForItsChildren(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	chmod(t, open, 0o777)
	file := filepath.Join(open, "token")
	writeFile(t, file)

	defer Remember()()
	if _, err := Directory("state_dir", base); err != nil {
		t.Fatalf("Directory(%s): %v", base, err)
	}
	for i := 0; i < 2; i++ {
		if _, _, err := ReadFile(file, "vault_token_file", "/", 64); !errors.Is(err, ErrUnsafePermissions) {
			t.Errorf("read %d: err = %v, want %v", i+1, err, ErrUnsafePermissions)
		}
	}
}

// A refused directory is not remembered: once fixed it passes, and the
// walk that refused it did not let a later one skip it while it was open.
func TestARefusedDirectoryIsWalkedAgain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	chmod(t, dir, 0o770)
	file := filepath.Join(dir, "f")
	writeFile(t, file)

	defer Remember()()
	for i := 0; i < 2; i++ {
		if _, _, err := ReadFile(file, "ca_cert", "/", 64); !errors.Is(err, ErrUnsafePermissions) {
			t.Errorf("read %d: err = %v, want %v", i+1, err, ErrUnsafePermissions)
		}
	}
	chmod(t, dir, 0o700)
	if _, _, err := ReadFile(file, "ca_cert", "/", 64); err != nil {
		t.Errorf("after chmod 0700: %v", err)
	}
}

// A directory reached through a link is remembered by where it is, not by
// the link's name: a link elsewhere that leads to a directory nobody
// checked is still walked.
func TestLinksAreResolvedUnderMemory(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	bad := filepath.Join(base, "bad")
	for _, d := range []string{good, bad} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(d, "f"))
	}
	chmod(t, bad, 0o777)
	link := filepath.Join(base, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}

	defer Remember()()
	if _, _, err := ReadFile(filepath.Join(link, "f"), "ca_cert", "/", 64); err != nil {
		t.Fatalf("through the link to good: %v", err)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bad, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFile(filepath.Join(link, "f"), "ca_cert", "/", 64); !errors.Is(err, ErrUnsafePermissions) {
		t.Errorf("through the link, now to bad: err = %v, want %v", err, ErrUnsafePermissions)
	}
}

// Starting a run's memory replaces the one before, and ending the replaced
// one leaves the current one alone.
func TestEndingAReplacedMemoryKeepsTheCurrentOne(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "f")
	writeFile(t, file)

	forgetOld := Remember()
	forgetNew := Remember()
	defer forgetNew()
	if _, _, err := ReadFile(file, "ca_cert", "/", 64); err != nil {
		t.Fatal(err)
	}
	forgetOld()
	chmod(t, dir, 0o777)
	defer chmod(t, dir, 0o755)
	if _, _, err := ReadFile(file, "ca_cert", "/", 64); err != nil {
		t.Errorf("after ending the replaced memory: %v; want the current one still remembering", err)
	}
}
