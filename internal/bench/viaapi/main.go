// Command viaapi is the third yardstick of scripts/bench-startup.sh: the
// floor's one PUT made the way the design says the helper must make it,
// through a vault/api client (one client, retries off, the CA from -ca).
// What it costs over the floor with vault/api imported is vault/api's own
// request path (its config, client and request building); what the helper
// costs over it is our own work.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/vault/api"
)

func main() {
	addr := flag.String("addr", "", "https address of the server")
	caFile := flag.String("ca", "", "PEM file of the CA to trust")
	flag.Parse()
	if err := put(*addr, *caFile); err != nil {
		fmt.Fprintln(os.Stderr, "viaapi:", err)
		os.Exit(1)
	}
}

func put(addr, caFile string) error {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return cfg.Error
	}
	cfg.Address = addr
	cfg.MaxRetries = 0
	if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: caFile}); err != nil {
		return err
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.Logical().WriteWithContext(ctx, "ssh/verify", map[string]any{"otp": "bench-floor"})
	return err
}
