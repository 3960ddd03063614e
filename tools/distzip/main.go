// Command distzip writes a release zip that is the same, byte for byte,
// every time it is built from the same input: one executable at the
// archive's root, a fixed mode (0755), a fixed time (UTC) and no owner or
// host fields. Used by scripts/dist.sh; the system zip(1) stamps local
// time and varies with the umask and the installed version.
//
//	distzip -mtime <unix seconds> -o out.zip path/to/binary
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	mtime := flag.Int64("mtime", -1, "modification time stored for the entry, in Unix seconds (e.g. $SOURCE_DATE_EPOCH)")
	out := flag.String("o", "", "zip file to write")
	flag.Parse()
	if err := run(*out, *mtime, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "distzip:", err)
		os.Exit(1)
	}
}

func run(out string, mtime int64, args []string) error {
	switch {
	case out == "":
		return errors.New("-o is required")
	case mtime < 315532800: // 1980-01-01: the earliest time a zip entry can hold
		return errors.New("-mtime must be a Unix time on or after 1980-01-01")
	case len(args) != 1:
		return errors.New("exactly one file to add is required")
	}
	src, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", args[0])
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), ".distzip-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed

	if err := write(tmp, src, filepath.Base(args[0]), time.Unix(mtime, 0).UTC()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func write(w io.Writer, src io.Reader, name string, mtime time.Time) error {
	zw := zip.NewWriter(w)
	hdr := &zip.FileHeader{
		Name:     name,
		Method:   zip.Deflate,
		Modified: mtime,
	}
	hdr.SetMode(0o755)
	ew, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := io.Copy(ew, src); err != nil {
		return err
	}
	return zw.Close()
}
