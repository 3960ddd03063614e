package quote

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLine bounds every line the program writes, to stderr, stdout or
// syslog, whatever a client (PAM_USER, PAM_RHOST) or a server put in it:
// pam_exec passes a user name of up to about 128 KiB, typed before any
// authentication. 4 KiB is ample for any message the helper writes and fits
// every syslog daemon's datagram.
const MaxLine = 4096

// Field puts outside text into a line as the value of one key=value field:
// secrets out and cut to MaxLen (Outside), then bare when it is made only of
// characters that can neither end it nor start another field, "-" when it
// is empty, and Go-quoted (one line, nothing unescaped) otherwise. A user
// name is whatever the client typed; it must not forge a field or a line.
func Field(s string, secrets ...Secret) string {
	if s == "" {
		return "-"
	}
	s = Outside(s, secrets...)
	if s == "-" || strings.IndexFunc(s, notBare) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// notBare is true for a character that may not stand in a bare field: a
// space or '=' would start another field, a quote or a control character
// would end the line or the value.
func notBare(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("._:@,-", r))
}

// Cut bounds s to max bytes in all, the mark that says it was cut included,
// cutting at a character boundary. It is the last guard of a line's length;
// Text is the one for each piece of outside text.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	mark := fmt.Sprintf(CutMark, len(s))
	end := max - len(mark)
	if end < 0 {
		end = 0
	}
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + mark
}

// BoundLines cuts each line of p (a write may hold several, such as the
// usage text) to MaxLine bytes, its newline not counted. p is returned
// unchanged, and not copied, when every line fits.
func BoundLines(p []byte) []byte {
	if len(p) <= MaxLine || !hasLongLine(p) {
		return p
	}
	var out []byte
	for len(p) > 0 {
		line, rest, found := bytes.Cut(p, []byte{'\n'})
		out = append(out, Cut(string(line), MaxLine)...)
		if found {
			out = append(out, '\n')
		}
		p = rest
	}
	return out
}

func hasLongLine(p []byte) bool {
	for len(p) > MaxLine {
		i := bytes.IndexByte(p, '\n')
		if i < 0 || i > MaxLine {
			return true
		}
		p = p[i+1:]
	}
	return false
}
