package plumbing

import (
	"context"
	"fmt"
	"sync"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/config"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// checkEvery is -verify-only with several Vault addresses: it checks each
// one on its own, at the same time and each within the whole budget (one
// that hangs must not use up the others' time), then says which are
// healthy. It succeeds only when every one is: a dead node should be
// found before a login needs it. modeAt makes the mode for the client of
// one address.
func checkEvery(ctx context.Context, cfg *config.Config, client *agent.Client,
	modeAt func(*agent.Client) (Mode, error), log *Logger) error {
	type result struct {
		found []helper.Finding
		err   error
	}
	addrs := client.Addresses()
	results := make([]result, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		m, err := modeAt(client.At(i))
		if err != nil {
			results[i] = result{nil, err}
			continue
		}
		log.Debug("%s to %s", m.About().CheckStep, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			found, err := m.Check(ctx)
			results[i] = result{found, err}
		}()
	}
	wg.Wait()
	healthy := 0
	for i, r := range results {
		for _, f := range r.found {
			if f.Warning {
				log.Warn("Vault at %s: %s", addrs[i], f.Text)
			} else {
				log.Info("Vault at %s: %s", addrs[i], f.Text)
			}
		}
		if r.err != nil {
			log.Error("Vault at %s: not healthy: %v", addrs[i], explainTimeout(r.err, cfg))
			continue
		}
		healthy++
		log.Info("Vault at %s: healthy", addrs[i])
	}
	if healthy < len(addrs) {
		return fmt.Errorf("%d of %d Vault addresses are healthy; -verify-only succeeds only when every one is", healthy, len(addrs))
	}
	log.Info("vault-ssh-helper verification successful!")
	return nil
}
