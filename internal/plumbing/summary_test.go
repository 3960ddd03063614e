package plumbing

import (
	"errors"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// The summary's fields go through quote.Field (whose rule is pinned in
// TestFieldCannotBeForged): a space quotes the field.
func TestSummaryFieldsAreQuotedByQuoteField(t *testing.T) {
	got := (&loginReport{user: "alice smith", rhost: "192.0.2.1 x"}).line(loginEnd{requestIDs: []string{"a b"}})
	if want := `login allowed: rhost="192.0.2.1 x" user="alice smith" request_id="a b"`; got != want {
		t.Errorf("line = %s\nwant   %s", got, want)
	}
}

// The TOTP mode's answer names no IP: its lines have no otp_ip field.
func TestSummaryHasOTPIPOnlyInTheOTPMode(t *testing.T) {
	totp := (&loginReport{user: "alice", rhost: "192.0.2.1"}).line(loginEnd{err: errors.New("the code is not valid"), requestIDs: []string{"a", "b"}})
	if want := `login denied: rhost=192.0.2.1 user=alice request_id=a,b reason="the code is not valid"`; totp != want {
		t.Errorf("TOTP line = %s\nwant        %s", totp, want)
	}
	otp := (&loginReport{user: "alice", rhost: "192.0.2.1", fields: []string{"otp_ip"}}).line(loginEnd{})
	if !strings.Contains(otp, " otp_ip=- ") {
		t.Errorf("OTP line without otp_ip: %s", otp)
	}
}

// The reason is cut before it is quoted, so a long one keeps its closing
// quote, well within the line's bound.
func TestSummaryReasonIsCutBeforeItIsQuoted(t *testing.T) {
	reason := strings.Repeat("r", 10*maxReason)
	got := (&loginReport{user: "alice", rhost: "192.0.2.1"}).line(loginEnd{err: errors.New(reason)})
	cut := quote.Cut(reason, maxReason)
	if want := `login denied: rhost=192.0.2.1 user=alice request_id=- reason="` + cut + `"`; got != want {
		t.Errorf("line = %.200s...\nwant   %.200s...", got, want)
	}
	if !strings.HasSuffix(cut, "[cut: 10240 bytes in all]") || len(cut) != maxReason {
		t.Errorf("reason cut to %d bytes: %.100q", len(cut), cut[len(cut)-40:])
	}
}
