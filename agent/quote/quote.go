// Package quote is the one way text from outside the program (Vault's
// answers, headers, URLs, names, paths) enters a message: secrets out first,
// then credentials written into URLs, and only then cut to a fixed length
// with a mark. Cutting before redacting would leave the part of a secret
// that sits before the cut, which no later redaction can recognise.
package quote

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen bounds each piece of outside text a message quotes, so one log
// line stays readable whatever a server sends.
const MaxLen = 256

// CutMark follows what is kept of a cut text; its verb is the length of
// the whole text in bytes.
const CutMark = "...[cut: %d bytes in all]"

// Text cuts s to MaxLen bytes (at a character boundary) and says it was
// cut, and by how much. Callers redact before calling it.
func Text(s string) string {
	if len(s) <= MaxLen {
		return s
	}
	end := MaxLen
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + fmt.Sprintf(CutMark, len(s))
}

// Outside is Text after removing every secret.
func Outside(s string, secrets ...Secret) string {
	return Text(Redact(s, secrets...))
}

// URL quotes a URL from the config or from a server: secrets out, then the
// userinfo and the values of the query and fragment, then cut. It works on
// the raw string, so a URL that does not parse loses its credentials too.
func URL(raw string, secrets ...Secret) string {
	return Text(withoutCredentials(Redact(raw, secrets...)))
}

// Hidden stands in for a credential removed from a URL.
const Hidden = "REDACTED"

// withoutCredentials replaces what may be a credential in a URL: the
// userinfo (see hideUserinfo), every query value, and the fragment. The
// query starts at the first '?' and the fragment at the first '#' after it,
// as url.Parse reads them; an '@' after them is not userinfo.
func withoutCredentials(s string) string {
	end := len(s)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		end = i
	}
	head, tail := hideCredentialSegments(hideUserinfo(s[:end])), s[end:]
	var b strings.Builder
	b.WriteString(head)
	query, fragment, hasFragment := strings.Cut(tail, "#")
	if query != "" {
		b.WriteString("?")
		b.WriteString(hideQueryValues(strings.TrimPrefix(query, "?")))
	}
	if hasFragment {
		b.WriteString("#")
		if fragment != "" {
			b.WriteString(Hidden)
		}
	}
	return b.String()
}

// hideUserinfo removes the userinfo of each authority in s (s holds no
// query or fragment): an authority starts at the beginning of s or after a
// "//" and ends at the next '/'; its userinfo is what stands before its last
// '@'. So an '@' in the path (a key named ssh_alice@web1) is the path's.
// One exception keeps a password with a raw '/' out of the log: an
// authority with no '@' that cannot be a host and port (text after its ':'
// that is not a port number) is taken as userinfo cut short by that '/',
// and everything up to the last '@' goes. Such a URL never reached a server
// anyway; secrecy wins over the path there.
func hideUserinfo(s string) string {
	if strings.IndexByte(s, '@') < 0 {
		return s
	}
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

// hideCredentialSegments hides "user:password" wherever it stands before
// an '@' in a segment outside any authority, as in "https:/admin:pw@vault"
// (one slash, so no authority): a ':' before an '@' in one segment is
// taken as a credential. Vault's key and mount names have no ':'.
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
// optional port rather than "user:password" cut short: unless a name and
// something other than a port number stand either side of its ':' (after
// an IPv6 literal's ']'), it is taken as a host.
func isHostPort(authority string) bool {
	host := authority
	if i := strings.LastIndexByte(authority, ']'); i >= 0 {
		host = authority[i+1:]
	}
	name, port, ok := strings.Cut(host, ":")
	return !ok || name == "" || strings.Trim(port, "0123456789") == ""
}

// hideQueryValues keeps each parameter's name and hides its value. A
// parameter without '=' may itself be the secret, and so may a "name" that
// is not a plain word: in "?://admin:secret@host=x" (a scheme typed as "?")
// the userinfo sits in the query's first name. Both are hidden whole.
func hideQueryValues(q string) string {
	if q == "" {
		return ""
	}
	params := strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' })
	for i, p := range params {
		if name, _, ok := strings.Cut(p, "="); ok && isPlainName(name) {
			params[i] = name + "=" + Hidden
		} else {
			params[i] = Hidden
		}
	}
	return strings.Join(params, "&")
}

// isPlainName accepts what query parameter names are made of: ASCII letters,
// digits, '_', '-' and '.'.
func isPlainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
