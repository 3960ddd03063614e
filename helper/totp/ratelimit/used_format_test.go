package ratelimit

import (
	"slices"
	"strings"
	"testing"
)

const sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// TestParseState pins what the whole-file parser accepts (old files
// included) and, for the rest, why it refuses.
func TestParseState(t *testing.T) {
	cases := []struct {
		in   string
		want state
		err  string
	}{
		{in: "", want: state{}},
		{in: "1764470000\n", want: state{failures: []int64{1764470000}}},
		{in: "\nused 1764470000 " + sumA + "\n", want: state{used: []Code{{1764470000, sumA}}}},
		{in: "1 2\nused 3 " + sumA + "\nused 4 " + sumA + "\n", want: state{failures: []int64{1, 2}, used: []Code{{3, sumA}, {4, sumA}}}},
		{in: "\n", err: `field 1 "" is empty`},
		{in: "1764470000", err: "it does not end with a newline"},
		{in: "1\nused 1 " + sumA, err: "it does not end with a newline"},
		{in: "1\n\n", err: `line 2 "" does not start with "used "`},
		{in: "\n\nused 1 " + sumA + "\n", err: `line 2 "" does not start with "used "`},
		{in: "1\nUSED 1 " + sumA + "\n", err: `line 2 "USED 1 aaaaaaaaa..." does not start with "used "`},
		{in: "1\nused 1\n", err: `line 2 "used 1" has no code hash`},
		{in: "1\nused 01 " + sumA + "\n", err: `line 2 "used 01 aaaaaaaa..." has a time that has a leading zero`},
		{in: "1\nused  " + sumA + "\n", err: `line 2 "used  aaaaaaaaaa..." has a time that is empty`},
		{in: "1\nused 1 " + strings.ToUpper(sumA) + "\n", err: `line 2 "used 1 AAAAAAAAA..." has a code hash that is not 64 lowercase hex digits`},
		{in: "1\nused 1 " + sumA + "a\n", err: `line 2 "used 1 aaaaaaaaa..." has a code hash that is not 64 lowercase hex digits`},
		{in: "1\nused 1 " + sumA + " \n", err: `line 2 "used 1 aaaaaaaaa..." has a code hash that is not 64 lowercase hex digits`},
		{in: "1\nused 1 " + sumA + "\r\n", err: `line 2 "used 1 aaaaaaaaa..." has a code hash that is not 64 lowercase hex digits`},
		{in: "\n" + strings.Repeat("used 1 "+sumA+"\n", MaxUsedCodes+1), err: "it holds more than 100 used codes"},
		{in: strings.Repeat("1", maxStateSize+1), err: "it is larger than 9600 bytes"},
	}
	for _, c := range cases {
		got, err := parseState([]byte(c.in))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("parseState(%q): %v", c.in, err)
		case c.err == "" && (!slices.Equal(got.failures, c.want.failures) || !slices.Equal(got.used, c.want.used)):
			t.Errorf("parseState(%q) = %+v, want %+v", c.in, got, c.want)
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("parseState(%q) = %+v, %v\nwant error %q", c.in, got, err, c.err)
		}
	}
}

// The longest file the writer makes fits the reader's bound.
func TestLongestStateFits(t *testing.T) {
	st := state{failures: slices.Repeat([]int64{maxStamp}, MaxFailures), used: slices.Repeat([]Code{{maxStamp, sumA}}, MaxUsedCodes)}
	longest := formatState(st)
	if len(longest) != maxStateSize {
		t.Errorf("longest file %d bytes, bound %d", len(longest), maxStateSize)
	}
	if _, err := parseState(longest); err != nil {
		t.Error(err)
	}
}

// FuzzParseState: any content is refused in one line, or read as bounded
// failures and used codes that write back as the very same bytes.
func FuzzParseState(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseState(data)
		if err != nil {
			if st.failures != nil || st.used != nil {
				t.Fatalf("state %+v with error %v", st, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if len(st.failures) > MaxFailures || len(st.used) > MaxUsedCodes {
			t.Fatalf("%d failures, %d used accepted", len(st.failures), len(st.used))
		}
		for _, u := range st.used {
			if u.Stamp < 0 || u.Stamp > maxStamp || len(u.Sum) != sumHexLen {
				t.Fatalf("used %+v out of range", u)
			}
		}
		if back := formatState(st); string(back) != string(data) {
			t.Fatalf("%q read as %+v, written back as %q", data, st, back)
		}
	})
}
