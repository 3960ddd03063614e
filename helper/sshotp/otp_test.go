package sshotp

import (
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vault-ssh-helper/vault-ssh-helper/helper"
)

const otp = "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3a"

// ReadOTP is the mode's ReadPassword, which uses no settings.
func ReadOTP(r io.Reader) (string, error) { return (&Mode{}).ReadPassword(r) }

func TestReadOTPAcceptsWhatPAMHandsOver(t *testing.T) {
	cases := map[string]string{
		"exact bytes (Linux-PAM >= 1.4.0)": otp,
		"one trailing NUL (older PAM)":     otp + "\x00",
		"upper case":                       strings.ToUpper(otp),
		"trailing newline":                 otp + "\n",
		"surrounding spaces":               "  " + otp + "\t",
		"bracketed paste":                  "\x1b[200~" + otp + "\x1b[201~",
		"bracketed paste and NUL":          "\x1b[200~" + otp + "\x1b[201~\x00",
		"spaces inside the paste markers":  "\x1b[200~ " + otp + "\n\x1b[201~",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ReadOTP(strings.NewReader(in))
			if err != nil {
				t.Fatalf("ReadOTP: %v", err)
			}
			if !strings.EqualFold(got, otp) {
				t.Errorf("got %q", got)
			}
		})
	}
}

func TestReadOTPRefusesWhatIsNotAnOTP(t *testing.T) {
	cases := []struct {
		name, in string
		want     error
	}{
		{"empty password (0 bytes)", "", helper.ErrPasswordEmpty},
		{"only a NUL", "\x00", helper.ErrPasswordEmpty},
		{"an ordinary password", "hunter2", ErrNotOTPShape},
		{"two trailing NULs", otp + "\x00\x00", ErrNotOTPShape},
		{"NUL inside", otp[:10] + "\x00" + otp[11:], ErrNotOTPShape},
		{"one character short", otp[:35], ErrNotOTPShape},
		{"one character long", otp + "a", ErrNotOTPShape},
		{"dash misplaced", "9f5c7c3e0-b1e-4b9e-8d7a-6f2e1c0d4b3a", ErrNotOTPShape},
		{"non-hex letter", "9f5c7c3e-0b1e-4b9e-8d7a-6f2e1c0d4b3g", ErrNotOTPShape},
		{"braces", "{" + otp[1:35] + "}", ErrNotOTPShape},
		{"unclosed paste", "\x1b[200~" + otp, ErrNotOTPShape},
		{"two OTPs", otp + " " + otp, ErrNotOTPShape},
		{"512 bytes", strings.Repeat("a", 512), ErrNotOTPShape},
		{"513 bytes", strings.Repeat("a", 513), helper.ErrPasswordTooLong},
		{"a megabyte", strings.Repeat("a", 1<<20), helper.ErrPasswordTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadOTP(strings.NewReader(c.in))
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestReadOTPErrorsNeverCarryTheInput(t *testing.T) {
	for _, in := range []string{"hunter2-secret", otp + "x", strings.Repeat("s", 600)} {
		_, err := ReadOTP(strings.NewReader(in))
		if err == nil || strings.Contains(err.Error(), in[:6]) {
			t.Errorf("err %v for input %q", err, in[:6])
		}
	}
}

func TestReadOTPReportsAReadError(t *testing.T) {
	_, err := ReadOTP(iotest.ErrReader(io.ErrClosedPipe))
	if !errors.Is(err, io.ErrClosedPipe) || !strings.Contains(err.Error(), "read password from stdin") {
		t.Errorf("err = %v", err)
	}
}

func TestReadOTPReadsAtMostOneByteBeyondTheLimit(t *testing.T) {
	r := strings.NewReader(strings.Repeat("a", 10_000))
	ReadOTP(r)
	if consumed := 10_000 - r.Len(); consumed > helper.MaxPasswordInput+1 {
		t.Errorf("read %d bytes", consumed)
	}
}

// uuidShape and pamWrapping are FuzzReadOTP's oracle, written apart from
// isUUID and helper's trimming: the input a PAM stack or a terminal hands
// over around an OTP, with white space as the regexp package knows it (a
// subset of what ReadPassword trims).
var (
	uuidShape   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	pamWrapping = regexp.MustCompile(`^\s*(?:\x1b\[200~\s*([0-9a-fA-F-]{36})\s*\x1b\[201~|([0-9a-fA-F-]{36}))\s*\x00?$`)
)

// FuzzReadOTP: whatever ReadOTP accepts has the UUID shape and was typed;
// whatever the oracle reads as an OTP wrapped as PAM hands it over,
// ReadOTP accepts as exactly that OTP.
func FuzzReadOTP(f *testing.F) {
	f.Add([]byte(otp))
	f.Add([]byte(otp + "\x00"))
	f.Add([]byte(" \x1b[200~" + otp + "\x1b[201~\n\x00"))
	f.Add([]byte(otp[:35] + "g"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ReadOTP(strings.NewReader(string(in)))
		if err != nil && got != "" {
			t.Fatalf("error %v with a value", err)
		}
		if err == nil && (!uuidShape.MatchString(got) || !strings.Contains(string(in), got)) {
			t.Fatalf("accepted %q from %q", got, in)
		}
		m := pamWrapping.FindStringSubmatch(string(in))
		if m == nil {
			return
		}
		want := m[1] + m[2]
		if !uuidShape.MatchString(want) {
			if err == nil {
				t.Fatalf("accepted %q, which is not a UUID", got)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("ReadOTP(%q) = %q, %v; want %q", in, got, err, want)
		}
	})
}

// A 36-character password that is not an OTP must never be sent to Vault:
// every letter past f, in either case, is refused where a hex digit belongs.
func TestReadOTPRefusesEveryLetterPastF(t *testing.T) {
	for c := 'g'; c <= 'z'; c++ {
		for _, letter := range []string{string(c), strings.ToUpper(string(c))} {
			in := otp[:35] + letter
			if _, err := ReadOTP(strings.NewReader(in)); !errors.Is(err, ErrNotOTPShape) {
				t.Errorf("ReadOTP(%q) = %v, want ErrNotOTPShape", in, err)
			}
		}
	}
}
