package config

import "errors"

// The fixed words of the config's messages: each message wraps its sentinel
// (%w) around the key and value it names. Where the original has a message,
// the words are the original's: operators search for them.
var (
	ErrMissing      = errors.New("missing config")
	ErrEmpty        = errors.New("is empty")
	ErrNotURL       = errors.New("is not an http:// or https:// URL with a host")
	ErrAddrCarries  = errors.New("must not carry a user, a query or a fragment")
	ErrDevHTTPS     = errors.New("unsupported scheme in 'dev' mode")
	ErrNeedsHTTPS   = errors.New("unsupported scheme. use 'dev' mode")
	ErrAddrTwice    = errors.New("lists one address twice")
	ErrPathChars    = errors.New(`must not contain '?', '#', '%', '\' or white space`)
	ErrPathSegment  = errors.New("has an empty, '.' or '..' path segment")
	ErrControlChar  = errors.New("contains a control character")
	ErrNotHostName  = errors.New("is not a host name")
	ErrEmptyEntry   = errors.New("has an empty entry")
	ErrNotDuration  = errors.New("is not a duration")
	ErrOutside      = errors.New("is outside")
	ErrDuplicateKey = errors.New("duplicate key")
	ErrInvalidKey   = errors.New("invalid key")
	ErrNotFacility  = errors.New("is not a syslog facility: use authpriv (as sshd and pam_unix do), auth, daemon, user, local0 to local7, or another of syslog(3)'s names except kern")

	ErrSetBothOrNeither = errors.New("set both or neither")
	ErrKeyReadable      = errors.New("is readable by others")
	ErrSecretReadable   = errors.New("is readable by group or others")
	// A key of a mode the file does not select: left there, it would
	// suggest a check that is not made.
	ErrOtherModesKey = errors.New("belongs to the")
)
