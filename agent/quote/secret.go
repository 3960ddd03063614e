package quote

import (
	"sort"
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

// run is how many characters of a secret in a row count as an echo of it.
// A server may echo part of a secret, or a cut may leave part; eight
// characters of a random secret are never there by chance. A shorter secret
// (a 6-digit code) counts only whole.
const run = 8

// Redact replaces every echo of each secret in s with the secret's mark. An
// echo is any run of `run` characters of the secret (the whole secret when
// it is shorter) in the forms a server writes it back: in any letter case,
// with or without dashes, percent-encoded (%39), JSON-escaped (\u0039, \n),
// split by white space or line breaks, or any mix of these.
func Redact(s string, secrets ...Secret) string {
	var spans []span
	literal, decoded := units(s, false), units(s, true)
	for _, sec := range secrets {
		want := grams(sec.Value)
		if want == nil {
			continue
		}
		spans = append(spans, find(literal, want, sec.Mark)...)
		spans = append(spans, find(decoded, want, sec.Mark)...)
	}
	if len(spans) == 0 {
		return s
	}
	return replace(s, merge(spans))
}

// unit is one character of the text as compared with a secret, and the
// bytes of the text it was read from.
type unit struct {
	r          rune
	start, end int
}

// units reads s as a sequence of comparable characters: lower case, without
// the separators an echo may add. With decode, escapes count as the
// character they stand for; without, as themselves. Both readings are
// searched: an escape-like text just before a literal echo (`\u00` then
// the secret) must not hide the echo from the search.
func units(s string, decode bool) []unit {
	out := make([]unit, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if decode {
			r, n = decodeEscape(s[i:], r, n)
		}
		if !ignorable(r) {
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
	case s[0] == '%' && len(s) >= 3 && isHex(s[1]) && isHex(s[2]):
		return rune(unhex(s[1])<<4 | unhex(s[2])), 3
	case s[0] == '\\' && len(s) >= 6 && s[1] == 'u' && isHex(s[2]) && isHex(s[3]) && isHex(s[4]) && isHex(s[5]):
		return rune(unhex(s[2])<<12 | unhex(s[3])<<8 | unhex(s[4])<<4 | unhex(s[5])), 6
	case s[0] == '\\' && len(s) >= 2:
		switch s[1] {
		case 'n':
			return '\n', 2
		case 'r':
			return '\r', 2
		case 't':
			return '\t', 2
		case '/':
			return '/', 2
		}
	}
	return r, n
}

// ignorable characters are what an echo may add between a secret's
// characters: dashes (a UUID written without them, or differently) and
// white space (a line broken in the middle).
func ignorable(r rune) bool { return r == '-' || unicode.IsSpace(r) }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// gram is up to `run` comparable characters, zero-padded.
type gram [run]rune

// grams lists every run of the secret as units reads it; nil for a secret
// with nothing to compare.
func grams(secret string) map[gram]int {
	u := units(secret, false)
	if len(u) == 0 {
		return nil
	}
	k := min(run, len(u))
	out := make(map[gram]int)
	for i := 0; i+k <= len(u); i++ {
		out[gramAt(u, i, k)] = k
	}
	return out
}

func gramAt(u []unit, i, k int) gram {
	var g gram
	for j := 0; j < k; j++ {
		g[j] = u[i+j].r
	}
	return g
}

// span is a part of the text to write as mark.
type span struct {
	start, end int
	mark       string
}

func find(text []unit, want map[gram]int, mark string) []span {
	var k int
	for _, k = range want {
		break
	}
	var out []span
	for i := 0; i+k <= len(text); i++ {
		if _, ok := want[gramAt(text, i, k)]; ok {
			out = append(out, span{start: text[i].start, end: text[i+k-1].end, mark: mark})
		}
	}
	return out
}

// merge joins overlapping and touching spans: a whole echo is many
// overlapping runs and must become one mark.
func merge(spans []span) []span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	out := spans[:1]
	for _, s := range spans[1:] {
		last := &out[len(out)-1]
		if s.start <= last.end {
			last.end = max(last.end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

func replace(s string, spans []span) string {
	var b strings.Builder
	at := 0
	for _, sp := range spans {
		b.WriteString(s[at:sp.start])
		b.WriteString(sp.mark)
		at = sp.end
	}
	b.WriteString(s[at:])
	return b.String()
}
