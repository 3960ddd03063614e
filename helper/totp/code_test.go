package totp

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

// readCode is the mode's ReadPassword.
func readCode(r io.Reader) (string, error) { return (&Mode{}).ReadPassword(r) }

func TestCodeIsSixOrEightASCIIDigitsAfterTrimming(t *testing.T) {
	for in, want := range map[string]string{
		"123456":                           "123456",
		"12345678":                         "12345678",
		"000000":                           "000000",
		" 123456\n":                        "123456",
		"123456\x00":                       "123456",
		"\t\x1b[200~ 654321 \x1b[201~\r\n": "654321",
		"\u00a0123456\u3000":               "123456",
	} {
		got, err := readCode(strings.NewReader(in))
		if err != nil || got != want {
			t.Errorf("readCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestAnythingButACodeIsRefusedBeforeAnyTraffic(t *testing.T) {
	for _, in := range []string{
		"12345", "1234567", "123456789", "12 3456", "123-456", "+12345", "-12345", "12345a", "0x1234",
		"１２３４５６",                               // fullwidth digits
		"١٢٣٤٥٦",                               // Arabic-Indic digits
		"१२३४५६",                               // Devanagari digits
		"12345\u0660",                          // one Arabic-Indic zero
		"٤٩٢",                                  // 3 Arabic-Indic digits: 6 bytes
		"١٢٣٤",                                 // 4 Arabic-Indic digits: 8 bytes
		"\xff\xfe\xfd\xfc\xfb\xfa",             // 6 bytes that are not UTF-8
		"6c1a8e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b", // an SSH OTP
		"correct horse", "123456\n123456", "\x1b[200~123456", "123456\x00\x00",
		// 6 and 8 bytes with a non-digit inside: the length passes, so
		// only the digit check can refuse them.
		"12 456", "123 4 56", "1234a678", "12\t456", "1234\x00678", "123:56", "1234567/", "/1234567",
	} {
		if got, err := readCode(strings.NewReader(in)); !errors.Is(err, ErrNotCode) || got != "" {
			t.Errorf("readCode(%q) = %q, %v; want ErrNotCode", in, got, err)
		}
	}
	// The message, pinned once: it never carries the input.
	if want := "password is not a TOTP code (6 or 8 ASCII digits)"; ErrNotCode.Error() != want {
		t.Errorf("ErrNotCode = %q, want %q", ErrNotCode, want)
	}
}

func TestEmptyOrOversizedInputKeepsTheSharedReasons(t *testing.T) {
	if _, err := readCode(strings.NewReader(" \n")); !errors.Is(err, helper.ErrPasswordEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := readCode(strings.NewReader(strings.Repeat("1", helper.MaxPasswordInput+1))); !errors.Is(err, helper.ErrPasswordTooLong) {
		t.Errorf("oversized: %v", err)
	}
}
