package vaulttest

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/vault"
)

// Cluster is a real 3-node Vault HA cluster (vault.NewTestCluster): shared
// in-memory storage, one active node, two standbys that forward requests to
// the active node. Every node serves https on 127.0.0.1 with a certificate
// for 127.0.0.1 and "localhost" signed by the cluster's own CA.
type Cluster struct {
	TC *vault.TestCluster
	// Nodes are the three nodes as Servers (Addr, CACertFile, CADir, ...).
	Nodes []*Server
	// CACertFile / CADir: the cluster CA as a 0644 file / a directory holding only it.
	CACertFile string
	CADir      string
}

// StartCluster starts the cluster with the SSH engine mounted at "ssh" and
// waits until every standby forwards requests to the active node. It is torn
// down by t.Cleanup.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	logs := keepLogs(t, "vault cluster")
	logger := hclog.New(&hclog.LoggerOptions{Name: "cluster", Level: hclog.Warn, Output: logs})

	tc := vault.NewTestCluster(tbT{t}, &vault.CoreConfig{
		LogicalBackends:    Backends(),
		CredentialBackends: CredentialBackends(),
		AuditBackends:      AuditBackends(),
		Logger:             logger,
	}, &vault.TestClusterOptions{
		HandlerFunc: vaulthttp.Handler,
		NumCores:    3,
		Logger:      logger,
	})
	t.Cleanup(tc.Cleanup)

	c := &Cluster{TC: tc}
	c.CADir = filepath.Join(t.TempDir(), "cluster-ca")
	if err := os.Mkdir(c.CADir, 0o700); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	c.CACertFile = filepath.Join(c.CADir, "ca.pem")
	if err := os.WriteFile(c.CACertFile, tc.CACertPEM, 0o644); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	for _, core := range tc.Cores {
		s := &Server{
			Addr:       fmt.Sprintf("https://127.0.0.1:%d", core.Listeners[0].Address.Port),
			RootToken:  tc.RootToken,
			Core:       core.Core,
			CACertFile: c.CACertFile,
			CADir:      c.CADir,
			ServerName: "localhost",
			httpSrv:    core.Server,
		}
		s.client = newClient(&tls.Config{RootCAs: tc.RootCAs, MinVersion: tls.VersionTLS12})
		c.Nodes = append(c.Nodes, s)
	}
	c.Active(t).Mount(t, "ssh", "ssh")
	c.waitForwarding(t)
	return c
}

// Active returns the active node.
func (c *Cluster) Active(t testing.TB) *Server {
	t.Helper()
	for _, s := range c.Nodes {
		if standby, err := s.Core.Standby(); err == nil && !standby {
			return s
		}
	}
	t.Fatal("vaulttest: the cluster has no active node")
	return nil
}

// Standbys returns the standby nodes.
func (c *Cluster) Standbys(t testing.TB) []*Server {
	t.Helper()
	var out []*Server
	for _, s := range c.Nodes {
		if standby, err := s.Core.Standby(); err == nil && standby {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatal("vaulttest: the cluster has no standby node")
	}
	return out
}

// waitForwarding polls each standby with a verify echo (unauthenticated, no
// side effect) until it answers 200 itself, i.e. forwards to the active node
// rather than redirecting; bounded at 60 s.
func (c *Cluster) waitForwarding(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, s := range c.Standbys(t) {
		for {
			code, out := s.Request(t, http.MethodPut, "ssh/verify", map[string]any{"otp": "verify-echo-request"})
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("vaulttest: standby %s does not forward: status %d, errors %v", s.Addr, code, out["errors"])
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// StopNode stops node s as a crash would, seen from the cluster: its HTTP
// listener closes (its address refuses connections) and its core shuts
// down, giving up the active role if it held it, so the standbys elect a
// new active node.
func (c *Cluster) StopNode(t testing.TB, s *Server) {
	t.Helper()
	s.Stop()
	if err := s.Core.Shutdown(); err != nil {
		t.Fatalf("vaulttest: shut down %s: %v", s.Addr, err)
	}
}

// SealNode seals node s alone (a standby stays out of the active node's
// way); it then answers every request 503 "Vault is sealed".
func (c *Cluster) SealNode(t testing.TB, s *Server) {
	t.Helper()
	for _, core := range c.TC.Cores {
		if core.Core == s.Core {
			core.Seal(tbT{t})
			if !s.Core.Sealed() {
				t.Fatalf("vaulttest: %s is not sealed after Seal", s.Addr)
			}
			return
		}
	}
	t.Fatalf("vaulttest: %s is not a node of this cluster", s.Addr)
}
