package config

import "errors"

// The fixed words of the config's messages, each written once: a message
// wraps its sentinel (%w) around the key and value it names, so a test or
// a caller asks errors.Is instead of spelling the words again. The full
// texts are pinned in messages_test.go. Where the original has a message,
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
	ErrStarAlone    = errors.New(`"*" allows any role and must stand alone`)
	ErrNotCIDR      = errors.New("is not a CIDR block like 192.0.2.0/24 or 2001:db8::/32")
	ErrNotDuration  = errors.New("is not a duration")
	ErrOutside      = errors.New("is outside")
	ErrDuplicateKey = errors.New("duplicate key")
	ErrInvalidKey   = errors.New("invalid key")
	ErrNotFacility  = errors.New("is not a syslog facility: use authpriv (as sshd and pam_unix do), auth, daemon, user, local0 to local7, or another of syslog(3)'s names except kern")

	ErrSetBothOrNeither = errors.New("set both or neither")
	ErrKeyReadable      = errors.New("is readable by others")
	ErrSecretReadable   = errors.New("is readable by group or others")

	ErrTOTPKeyInSSHOTP = errors.New("belongs to the TOTP mode, which needs totp_mount_point; remove it from an SSH OTP config")
	ErrSSHOTPKeyInTOTP = errors.New("belongs to the SSH OTP mode; remove it from a TOTP config (one with totp_mount_point)")
	ErrTemplateUser    = errors.New("must contain " + UsernamePlaceholder + " exactly once")
	ErrNotWholeNumber  = errors.New("is not a whole number")

	ErrTokenAndAppRole    = errors.New("vault_token_file and approle_role_id_file/approle_secret_id_file are both set: use one way to get a token")
	ErrRoleIDAlone        = errors.New("approle_role_id_file is set but approle_secret_id_file is not: set both")
	ErrSecretIDAlone      = errors.New("approle_secret_id_file is set but approle_role_id_file is not: set both")
	ErrAppRoleMountAlone  = errors.New("approle_mount_point is set but approle_role_id_file and approle_secret_id_file are not: set both")
	ErrNoCredentials      = errors.New("a TOTP config needs vault_token_file, or approle_role_id_file and approle_secret_id_file")
	ErrAppRoleMountUnused = errors.New("approle_mount_point is set but AppRole is not used (vault_token_file is): remove it")

	ErrUsedCodesNoPrefix = errors.New("must be a KV v2 mount and a prefix under it, like \"kv/vault-ssh-helper/used\"")
	ErrUsedCodesKeyShort = errors.New("must hold at least 32 characters: make it with openssl rand -hex 32")
)
