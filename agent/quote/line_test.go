package quote

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// A value stands bare only when nothing in it can end it or start another
// field; anything else is quoted onto one line, so a user name (whatever the
// client typed) cannot forge a field or a line.
func TestFieldCannotBeForged(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "-",
		"-":                       `"-"`,
		"alice":                   "alice",
		"alice.b-c_d@EXAMPLE":     "alice.b-c_d@EXAMPLE",
		"2001:db8::1":             "2001:db8::1",
		"a,b":                     "a,b",
		"a b":                     `"a b"`,
		"a=b":                     `"a=b"`,
		"a\tb":                    `"a\tb"`,
		"x rhost=198.51.100.9":    `"x rhost=198.51.100.9"`,
		"x\nvault-ssh-helper[1]:": `"x\nvault-ssh-helper[1]:"`,
		`a"b`:                     `"a\"b"`,
		"é":                       `"é"`,
	} {
		if got := Field(in); got != want {
			t.Errorf("Field(%q) = %s, want %s", in, got, want)
		}
	}
}

// A field drops secrets and is cut like any outside text.
func TestFieldDropsSecretsAndCuts(t *testing.T) {
	if got, want := Field("alice-123456", Secret{"123456", "<code>"}), `"alice-<code>"`; got != want {
		t.Errorf("Field = %s, want %s", got, want)
	}
	long := strings.Repeat("a", 100_000)
	want := `"` + long[:MaxLen] + fmt.Sprintf(CutMark, len(long)) + `"`
	if got := Field(long); got != want {
		t.Errorf("Field of 100,000 bytes = %.300s..., want %.300s...", got, want)
	}
}

func TestCutBoundsTheWholeText(t *testing.T) {
	for _, n := range []int{0, 1, 100, 4095, 4096, 4097, 100_000} {
		for _, unit := range []string{"a", "é", "€"} {
			s := strings.Repeat(unit, n)
			got := Cut(s, MaxLine)
			if len(got) > MaxLine || !utf8.ValidString(got) {
				t.Errorf("Cut(%d × %q) is %d bytes (valid UTF-8: %t)", n, unit, len(got), utf8.ValidString(got))
			}
			if len(s) <= MaxLine && got != s {
				t.Errorf("Cut changed a text that fits (%d × %q)", n, unit)
			}
			if mark := fmt.Sprintf(CutMark, len(s)); len(s) > MaxLine && !strings.HasSuffix(got, mark) {
				t.Errorf("Cut(%d × %q) does not end with %q", n, unit, mark)
			}
		}
	}
}

func TestBoundLinesCutsEachLine(t *testing.T) {
	short := "a short line\n"
	long := strings.Repeat("b", 10_000)
	in := short + long + "\n" + short + long
	got := string(BoundLines([]byte(in)))
	lines := strings.Split(got, "\n")
	if len(lines) != 4 || lines[0]+"\n" != short || lines[2]+"\n" != short {
		t.Fatalf("lines kept or lost: %d lines: %.200q", len(lines), got)
	}
	for i, line := range lines {
		if len(line) > MaxLine {
			t.Errorf("line %d is %d bytes", i, len(line))
		}
	}
	if want := long[:MaxLine-len(fmt.Sprintf(CutMark, len(long)))] + fmt.Sprintf(CutMark, len(long)); lines[1] != want {
		t.Errorf("line 1 = %.100q..., want %.100q...", lines[1], want)
	}
	fits := []byte(strings.Repeat(short, 1000))
	if got := BoundLines(fits); &got[0] != &fits[0] {
		t.Error("BoundLines copied a write whose lines all fit")
	}
}
