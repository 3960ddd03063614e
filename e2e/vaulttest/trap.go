package vaulttest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Trap is a TCP listener on 127.0.0.1 that counts the connections made to
// it. It never answers: it either closes each connection at once (whatever
// is pointed at it fails fast) or, with hold, keeps it open until the test
// ends (a Vault that accepts and then hangs). Conns says whether it was used.
type Trap struct {
	// URL is scheme://127.0.0.1:PORT.
	URL string
	n   atomic.Int64
}

// Conns is the number of connections accepted so far.
func (tr *Trap) Conns() int64 { return tr.n.Load() }

// NewTrap starts a Trap that is closed, with every connection it holds, by
// t.Cleanup.
func NewTrap(t testing.TB, scheme string, hold bool) *Trap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("vaulttest: trap: %v", err)
	}
	tr := &Trap{URL: scheme + "://" + ln.Addr().String()}
	var mu sync.Mutex
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tr.n.Add(1)
			if !hold {
				c.Close()
				continue
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return tr
}
