package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
)

// The state file is empty (no failures) or one line: the unix times, in
// seconds, of the user's failures, separated by single spaces and ended by a
// newline, e.g. "1764470000 1764470012\n". The newline is written last, so a
// write cut short leaves a file the parser refuses instead of fewer
// failures. Nothing else is accepted; the parser is strict so that a damaged
// file is noticed (and the user denied) instead of silently counting zero.
const (
	// maxStampDigits allows times up to the year 33658: no clock gets there,
	// and it keeps every field's value far from int64 overflow.
	maxStampDigits = 12
	// maxFileSize is the longest file MaxFailures stamps make.
	maxFileSize = MaxFailures * (maxStampDigits + 1)
	// maxStamp is the largest time maxStampDigits hold.
	maxStamp = 999_999_999_999
)

// parseStamps reads a state file's content. The error says what is wrong,
// without the path; the caller adds it.
func parseStamps(data []byte) ([]int64, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("it is larger than %d bytes", maxFileSize)
	}
	line, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return nil, fmt.Errorf("it does not end with a newline")
	}
	fields := strings.Split(line, " ")
	if len(fields) > MaxFailures {
		return nil, fmt.Errorf("it holds more than %d times", MaxFailures)
	}
	stamps := make([]int64, 0, len(fields))
	for i, f := range fields {
		s, err := parseStamp(f)
		if err != nil {
			return nil, fmt.Errorf("field %d %q %v", i+1, clip(f), err)
		}
		stamps = append(stamps, s)
	}
	return stamps, nil
}

func parseStamp(f string) (int64, error) {
	switch {
	case f == "":
		return 0, fmt.Errorf("is empty")
	case len(f) > maxStampDigits:
		return 0, fmt.Errorf("has more than %d digits", maxStampDigits)
	case strings.Trim(f, "0123456789") != "":
		return 0, fmt.Errorf("is not a unix time in decimal digits")
	case len(f) > 1 && f[0] == '0':
		return 0, fmt.Errorf("has a leading zero")
	}
	return strconv.ParseInt(f, 10, 64)
}

// formatStamps is parseStamps' inverse.
func formatStamps(stamps []int64) []byte {
	if len(stamps) == 0 {
		return nil
	}
	b := make([]byte, 0, len(stamps)*(maxStampDigits+1))
	for i, s := range stamps {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, s, 10)
	}
	return append(b, '\n')
}

// clip keeps a corrupt field short in the message.
func clip(f string) string {
	if len(f) > 16 {
		return f[:16] + "..."
	}
	return f
}
