package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// otp is a made-up OTP in Vault's UUID shape.
const otp = "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3a"

func TestWithoutSecretsHidesTheOTPInAnyCase(t *testing.T) {
	upper := strings.ToUpper(otp)
	base := errors.New("Vault answered 400: bad request: {\"otp\":\"" + otp + "\"} and " + upper)
	err := withoutOne(base, otp)
	want := `Vault answered 400: bad request: {"otp":"<the OTP>"} and <the OTP>`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if !errors.Is(err, base) {
		t.Error("the redacted error no longer wraps the original")
	}
}

func TestWithoutSecretsLeavesOtherErrorsAlone(t *testing.T) {
	base := errors.New("a denial without the OTP in it")
	if err := withoutOne(base, otp); err != base {
		t.Errorf("an error without the OTP was changed: %v", err)
	}
	if err := withoutOne(nil, otp); err != nil {
		t.Errorf("nil became %v", err)
	}
	if err := withoutOne(base, ""); err != base {
		t.Errorf("an empty OTP changed the error: %v", err)
	}
}

// withoutOne is WithoutSecrets with s, marked "<the OTP>", as the one secret.
func withoutOne(err error, s string) error {
	return WithoutSecrets(WithSecrets(context.Background(), Secret{Value: s, Mark: "<the OTP>"}), err)
}
