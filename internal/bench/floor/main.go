// Command floor is the yardstick of scripts/bench-startup.sh: the least a Go
// program can do for the helper's job. It PUTs one small JSON body over TLS
// (trusting only the CA in -ca) and exits 0 on a 200, 1 otherwise.
//
// By default it speaks HTTP/1.1, as net/http does when given its own TLS
// config; -http2 makes it offer HTTP/2 as well, as the helper's transport does.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	url := flag.String("url", "", "https URL to PUT to")
	caFile := flag.String("ca", "", "PEM file of the CA to trust")
	http2 := flag.Bool("http2", false, "offer HTTP/2 as well as HTTP/1.1")
	flag.Parse()
	if err := put(*url, *caFile, *http2); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func put(url, caFile string, http2 bool) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no certificate", caFile)
	}
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: http2,
		},
	}
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(`{"otp":"bench-floor"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}
