package vaulttest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// UsedCodesKV is a KV v2 mount holding the TOTP helper's shared record of
// used codes under Prefix, with the README's least-privilege policy for it.
type UsedCodesKV struct {
	s      *Server
	Mount  string
	Prefix string
	// Policy grants read, create and update on <mount>/data/<prefix>/*
	// and nothing else: the README's policy.
	Policy string
	// ReadOnly grants read alone there: -verify-only refuses it, and a
	// login cannot record its code.
	ReadOnly string
}

// EnableUsedCodesKV mounts KV v2 at mount and writes its two policies.
func (s *Server) EnableUsedCodesKV(t testing.TB, mount, prefix string) *UsedCodesKV {
	t.Helper()
	s.Write(t, "sys/mounts/"+mount, map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	k := &UsedCodesKV{s: s, Mount: mount, Prefix: prefix, Policy: mount + "-used-codes", ReadOnly: mount + "-used-codes-read"}
	path := mount + "/data/" + prefix + "/*"
	s.WritePolicy(t, k.Policy, fmt.Sprintf("path %q {\n  capabilities = [\"read\", \"create\", \"update\"]\n}\n", path))
	s.WritePolicy(t, k.ReadOnly, fmt.Sprintf("path %q {\n  capabilities = [\"read\"]\n}\n", path))
	// A new KV v2 mount answers 'upgrading' for a moment; wait until a
	// read of a missing record says 404.
	for i := 0; ; i++ {
		code, _ := s.Request(t, http.MethodGet, mount+"/data/"+prefix+"/probe", nil)
		if code == http.StatusNotFound {
			break
		}
		if i > 200 {
			t.Fatalf("vaulttest: KV v2 at %s answers %d, not 404, to a missing record", mount, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return k
}

// At is the same mount read through node s (after the first node stopped).
func (k *UsedCodesKV) At(s *Server) *UsedCodesKV {
	c := *k
	c.s = s
	return &c
}

// Path is the config's totp_used_codes_path.
func (k *UsedCodesKV) Path() string { return k.Mount + "/" + k.Prefix }

// Record reads key's record as the helper wrote it: the used entries and
// the version (0 when there is none).
func (k *UsedCodesKV) Record(t testing.TB, key string) ([]string, int) {
	t.Helper()
	code, out := k.s.Request(t, http.MethodGet, k.Mount+"/data/"+k.Prefix+"/"+key, nil)
	if code == http.StatusNotFound {
		return nil, 0
	}
	data, _ := out["data"].(map[string]any)
	inner, _ := data["data"].(map[string]any)
	meta, _ := data["metadata"].(map[string]any)
	version, _ := meta["version"].(float64)
	raw, _ := inner["used"].([]any)
	var used []string
	for _, u := range raw {
		s, _ := u.(string)
		used = append(used, s)
	}
	if code != http.StatusOK {
		t.Fatalf("vaulttest: read record of %s: status %d, errors %v", key, code, out["errors"])
	}
	return used, int(version)
}

// HexKeyFile writes a 64-hex-digit HMAC key file (0600) into dir, as an
// operator would with openssl rand -hex 32, and returns its path.
func HexKeyFile(t testing.TB, dir, name string, b byte) string {
	t.Helper()
	return WriteSecretFile(t, dir, name, strings.Repeat(fmt.Sprintf("%02x", b), 32)+"\n")
}
