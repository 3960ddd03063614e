package agent

import "strings"

// WithoutSecret keeps secret out of err's message, writing mark in its
// place. Text that came from the server (an error body, a quoted field) can
// hold the password when something at vault_addr echoes requests: a proxy's
// error page, say, that never passed the still-valid password on to Vault.
// errors.Is and errors.As see err unchanged.
func WithoutSecret(err error, secret, mark string) error {
	if err == nil || secret == "" || indexFold(err.Error(), secret) < 0 {
		return err
	}
	return &redacted{err: err, secret: secret, mark: mark}
}

type redacted struct {
	err          error
	secret, mark string
}

func (r *redacted) Error() string {
	msg := r.err.Error()
	var b strings.Builder
	for {
		i := indexFold(msg, r.secret)
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i])
		b.WriteString(r.mark)
		msg = msg[i+len(r.secret):]
	}
}

func (r *redacted) Unwrap() error { return r.err }

// indexFold finds sub in s in any letter case: a password may be accepted
// in either case, and a server may echo it in the other.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
