package agent_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent"
	"github.com/vault-ssh-helper/vault-ssh-helper/helper/sshotp"
)

// vaultError asserts err is a *agent.VaultError and returns it.
func vaultError(t *testing.T, err error) *agent.VaultError {
	t.Helper()
	var ve *agent.VaultError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *agent.VaultError", err, err)
	}
	return ve
}

func TestVerifyReturnsOTPNotFoundOnVaultsFourHundred(t *testing.T) {
	t.Parallel()
	srv, rec := serveHTTP(t, answer(400, `{"errors":["OTP not found"]}`))
	v, err := verify(t, hcl(srv.URL))
	if !errors.Is(err, sshotp.ErrOTPNotFound) {
		t.Fatalf("Verify error = %v, want ErrOTPNotFound", err)
	}
	if v != (sshotp.Verified{}) {
		t.Errorf("Verify returned %+v with an error", v)
	}
	var ve *agent.VaultError
	if errors.As(err, &ve) {
		t.Errorf("OTP not found also reads as a VaultError: %v", ve)
	}
	if rec.count() != 1 {
		t.Errorf("Vault received %d requests, want 1", rec.count())
	}
}

func TestVerifyFindsOTPNotFoundAmongSeveralMessages(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(400, `{"errors":["1 error occurred","OTP not found"]}`))
	if _, err := verify(t, hcl(srv.URL)); !errors.Is(err, sshotp.ErrOTPNotFound) {
		t.Fatalf("Verify error = %v, want ErrOTPNotFound", err)
	}
}

func TestVerifyTreatsOTPNotFoundOnAnotherStatusAsAVaultError(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(500, `{"errors":["OTP not found"]}`))
	_, err := verify(t, hcl(srv.URL))
	if errors.Is(err, sshotp.ErrOTPNotFound) {
		t.Fatalf("a 500 read as ErrOTPNotFound: %v", err)
	}
	if ve := vaultError(t, err); ve.Status != 500 {
		t.Errorf("Status = %d, want 500", ve.Status)
	}
}

func TestVerifyReturnsOtherFourHundredsAsVaultError(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(400, `{"errors":["missing otp"]}`))
	_, err := verify(t, hcl(srv.URL))
	if errors.Is(err, sshotp.ErrOTPNotFound) {
		t.Fatalf("a different 400 read as ErrOTPNotFound: %v", err)
	}
	ve := vaultError(t, err)
	if ve.Status != 400 || !reflect.DeepEqual(ve.Messages, []string{"missing otp"}) {
		t.Errorf("VaultError = %+v", ve)
	}
}

func TestVerifyReturnsPermissionDeniedAsVaultErrorFourOhThree(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(403, `{"errors":["permission denied"]}`))
	_, err := verify(t, hcl(srv.URL))
	ve := vaultError(t, err)
	if ve.Status != 403 || !reflect.DeepEqual(ve.Messages, []string{"permission denied"}) {
		t.Errorf("VaultError = %+v, want {403 [permission denied]}", ve)
	}
	if !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "403") {
		t.Errorf("message %q should name the status and Vault's words", err)
	}
	if !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("message %q should name the Vault address %s", err, srv.URL)
	}
}

func TestVerifyReturnsAWrongMountAsVaultErrorFourOhFour(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(404, `{"errors":["no handler for route \"nope/verify\". route entry not found."]}`))
	_, err := verify(t, hcl(srv.URL, `ssh_mount_point = "nope"`))
	if ve := vaultError(t, err); ve.Status != 404 {
		t.Errorf("Status = %d, want 404", ve.Status)
	}
	if !strings.Contains(err.Error(), "/v1/nope/verify") {
		t.Errorf("message %q should name the path it tried", err)
	}
}

func TestVerifyReturnsSealedVaultAsVaultErrorFiveOhThree(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(503, `{"errors":["Vault is sealed"]}`))
	_, err := verify(t, hcl(srv.URL))
	ve := vaultError(t, err)
	if ve.Status != 503 || !reflect.DeepEqual(ve.Messages, []string{"Vault is sealed"}) {
		t.Errorf("VaultError = %+v, want {503 [Vault is sealed]}", ve)
	}
}

func TestVerifyKeepsANonJSONErrorBodyAsTheMessage(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		w.Write([]byte("<html><body>502 Bad Gateway from the load balancer</body></html>\n"))
	})
	_, err := verify(t, hcl(srv.URL))
	ve := vaultError(t, err)
	want := []string{"<html><body>502 Bad Gateway from the load balancer</body></html>"}
	if ve.Status != 500 || !reflect.DeepEqual(ve.Messages, want) {
		t.Errorf("VaultError = %+v, want {500 %q}", ve, want)
	}
}

// Vault's words are kept whole for Says; only the message is cut, after
// the secrets are out (the cut's mark is pinned in quote's tests).
func TestVerifyShortensALongNonJSONErrorBodyInTheMessageOnly(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	srv, _ := serveHTTP(t, answer(502, long))
	_, err := verify(t, hcl(srv.URL))
	ve := vaultError(t, err)
	if len(ve.Messages) != 1 || ve.Messages[0] != long {
		t.Errorf("Messages = %d bytes, want the %d-byte body whole", len(strings.Join(ve.Messages, "")), len(long))
	}
	if n := len(err.Error()); n > 512 {
		t.Errorf("a %d-byte body made a %d-byte message", len(long), n)
	}
}

func TestVerifyReportsAnEmptyErrorBodyByStatusAlone(t *testing.T) {
	t.Parallel()
	srv, _ := serveHTTP(t, answer(500, ""))
	_, err := verify(t, hcl(srv.URL))
	ve := vaultError(t, err)
	if ve.Status != 500 || len(ve.Messages) != 0 {
		t.Errorf("VaultError = %+v, want {500 []}", ve)
	}
	if ve.Error() != "Vault answered 500" {
		t.Errorf("Error() = %q", ve.Error())
	}
}

// The agent hands Vault's words on unchanged; main's logger escapes control
// characters when it writes the line. This pins that nothing is lost or
// rewritten on the way, so the log shows what Vault really said.
func TestVerifyPassesErrorsWithControlCharactersThroughUnchanged(t *testing.T) {
	t.Parallel()
	msg := "bad\nthing\r\x1b[31m\x00end"
	srv, _ := serveHTTP(t, answer(500, `{"errors":["bad\nthing\r\u001b[31m\u0000end"]}`))
	_, err := verify(t, hcl(srv.URL))
	ve := vaultError(t, err)
	if !reflect.DeepEqual(ve.Messages, []string{msg}) {
		t.Errorf("Messages = %q, want [%q]", ve.Messages, msg)
	}
}

func TestVerifyRefusesARedirectLoopAfterOneHop(t *testing.T) {
	t.Parallel()
	// vault/api follows one redirect; the guard refuses the second.
	srv, rec := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/v1/ssh/verify")
		w.WriteHeader(307)
	})
	v, err := verify(t, hcl(srv.URL))
	denies(t, v, err, agent.ErrSecondRedirectForTest)
	if n := rec.count(); n != 2 {
		t.Errorf("server received %d requests, want 2 (one redirect followed)", n)
	}
}

func TestVaultErrorMessageJoinsVaultsMessages(t *testing.T) {
	t.Parallel()
	e := &agent.VaultError{Status: 500, Messages: []string{"one", "two"}}
	if got := e.Error(); got != "Vault answered 500: one; two" {
		t.Errorf("Error() = %q", got)
	}
}
