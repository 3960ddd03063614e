package agent

// Internal names the black-box tests in package agent_test pin.
var (
	ErrSchemeChangeForTest    = errSchemeChange
	ErrRedirectRefusedForTest = errRedirectRefused
	ErrBodyTooLargeForTest    = errBodyTooLarge
)

// MaxBodySizeForTest is the most of an answer the agent reads.
const MaxBodySizeForTest = maxBodySize

// The redirect refusals added with the messages that say what happened.
var (
	ErrBadRedirectForTest    = errBadRedirect
	ErrSecondRedirectForTest = errSecondRedirect
)

// What is wrong with a malformed answer; the words are pinned in
// TestDecodeAuthRefusals.
var (
	ErrNotOneValueForTest = errNotOneValue
	ErrNotObjectForTest   = errNotObject
	ErrTwiceForTest       = errTwice
	ErrOtherCaseForTest   = errOtherCase
)
