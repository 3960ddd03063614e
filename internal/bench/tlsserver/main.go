// Command tlsserver is the stand-in Vault for scripts/bench-startup.sh: a TLS
// server on 127.0.0.1 that answers, with a CA it makes up at start, the
// requests of both modes the way Vault v1.14 does: PUT /v1/<mount>/verify
// (SSH secrets engine), PUT /v1/<totp-mount>/code/<key> (TOTP engine; every
// code is valid, with or without a token, as the bench checks no policy) and
// PUT /v1/auth/approle/login (a token for any role_id and secret_id).
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
	totpMount := flag.String("totp-mount", "totp", "TOTP secrets engine mount point")
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
	mux.HandleFunc("/v1/"+*mount+"/verify", st.serve(answer))
	mux.HandleFunc("/v1/"+*totpMount+"/code/", st.serve(answerCode))
	mux.HandleFunc("/v1/auth/approle/login", st.serve(answerAppRole))
	mux.HandleFunc("/v1/kv/data/", st.serve(answerKV))
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

// answerer decides one request's answer; kind names it in the report.
type answerer func(r *http.Request) (kind string, status int, body string)

// serve writes what a answers and counts it by kind and protocol.
func (s *stats) serve(a answerer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		kind, status, body := a(r)
		s.add(fmt.Sprintf("%s %s %d", kind, r.Proto, status))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// refusal is an answer that says the request was not one Vault would take.
type refusal struct {
	kind   string
	status int
	body   string
}

// readFields reads the named string fields of a PUT's JSON body, or says why
// Vault would refuse the request: another method, or a field missing.
func readFields(req *http.Request, names ...string) ([]string, *refusal) {
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		return nil, &refusal{"bad-method", http.StatusMethodNotAllowed, `{"errors":["unsupported operation"]}`}
	}
	var body map[string]any
	var values []string
	if err := json.NewDecoder(io.LimitReader(req.Body, 4096)).Decode(&body); err != nil {
		return nil, &refusal{"bad-body", http.StatusBadRequest, `{"errors":["malformed body"]}`}
	}
	for _, name := range names {
		v, _ := body[name].(string)
		if v == "" {
			return nil, &refusal{"bad-body", http.StatusBadRequest, fmt.Sprintf(`{"errors":["missing %s"]}`, name)}
		}
		values = append(values, v)
	}
	return values, nil
}

// answer is Vault's <mount>/verify: the echo request gets the echo response,
// any other OTP the data of a valid login for user "u" from 127.0.0.1 with
// role "r".
func answer(r *http.Request) (kind string, status int, body string) {
	values, no := readFields(r, "otp")
	if no != nil {
		return no.kind, no.status, no.body
	}
	otp := values[0]
	kind = "login"
	if otp == "verify-echo-request" {
		return "echo", http.StatusOK, `{"request_id":"bench","lease_id":"","renewable":false,"lease_duration":0,"data":{"message":"verify-echo-response"},"wrap_info":null,"warnings":null,"auth":null}`
	}
	if otp == FloorOTP {
		kind = "floor"
	}
	return kind, http.StatusOK, `{"request_id":"bench","lease_id":"","renewable":false,"lease_duration":0,"data":{"username":"u","ip":"127.0.0.1","role_name":"r"},"wrap_info":null,"warnings":null,"auth":null}`
}

// answerCode is the TOTP engine's code/<key> validate: any code is valid.
func answerCode(r *http.Request) (kind string, status int, body string) {
	if _, no := readFields(r, "code"); no != nil {
		return no.kind, no.status, no.body
	}
	return "totp-code", http.StatusOK, `{"request_id":"bench","lease_id":"","renewable":false,"lease_duration":0,"data":{"valid":true},"wrap_info":null,"warnings":null,"auth":null}`
}

// answerAppRole is auth/approle/login: a token for any role_id and secret_id.
func answerAppRole(r *http.Request) (kind string, status int, body string) {
	if _, no := readFields(r, "role_id", "secret_id"); no != nil {
		return no.kind, no.status, no.body
	}
	return "approle-login", http.StatusOK, `{"request_id":"bench","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,` +
		`"auth":{"client_token":"hvs.bench-approle-token","accessor":"bench","policies":["default","totp-validate"],"token_policies":["default","totp-validate"],"metadata":{"role_name":"bench"},"lease_duration":300,"renewable":true,"entity_id":"","token_type":"service","orphan":true}}`
}

// answerKV is KV v2 at kv/ as the shared record of used codes meets it on
// every login of the bench: no record yet (404), then a check-and-set
// write of version 1 that succeeds.
func answerKV(r *http.Request) (kind string, status int, body string) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.Method == http.MethodGet {
		return "kv-read", http.StatusNotFound, `{"errors":[]}`
	}
	return "kv-write", http.StatusOK, `{"request_id":"bench","lease_id":"","renewable":false,"lease_duration":0,"data":{"created_time":"2026-01-01T00:00:00Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1},"wrap_info":null,"warnings":null,"auth":null}`
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
