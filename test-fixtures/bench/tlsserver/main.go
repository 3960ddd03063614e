// Command tlsserver is the stand-in Vault for scripts/bench-startup.sh: a TLS
// server on 127.0.0.1 that answers PUT /v1/<mount>/verify the way Vault's SSH
// secrets engine does, with a CA it makes up at start.
//
// It writes the CA certificate to -ca and, once it listens, its address to
// -addr-file (written whole by rename, so a poller never reads half of it).
// It stops on SIGINT/SIGTERM or after -lifetime, whichever comes first, and
// then prints to stderr how many requests it served, by kind and protocol.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"
)

func main() {
	caFile := flag.String("ca", "", "write the CA certificate (PEM) here (required)")
	addrFile := flag.String("addr-file", "", "write host:port here once listening (required)")
	mount := flag.String("mount", "ssh", "SSH secrets engine mount point")
	keyType := flag.String("key", "ecdsa", "key type of the CA and server certificate: ecdsa (P-256) or rsa (2048)")
	http2 := flag.Bool("http2", true, "offer HTTP/2 in ALPN, as Vault does")
	lifetime := flag.Duration("lifetime", 30*time.Minute, "exit after this long whatever happens")
	flag.Parse()
	if *caFile == "" || *addrFile == "" {
		log.Fatal("tlsserver: -ca and -addr-file are required")
	}
	cert, caPEM, err := makeCertificates(*keyType)
	if err != nil {
		log.Fatalf("tlsserver: %v", err)
	}
	if err := os.WriteFile(*caFile, caPEM, 0o644); err != nil {
		log.Fatalf("tlsserver: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("tlsserver: %v", err)
	}
	st := &stats{counts: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/"+*mount+"/verify", st.verify)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // clients that hang up early are expected
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		},
	}
	if !*http2 {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}

	tmp := *addrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
		log.Fatalf("tlsserver: %v", err)
	}
	if err := os.Rename(tmp, *addrFile); err != nil {
		log.Fatalf("tlsserver: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *lifetime)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("tlsserver: %v", err)
		}
	case <-ctx.Done():
	}
	shut, cancelShut := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShut()
	_ = srv.Shutdown(shut)
	st.report(os.Stderr)
}

// stats counts what was served, so the bench can show which protocol each
// client ended up speaking.
type stats struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *stats) add(key string) {
	s.mu.Lock()
	s.counts[key]++
	s.mu.Unlock()
}

func (s *stats) report(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "tlsserver: requests served (kind, protocol, status):")
	for _, k := range keys {
		fmt.Fprintf(w, "tlsserver:   %-40s %d\n", k, s.counts[k])
	}
}

// verify answers like Vault's <mount>/verify: the echo request gets the echo
// response, any other OTP the data of a valid login for user "u" from
// 127.0.0.1 with role "r".
func (s *stats) verify(w http.ResponseWriter, r *http.Request) {
	kind, status, body := answer(r)
	s.add(fmt.Sprintf("%s %s %d", kind, r.Proto, status))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func answer(r *http.Request) (kind string, status int, body string) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return "bad-method", http.StatusMethodNotAllowed, `{"errors":["unsupported operation"]}`
	}
	var req struct {
		OTP string `json:"otp"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.OTP == "" {
		return "bad-body", http.StatusBadRequest, `{"errors":["missing otp"]}`
	}
	kind = "login"
	if req.OTP == "verify-echo-request" {
		return "echo", http.StatusOK, `{"request_id":"bench","lease_id":"","renewable":false,"lease_duration":0,"data":{"message":"verify-echo-response"},"wrap_info":null,"warnings":null,"auth":null}`
	}
	if req.OTP == FloorOTP {
		kind = "floor"
	}
	return kind, http.StatusOK, `{"request_id":"bench","lease_id":"","renewable":false,"lease_duration":0,"data":{"username":"u","ip":"127.0.0.1","role_name":"r"},"wrap_info":null,"warnings":null,"auth":null}`
}

// FloorOTP is what the floor program sends, so the report can tell its
// requests from the helper's.
const FloorOTP = "bench-floor"

// makeCertificates makes a CA and a server certificate for 127.0.0.1 and
// localhost, signed by it.
func makeCertificates(keyType string) (tls.Certificate, []byte, error) {
	newKey := func() (any, any, error) {
		switch keyType {
		case "ecdsa":
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return nil, nil, err
			}
			return k, &k.PublicKey, nil
		case "rsa":
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				return nil, nil, err
			}
			return k, &k.PublicKey, nil
		}
		return nil, nil, fmt.Errorf("unknown -key %q (want ecdsa or rsa)", keyType)
	}
	now := time.Now()
	caKey, caPub, err := newKey()
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vault-ssh-helper bench CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caPub, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafKey, leafPub, err := newKey()
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, leafPub, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return cert, caPEM, nil
}
