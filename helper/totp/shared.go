package totp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
)

// The shared record (totp_used_codes_path): the codes accepted for a key
// on any host, kept in Vault's KV v2 at <mount>/data/<prefix>/<key>, so
// that a code let in on one host is refused on every other host too, and
// after any change of Vault's active node (KV is replicated storage, not
// the active node's memory). Each write names the version it read
// (check-and-set), so of two hosts racing with the same code one write
// fails and that host denies.
//
// The record holds, per accepted code, when it was accepted and
// HMAC-SHA256 under the key of totp_used_codes_key_file, which every host
// sharing the record holds and Vault never sees. Whoever can read the
// prefix learns which keys logged in and when, and nothing about the codes
// without that key; a plain or salted hash of a 6-digit code would give
// the code away in milliseconds, and a slow KDF only by a factor that a
// GPU overtakes within a code's life.

// Sentinels of the shared record; each denies.
var (
	// ErrUsedShared: the record says the code was accepted for the key
	// within its lifetime, on this or another host.
	ErrUsedShared = errors.New("code already accepted (shared record)")
	// ErrSharedRace: another login wrote the key's record between our
	// read and our write.
	ErrSharedRace = errors.New("another login changed the shared record of used codes at the same time")
	// ErrSharedRecord: the record cannot be read or written, or is not
	// what the helper writes.
	ErrSharedRecord = errors.New("the shared record of used codes is unusable")
)

// msgCASMismatch is KV v2's answer to a write whose cas is not the
// current version (Vault v1.14.0, word for word).
const msgCASMismatch = "check-and-set parameter did not match the current version"

// maxSharedCodes bounds a key's record, as ratelimit.MaxUsedCodes bounds
// the host's.
const maxSharedCodes = 100

// sharedRecord talks to the KV v2 record of one config.
type sharedRecord struct {
	vault    *agent.Client
	cfg      *UsedCodes
	lifetime time.Duration
}

// sharedEntry is one accepted code: when (unix seconds) and its HMAC.
type sharedEntry struct {
	stamp int64
	sum   string
}

// keyRecord is what a key's record held when read: its version (0 when
// there is none yet) and its entries.
type keyRecord struct {
	version int
	entries []sharedEntry
}

// Path is the API path of key's record.
func (r *sharedRecord) Path(key string) string {
	return r.cfg.Mount + "/data/" + r.cfg.Prefix + "/" + key
}

// policyPath is the least-privilege policy's path for every key.
func (r *sharedRecord) policyPath() string {
	return r.cfg.Mount + "/data/" + r.cfg.Prefix + "/*"
}

// sum is the record's form of code for key.
func (r *sharedRecord) sum(key, code string) string {
	m := hmac.New(sha256.New, []byte(r.cfg.Key.Reveal()))
	m.Write([]byte("vault-ssh-helper used TOTP code\x00"))
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

type kvData struct {
	Data *struct {
		Used *[]string `json:"used"`
	} `json:"data"`
	Metadata *struct {
		Version *int `json:"version"`
	} `json:"metadata"`
}

// read gets key's record; no record yet is version 0.
func (r *sharedRecord) read(ctx context.Context, key string) (keyRecord, error) {
	path := "/v1/" + r.Path(key)
	body, err := r.vault.Get(ctx, path)
	var ve *agent.VaultError
	if errors.As(err, &ve) && ve.Status == http.StatusNotFound && len(ve.Messages) == 0 {
		return keyRecord{}, nil
	}
	var rec keyRecord
	if err == nil {
		rec, err = decodeRecord(body)
	}
	if err != nil {
		return keyRecord{}, fmt.Errorf("read shared record at %s: %w", r.vault.URL(path), r.explain(err, key))
	}
	return rec, nil
}

func decodeRecord(body []byte) (keyRecord, error) {
	var d kvData
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
		e, ok := parseSharedEntry(s)
		if !ok {
			return keyRecord{}, fmt.Errorf("%w: entry %d is not \"<unix time> <64 hex digits>\"", ErrSharedRecord, i+1)
		}
		rec.entries = append(rec.entries, e)
	}
	return rec, nil
}

