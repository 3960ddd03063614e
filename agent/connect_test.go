package agent_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// fullListener is a 127.0.0.1 socket whose accept queue is full and never
// drained: Linux then drops new SYNs silently, as a firewall that drops
// packets would, so a connect can only time out.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skipf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skipf("bind: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skipf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Skipf("getsockname: %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue until a connect no longer completes.
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill the accept queue; SYNs are not being dropped here")
	return ""
}

func TestConnectGivesUpAfterTheConnectTimeoutNotTheBudget(t *testing.T) {
	t.Parallel()
	addr := fullListener(t)
	c := newClient(t, hcl("http://"+addr))
	budget, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Verify(budget, testOTP)
	if !errors.Is(err, agent.ErrUnreachable) || !strings.Contains(err.Error(), "no connection within 2s") {
		t.Fatalf("err = %v", err)
	}
	if budget.Err() != nil {
		t.Error("the connect waited out the whole budget")
	}
}
