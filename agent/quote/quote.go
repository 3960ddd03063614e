// Package quote is the one way text from outside the program (Vault's
// answers, URLs, names, paths) enters a message: secrets out first, then
// credentials written into URLs, and only then cut with a mark. Cutting
// first would leave the part of a secret before the cut, which no later
// redaction can recognise.
package quote

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLen bounds each piece of outside text a message quotes.
const MaxLen = 256

// MaxLine bounds every line the program writes, whatever a client or a
// server put in it: pam_exec passes a user name of up to about 128 KiB,
// typed before any authentication. 4 KiB is ample for any message and fits
// every syslog daemon's datagram.
const MaxLine = 4096

// CutMark follows what is kept of a cut text; %d is the whole text's length.
const CutMark = "...[cut: %d bytes in all]"

// Text cuts s to MaxLen bytes and the mark. Callers redact before.
func Text(s string) string {
	if len(s) <= MaxLen {
		return s
	}
	return cutAt(s, MaxLen)
}

// Cut bounds s to max bytes in all, the mark included: the last guard of a
// line's length, where Text is the one for each piece of outside text.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cutAt(s, max-len(fmt.Sprintf(CutMark, len(s))))
}

// cutAt keeps s up to the character boundary at or before end, and the mark.
func cutAt(s string, end int) string {
	end = max(end, 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + fmt.Sprintf(CutMark, len(s))
}

// Outside is Text after removing every secret.
func Outside(s string, secrets ...Secret) string {
	return Text(Redact(s, secrets...))
}

// URL quotes a URL: secrets out, then its credentials, then cut. It works on
// the raw string, so a URL that does not parse loses its credentials too.
func URL(raw string, secrets ...Secret) string {
	return Text(withoutCredentials(Redact(raw, secrets...)))
}

// Field puts outside text into a line as the value of one key=value field:
// through Outside, then bare when no character in it can end it or start
// another field, "-" when empty, and Go-quoted otherwise. A user name is
// whatever the client typed; it must not forge a field or a line.
func Field(s string, secrets ...Secret) string {
	if s == "" {
		return "-"
	}
	s = Outside(s, secrets...)
	// A space or '=' would start another field, a quote or a control
	// character would end the line or the value.
	if s == "-" || strings.Trim(s, alnum+"._:@,-") != "" {
		return strconv.Quote(s)
	}
	return s
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// BoundLines cuts each line of p (a write may hold several) to MaxLine bytes,
// its newline not counted; p itself when every line fits.
func BoundLines(p []byte) []byte {
	if len(p) <= MaxLine {
		return p
	}
	lines := bytes.Split(p, []byte{'\n'})
	if !slices.ContainsFunc(lines, func(line []byte) bool { return len(line) > MaxLine }) {
		return p
	}
	for i, line := range lines {
		lines[i] = []byte(Cut(string(line), MaxLine))
	}
	return bytes.Join(lines, []byte{'\n'})
}

// Hidden stands in for a credential removed from a URL.
const Hidden = "REDACTED"

// withoutCredentials hides what may be a credential in a URL: the
// userinfo, every query value, and the fragment. The query starts at the
// first '?' and the fragment at the first '#' after it, as url.Parse reads
// them; an '@' after them is not userinfo.
func withoutCredentials(s string) string {
	end := len(s)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		end = i
	}
	out := hideCredentialSegments(hideUserinfo(s[:end]))
	query, fragment, hasFragment := strings.Cut(s[end:], "#")
	if query != "" {
		out += "?" + hideQueryValues(strings.TrimPrefix(query, "?"))
	}
	if hasFragment {
		out += "#"
	}
	if fragment != "" {
		out += Hidden
	}
	return out
}

// hideUserinfo hides the userinfo of each authority in s (no query or
// fragment): an authority starts at the beginning or after a "//" and ends
// at the next '/'; its userinfo stands before its last '@', so an '@' in
// the path (a key named ssh_alice@web1) is the path's. But an authority
// with no '@' that cannot be a host and port is taken as a password cut
// short by a raw '/', and everything up to the last '@' goes: such a URL
// never reached a server, and secrecy wins over the path.
func hideUserinfo(s string) string {
	var b strings.Builder
	shown := 0 // s[:shown] is written, or hidden
	for start := 0; ; {
		end := len(s)
		if i := strings.IndexByte(s[start:], '/'); i >= 0 {
			end = start + i
		}
		at := strings.LastIndexByte(s[start:end], '@')
		if at < 0 && !isHostPort(s[start:end]) {
			at = strings.LastIndexByte(s[start:], '@')
		}
		if at >= 0 {
			b.WriteString(s[shown:start])
			b.WriteString(Hidden)
			shown = start + at
			end = max(end, shown)
		}
		next := strings.Index(s[end:], "//")
		if next < 0 {
			break
		}
		start = end + next + 2
	}
	b.WriteString(s[shown:])
	return b.String()
}

// hideCredentialSegments hides "user:password" before an '@' in a segment
// outside any authority, as in "https:/admin:pw@vault" (one slash). Vault's
// key and mount names have no ':'.
func hideCredentialSegments(s string) string {
	segments := strings.Split(s, "/")
	for i, seg := range segments {
		at := strings.LastIndexByte(seg, '@')
		if at > 0 && strings.IndexByte(seg[:at], ':') >= 0 {
			segments[i] = Hidden + seg[at:]
		}
	}
	return strings.Join(segments, "/")
}

// isHostPort tells whether an authority without '@' can be a host with an
// optional port rather than "user:password" cut short: it is, unless a name
// and something other than a port number stand either side of its ':'
// (after an IPv6 literal's ']').
func isHostPort(authority string) bool {
	host := authority[strings.LastIndexByte(authority, ']')+1:]
	name, port, ok := strings.Cut(host, ":")
	return !ok || name == "" || strings.Trim(port, "0123456789") == ""
}

// hideQueryValues keeps each parameter's name and hides its value. A
// parameter without '=', or whose name is not a plain word, is hidden
// whole: in "?://admin:secret@host=x" the userinfo sits in the first name.
func hideQueryValues(q string) string {
	params := strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' })
	for i, p := range params {
		if name, _, ok := strings.Cut(p, "="); ok && name != "" && strings.Trim(name, alnum+"_-.") == "" {
			params[i] = name + "=" + Hidden
		} else {
			params[i] = Hidden
		}
	}
	return strings.Join(params, "&")
}
