// Package plumbingtest holds what the tests of package plumbing and of
// package main both need to stall, watch and listen to the process's
// plumbing: sinks that stop taking writes, syslog sockets of their own and
// a buffer the watchdog's goroutine may write to. Only tests import it.
package plumbingtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// HangDetector is how long a run with a stalled log may take before a test
// calls it hung: far beyond any budget the tests configure, so only a run
// that waits on the sink can reach it.
const HangDetector = 30 * time.Second

// SyncBuffer is a bytes.Buffer safe for the watchdog's goroutine.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StalledSink returns a writer that blocks every write in write(2), as a
// log= file on a stalled mount does (see FullFIFO); the test's end releases
// any write still blocked.
func StalledSink(t testing.TB) *os.File {
	t.Helper()
	sink, release, err := FullFIFO(filepath.Join(t.TempDir(), "log.fifo"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return sink
}

// FullFIFO makes a FIFO at path and returns its write end with the pipe
// buffer full and a reader that never reads, so every write blocks in
// write(2) as on a stalled NFS or FUSE mount. The write end is a blocking
// descriptor, as a log= file is, not one Go's poller parks. release closes
// both ends; a write still blocked then fails with EPIPE.
func FullFIFO(path string) (*os.File, func(), error) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return nil, nil, fmt.Errorf("mkfifo: %w", err)
	}
	rfd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open the FIFO's read end: %w", err)
	}
	wfd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		syscall.Close(rfd)
		return nil, nil, fmt.Errorf("open the FIFO's write end: %w", err)
	}
	release := func() { syscall.Close(rfd); syscall.Close(wfd) }
	if err := fillFIFO(wfd); err != nil {
		release()
		return nil, nil, err
	}
	if err := syscall.SetNonblock(wfd, false); err != nil {
		release()
		return nil, nil, fmt.Errorf("make the FIFO's write end blocking: %w", err)
	}
	sink := os.NewFile(uintptr(wfd), path)
	return sink, func() { syscall.Close(rfd); sink.Close() }, nil
}

// fillFIFO writes to the non-blocking fd until the pipe takes nothing more,
// not even one byte. Pipes hold at most 1 MiB unless an administrator
// raised /proc/sys/fs/pipe-max-size, so the loop is bounded well past that.
func fillFIFO(fd int) error {
	page := make([]byte, 4096)
	for _, size := range []int{len(page), 1} {
		for i := 0; ; i++ {
			if i == 1<<16 {
				return errors.New("the FIFO never filled")
			}
			_, err := syscall.Write(fd, page[:size])
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			if err != nil {
				return fmt.Errorf("fill the FIFO: %w", err)
			}
		}
	}
	return nil
}

// ShortTempDir is a directory whose path leaves room for a socket's name
// (108 bytes at most, where t.TempDir's paths carry the test's name).
func ShortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vsh-syslog-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Listen is a syslog socket that records what it receives: received returns
// the datagrams that came since it was last called.
func Listen(t testing.TB) (path string, received func() []string) {
	t.Helper()
	path = filepath.Join(ShortTempDir(t), "log.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	received = func() []string {
		var got []string
		buf := make([]byte, 64<<10)
		for {
			ln.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := ln.Read(buf)
			if err != nil {
				return got
			}
			got = append(got, string(buf[:n]))
		}
	}
	return path, received
}

// FullSocket is a syslog socket whose daemon has stopped reading: its
// queue is filled, through a non-blocking socket of the test's own, until
// a send is refused with EAGAIN.
func FullSocket(t testing.TB) string {
	t.Helper()
	path := filepath.Join(ShortTempDir(t), "full.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1_000_000; i++ {
		if _, err := syscall.Write(fd, []byte("filler")); errors.Is(err, syscall.EAGAIN) {
			return path
		} else if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the socket never filled")
	return ""
}
