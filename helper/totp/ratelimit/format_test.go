package ratelimit

import (
	"slices"
	"strings"
	"testing"
)

// TestParseFailures pins what the parser accepts of a file of failures alone
// (the old format) and, for the rest, the part of the "is corrupt" message
// that says why.
func TestParseFailures(t *testing.T) {
	cases := []struct {
		in   string
		want []int64
		err  string
	}{
		{in: "", want: nil},
		{in: "0\n", want: []int64{0}},
		{in: "1764470000\n", want: []int64{1764470000}},
		{in: "1764470020 1764470000 999999999999\n", want: []int64{1764470020, 1764470000, 999999999999}},
		{in: strings.Repeat("1 ", 99) + "1\n", want: slices.Repeat([]int64{1}, 100)},
		{in: "1764470000", err: "it does not end with a newline"},
		{in: "\n", err: `field 1 "" is empty`},
		{in: " 1\n", err: `field 1 "" is empty`},
		{in: "1 \n", err: `field 2 "" is empty`},
		{in: "1  2\n", err: `field 2 "" is empty`},
		{in: "1\t2\n", err: `field 1 "1\t2" is not a unix time in decimal digits`},
		{in: "1\r\n", err: `field 1 "1\r" is not a unix time in decimal digits`},
		{in: "-1\n", err: `field 1 "-1" is not a unix time in decimal digits`},
		{in: "+1\n", err: `field 1 "+1" is not a unix time in decimal digits`},
		{in: "١٢٣\n", err: `field 1 "١٢٣" is not a unix time in decimal digits`},
		{in: "01\n", err: `field 1 "01" has a leading zero`},
		{in: "1000000000000\n", err: `field 1 "1000000000000" has more than 12 digits`},
		{in: "99999999999999999999999\n", err: `field 1 "9999999999999999..." has more than 12 digits`},
		{in: strings.Repeat("1 ", 100) + "1\n", err: "it holds more than 100 times"},
		{in: strings.Repeat("1", 1300) + "\n", err: "it is larger than 1300 bytes"},
	}
	for _, c := range cases {
		st, err := parseState([]byte(c.in))
		got := st.failures
		switch {
		case c.err == "" && err != nil:
			t.Errorf("parseState(%q): %v", c.in, err)
		case c.err == "" && !slices.Equal(got, c.want):
			t.Errorf("parseState(%q) = %v, want %v", c.in, got, c.want)
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("parseState(%q) = %v, %v\nwant error %q", c.in, got, err, c.err)
		}
	}
}

// The longest file the writer makes fits the reader's bound.
func TestLongestFileFits(t *testing.T) {
	longest := formatState(state{failures: slices.Repeat([]int64{maxStamp}, MaxFailures)})
	if len(longest) != maxFileSize {
		t.Errorf("longest file %d bytes, bound %d", len(longest), maxFileSize)
	}
	if _, err := parseState(longest); err != nil {
		t.Error(err)
	}
}

// FuzzParseStamps: any content is either refused, in one line, or read as at most
// MaxFailures times within range that write back as the very same bytes, so
// nothing the parser accepts is silently reinterpreted. Its seeds are files
// of failures alone; FuzzParseState's hold used codes too.
func FuzzParseStamps(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseState(data)
		stamps := st.failures
		if err != nil {
			if stamps != nil {
				t.Fatalf("stamps %v with error %v", stamps, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if len(stamps) > MaxFailures {
			t.Fatalf("%d stamps accepted", len(stamps))
		}
		for _, s := range stamps {
			if s < 0 || s > maxStamp {
				t.Fatalf("stamp %d out of range", s)
			}
		}
		if back := formatState(st); string(back) != string(data) {
			t.Fatalf("%q read as %v, written back as %q", data, stamps, back)
		}
	})
}
