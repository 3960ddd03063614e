package quote

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Secret is a value no message may carry, and the mark written in its place
// ("<the OTP>").
type Secret struct {
	Value string
	Mark  string
}

// run is how many characters of a secret in a row count as an echo of it
// (a server may echo part, a cut may leave part): eight characters of a
// random secret are never there by chance. A shorter secret counts whole.
const run = 8

// Redact replaces every echo of each secret in s with the secret's mark. An
// echo is any run of `run` characters of the secret (the whole secret when
// it is shorter) in the forms a server writes it back: in any letter case,
// with or without dashes, percent-encoded (%39), JSON-escaped (\u0039, \n),
// split by white space or line breaks, or any mix of these. s is read with
// escapes decoded and not: an escape-like text just before a literal echo
// (`\u00` then the secret) must not hide it.
func Redact(s string, secrets ...Secret) string {
	var spans []span
	readings := [][]unit{units(s, false), units(s, true)}
	for _, sec := range secrets {
		u := units(sec.Value, false)
		k := min(run, len(u))
		if k == 0 {
			continue
		}
		want := make(map[gram]bool)
		for i := 0; i+k <= len(u); i++ {
			want[gramAt(u, i, k)] = true
		}
		for _, text := range readings {
			for i := 0; i+k <= len(text); i++ {
				if want[gramAt(text, i, k)] {
					spans = append(spans, span{start: text[i].start, end: text[i+k-1].end, mark: sec.Mark})
				}
			}
		}
	}
	if len(spans) == 0 {
		return s
	}
	return replace(s, spans)
}

// unit is one character as compared with a secret, and its bytes in the text.
type unit struct {
	r          rune
	start, end int
}

// units reads s as comparable characters: lower case, without the dashes
// and white space an echo may add or drop. With decode, escapes count as
// the character they stand for.
func units(s string, decode bool) []unit {
	out := make([]unit, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if decode {
			r, n = decodeEscape(s[i:], r, n)
		}
		if r != '-' && !unicode.IsSpace(r) {
			out = append(out, unit{r: unicode.ToLower(r), start: i, end: i + n})
		}
		i += n
	}
	return out
}

// decodeEscape reads a percent-encoded byte or a JSON escape at the start of
// s; r and n are the plain reading, kept when there is no escape.
func decodeEscape(s string, r rune, n int) (rune, int) {
	switch {
	case len(s) >= 3 && s[0] == '%':
		if v, err := strconv.ParseUint(s[1:3], 16, 8); err == nil {
			return rune(v), 3
		}
	case len(s) >= 6 && strings.HasPrefix(s, `\u`):
		if v, err := strconv.ParseUint(s[2:6], 16, 16); err == nil {
			return rune(v), 6
		}
	case len(s) >= 2 && s[0] == '\\':
		if i := strings.IndexByte(`nrt/`, s[1]); i >= 0 {
			return rune("\n\r\t/"[i]), 2
		}
	}
	return r, n
}

// gram is up to `run` comparable characters, zero-padded.
type gram [run]rune

func gramAt(u []unit, i, k int) gram {
	var g gram
	for j := 0; j < k; j++ {
		g[j] = u[i+j].r
	}
	return g
}

type span struct {
	start, end int
	mark       string
}

// replace writes s with each span as its mark. Overlapping and touching
// spans make one mark: a whole echo is many overlapping runs.
func replace(s string, spans []span) string {
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var b strings.Builder
	end := -1 // s[:end] is written or marked
	for _, sp := range spans {
		if sp.start > end {
			b.WriteString(s[max(end, 0):sp.start])
			b.WriteString(sp.mark)
		}
		end = max(end, sp.end)
	}
	b.WriteString(s[end:])
	return b.String()
}
