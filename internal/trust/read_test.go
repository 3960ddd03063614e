package trust

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// readAtMost returns the whole file whatever size fstat said (it may have
// grown or shrunk since), and never more than max+1 bytes, so ReadFile can
// refuse a file larger than max.
func TestReadAtMostReadsWhatIsThereUpToMaxPlusOne(t *testing.T) {
	const max = 8
	for _, c := range []struct {
		content string
		size    int64
		want    string
	}{
		{"", 0, ""},
		{"abc", 3, "abc"},
		{"abc", 0, "abc"},           // grew since fstat
		{"abc", 100, "abc"},         // shrank since fstat
		{"abcdefgh", 8, "abcdefgh"}, // exactly max
		{"abcdefghij", 10, "abcdefghi"},
		{"abcdefghij", 2, "abcdefghi"},
		{"abc", -1, "abc"},
	} {
		got, err := readAtMost(strings.NewReader(c.content), c.size, max)
		if err != nil || string(got) != c.want {
			t.Errorf("%q (size %d) = %q, %v; want %q", c.content, c.size, got, err, c.want)
		}
		got, err = readAtMost(iotest.OneByteReader(strings.NewReader(c.content)), c.size, max)
		if err != nil || string(got) != c.want {
			t.Errorf("%q one byte at a time (size %d) = %q, %v; want %q", c.content, c.size, got, err, c.want)
		}
	}
}

func TestReadAtMostPassesOnAReadError(t *testing.T) {
	boom := errors.New("boom")
	r := iotest.DataErrReader(iotest.ErrReader(boom))
	if got, err := readAtMost(r, 3, 8); !errors.Is(err, boom) || got != nil {
		t.Errorf("readAtMost(failing) = %q, %v; want nil, %v", got, err, boom)
	}
	if got, err := readAtMost(bytes.NewReader(nil), 3, 8); err != nil || len(got) != 0 {
		t.Errorf("readAtMost(empty) = %q, %v", got, err)
	}
}
