package totp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/totp/ratelimit"
)

// The shared record (totp_used_codes_path) keeps the codes accepted for a
// key on any host in Vault's KV v2, so that a code let in on one host is
// refused on every other, and after a change of Vault's active node (KV is
// replicated storage, not the node's memory). Each write names the version
// it read (check-and-set), so of two hosts racing with one code, one denies.
// Entries are ratelimit's (time and HMAC) under the key every host holds
// and Vault never sees: readers of the prefix learn who logged in and when,
// nothing about the codes.

// Sentinels of the shared record; each denies.
var (
	ErrUsedShared   = errors.New("code already accepted (shared record)")
	ErrSharedRace   = errors.New("another login changed the shared record of used codes at the same time")
	ErrSharedRecord = errors.New("the shared record of used codes is unusable")
)

const (
	// msgCASMismatch is KV v2's answer to a stale cas (Vault v1.14.0, word for word).
	msgCASMismatch = "check-and-set parameter did not match the current version"
	maxSharedCodes = 100
)

// keyRecord is a key's record as read; version 0 when there is none yet.
type keyRecord struct {
	version int
	entries []ratelimit.Code
}

// sharedPath is the API path of key's record.
func (m *Mode) sharedPath(key string) string {
	return m.cfg.UsedCodes.Mount + "/data/" + m.cfg.UsedCodes.Prefix + "/" + key
}

// readShared gets key's record; no record yet is version 0.
func (m *Mode) readShared(ctx context.Context, key string) (keyRecord, error) {
	path := "/v1/" + m.sharedPath(key)
	body, err := m.vault.Get(ctx, path)
	var ve *agent.VaultError
	if errors.As(err, &ve) && ve.Status == http.StatusNotFound && len(ve.Messages) == 0 {
		return keyRecord{}, nil
	}
	var rec keyRecord
	if err == nil {
		rec, err = decodeRecord(body)
	}
	if err != nil {
		return keyRecord{}, fmt.Errorf("read shared record at %s: %w", m.vault.URL(path), m.explainShared(err))
	}
	return rec, nil
}

func decodeRecord(body []byte) (keyRecord, error) {
	var d struct {
		Data *struct {
			Used *[]string `json:"used"`
		} `json:"data"`
		Metadata *struct {
			Version *int `json:"version"`
		} `json:"metadata"`
	}
	if err := agent.DecodeData(body, &d); err != nil {
		return keyRecord{}, err
	}
	if d.Metadata == nil || d.Metadata.Version == nil || *d.Metadata.Version < 1 {
		return keyRecord{}, fmt.Errorf("%w: data.metadata.version is missing or not positive", ErrSharedRecord)
	}
	rec := keyRecord{version: *d.Metadata.Version}
	if d.Data == nil || d.Data.Used == nil {
		// A deleted version reads as data null: nothing is recorded.
		return rec, nil
	}
	if len(*d.Data.Used) > maxSharedCodes {
		return keyRecord{}, fmt.Errorf("%w: it holds more than %d codes", ErrSharedRecord, maxSharedCodes)
	}
	for i, s := range *d.Data.Used {
		e, err := ratelimit.ParseCode(s)
		if err != nil {
			return keyRecord{}, fmt.Errorf("%w: entry %d is not \"<unix time> <64 hex digits>\"", ErrSharedRecord, i+1)
		}
		rec.entries = append(rec.entries, e)
	}
	return rec, nil
}

// sharedSum is the record's form of code for key.
func (m *Mode) sharedSum(key, code string) string {
	return ratelimit.CodeSum([]byte(m.cfg.UsedCodes.Key.Reveal()), key, code)
}

// liveShared keeps the entries still inside the lifetime; one stamped
// later than now (a host's clock ahead) counts from now.
func (m *Mode) liveShared(entries []ratelimit.Code, now time.Time) []ratelimit.Code {
	var keep []ratelimit.Code
	for _, e := range entries {
		at := time.Unix(min(e.Stamp, now.Unix()), 0)
		if now.Before(at.Add(m.cfg.CodeLifetime)) {
			keep = append(keep, e)
		}
	}
	return keep
}

// refuseShared refuses code when the record holds it within the lifetime.
func (m *Mode) refuseShared(rec keyRecord, key, code string, now time.Time) error {
	e, ok := ratelimit.Find(m.liveShared(rec.entries, now), m.sharedSum(key, code))
	if !ok {
		return nil
	}
	accepted, lifetime := time.Unix(e.Stamp, 0).UTC(), m.cfg.CodeLifetime
	return fmt.Errorf("%w for key %q at %s; it stays refused until %s (totp_code_lifetime %s)",
		ErrUsedShared, key, accepted.Format(time.RFC3339), accepted.Add(lifetime).Format(time.RFC3339), lifetime)
}

// recordShared writes code into key's record over the version read.
func (m *Mode) recordShared(ctx context.Context, rec keyRecord, key, code string, now time.Time) error {
	entries := m.liveShared(rec.entries, now)
	if len(entries) >= maxSharedCodes {
		return fmt.Errorf("%w: key %q has %d codes accepted within %s, as many as it holds; refusing rather than forgetting one",
			ErrSharedRecord, key, len(entries), m.cfg.CodeLifetime)
	}
	entries = append(entries, ratelimit.Code{Stamp: ratelimit.Stamp(now), Sum: m.sharedSum(key, code)})
	used := make([]string, 0, len(entries))
	for _, e := range entries {
		used = append(used, strconv.FormatInt(e.Stamp, 10)+" "+e.Sum)
	}
	body := map[string]any{
		"options": map[string]int{"cas": rec.version},
		"data":    map[string][]string{"used": used},
	}
	path := "/v1/" + m.sharedPath(key)
	if _, err := m.vault.PutJSON(ctx, path, body); err != nil {
		return fmt.Errorf("write shared record at %s: %w", m.vault.URL(path), m.explainShared(err))
	}
	return nil
}

// explainShared names KV's refusals; any other error goes on unchanged.
func (m *Mode) explainShared(err error) error {
	var ve *agent.VaultError
	switch {
	case !errors.As(err, &ve):
		return err
	case ve.Says(http.StatusBadRequest, msgCASMismatch):
		return ErrSharedRace
	case ve.Status == http.StatusForbidden:
		return fmt.Errorf("%w (revoked or expired, or its policy lacks read, create and update on %s)", ErrTokenRefused, m.sharedPath("*"))
	}
	return fmt.Errorf("%w: %w", ErrSharedRecord, err)
}
