package agent

import (
	"errors"
	"strings"
	"testing"
)

// otp is a made-up OTP in Vault's UUID shape.
const otp = "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3a"

func TestWithoutSecretHidesTheOTPInAnyCase(t *testing.T) {
	upper := strings.ToUpper(otp)
	base := errors.New("Vault answered 400: bad request: {\"otp\":\"" + otp + "\"} and " + upper)
	err := WithoutSecret(base, otp, "<the OTP>")
	want := `Vault answered 400: bad request: {"otp":"<the OTP>"} and <the OTP>`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if !errors.Is(err, base) {
		t.Error("the redacted error no longer wraps the original")
	}
}

func TestWithoutSecretLeavesOtherErrorsAlone(t *testing.T) {
	base := errors.New("a denial without the OTP in it")
	if err := WithoutSecret(base, otp, "<the OTP>"); err != base {
		t.Errorf("an error without the OTP was changed: %v", err)
	}
	if err := WithoutSecret(nil, otp, "<the OTP>"); err != nil {
		t.Errorf("nil became %v", err)
	}
	if err := WithoutSecret(base, "", "<the OTP>"); err != base {
		t.Errorf("an empty OTP changed the error: %v", err)
	}
}