func parseSharedEntry(s string) (sharedEntry, bool) {
	field, sum, ok := strings.Cut(s, " ")
	if !ok || field == "" || len(field) > 12 || strings.Trim(field, "0123456789") != "" || (len(field) > 1 && field[0] == '0') {
		return sharedEntry{}, false
	}
	if len(sum) != 2*sha256.Size || strings.Trim(sum, "0123456789abcdef") != "" {
		return sharedEntry{}, false
	}
	stamp, err := strconv.ParseInt(field, 10, 64)
	return sharedEntry{stamp: stamp, sum: sum}, err == nil
}

// live keeps the entries still inside the lifetime at now; one stamped
// later than now (a host's clock ahead) counts from now.
func (r *sharedRecord) live(entries []sharedEntry, now time.Time) []sharedEntry {
	var keep []sharedEntry
	for _, e := range entries {
		at := time.Unix(min(e.stamp, now.Unix()), 0)
		if now.Before(at.Add(r.lifetime)) {
			keep = append(keep, e)
		}
	}
	return keep
}

// check refuses code when the record holds it within the lifetime.
func (r *sharedRecord) check(rec keyRecord, key, code string, now time.Time) error {
	sum := r.sum(key, code)
	for _, e := range r.live(rec.entries, now) {
		if hmac.Equal([]byte(e.sum), []byte(sum)) {
			accepted := time.Unix(e.stamp, 0).UTC()
			return fmt.Errorf("%w for key %q at %s; it stays refused until %s (totp_code_lifetime %s)",
				ErrUsedShared, key, accepted.Format(time.RFC3339), accepted.Add(r.lifetime).Format(time.RFC3339), r.lifetime)
		}
	}
	return nil
}

// record writes code into key's record over the version read, with
// check-and-set: it succeeds only if nobody wrote since.
func (r *sharedRecord) record(ctx context.Context, rec keyRecord, key, code string, now time.Time) error {
	entries := r.live(rec.entries, now)
	if len(entries) >= maxSharedCodes {
		return fmt.Errorf("%w: key %q has %d codes accepted within %s, as many as it holds; refusing rather than forgetting one",
			ErrSharedRecord, key, len(entries), r.lifetime)
	}
	entries = append(entries, sharedEntry{stamp: ceilSecond(now), sum: r.sum(key, code)})
	used := make([]string, 0, len(entries))
	for _, e := range entries {
		used = append(used, strconv.FormatInt(e.stamp, 10)+" "+e.sum)
	}
	body := map[string]any{
		"options": map[string]int{"cas": rec.version},
		"data":    map[string][]string{"used": used},
	}
	path := "/v1/" + r.Path(key)
	if _, err := r.vault.PutJSON(ctx, path, body); err != nil {
		return fmt.Errorf("write shared record at %s: %w", r.vault.URL(path), r.explain(err, key))
	}
	return nil
}

// explain names KV's refusals; any other error goes on unchanged.
func (r *sharedRecord) explain(err error, key string) error {
	var ve *agent.VaultError
	if !errors.As(err, &ve) {
		return err
	}
	switch {
	case ve.Says(http.StatusBadRequest, msgCASMismatch):
		return ErrSharedRace
	case ve.Status == http.StatusForbidden:
		return fmt.Errorf("%w (revoked or expired, or its policy lacks read, create and update on %s)", ErrTokenRefused, r.policyPath())
	}
	return fmt.Errorf("%w: %w", ErrSharedRecord, err)
}

// ceilSecond rounds now up to the second, so a code is never refused for
// less than the lifetime.
func ceilSecond(now time.Time) int64 {
	s := now.Unix()
	if now.Nanosecond() != 0 {
		s++
	}
	return s
}
