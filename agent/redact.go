package agent

import (
	"context"

	"github.com/vault-ssh-helper/vault-ssh-helper/agent/quote"
)

// Secret is a value no message may carry (an OTP, a code, a token), and the
// mark written in its place.
type Secret = quote.Secret

type secretsKey struct{}

// WithSecrets returns ctx carrying secrets besides those it already
// carries. Everything the agent quotes from the server while serving a
// request with that context (error bodies, redirect targets, transport
// errors) has them removed before it is cut to length, as must everything
// a mode quotes: use Quote.
func WithSecrets(ctx context.Context, secrets ...Secret) context.Context {
	all := append(append([]Secret(nil), secretsIn(ctx)...), secrets...)
	return context.WithValue(ctx, secretsKey{}, all)
}

func secretsIn(ctx context.Context) []Secret {
	s, _ := ctx.Value(secretsKey{}).([]Secret)
	return s
}

// Quote is the one way a mode or the agent puts text from outside into a
// message: without ctx's secrets, then cut to quote.MaxLen.
func Quote(ctx context.Context, s string) string { return quote.Outside(s, secretsIn(ctx)...) }

// QuoteURL is Quote for a URL: credentials in it are removed too.
func QuoteURL(ctx context.Context, s string) string { return quote.URL(s, secretsIn(ctx)...) }

// WithoutSecrets is the last net under a mode's errors: any echo of ctx's
// secrets still in err's message is replaced by its mark. errors.Is and
// errors.As see err unchanged.
func WithoutSecrets(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	msg := quote.Redact(err.Error(), secretsIn(ctx)...)
	if msg == err.Error() {
		return err
	}
	return &shown{err: err, msg: msg}
}

// shown is err with the message a reader is to see in its place (secrets
// out, text from outside quoted); errors.Is and errors.As see err.
type shown struct {
	err error
	msg string
}

func (s *shown) Error() string { return s.msg }
func (s *shown) Unwrap() error { return s.err }
