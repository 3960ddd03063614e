//go:build !unix

package trust

import "os"

// Owner knows no owner where the platform has no uid; the mode check still runs.
func Owner(os.FileInfo) (int, bool) { return 0, false }

// Links knows no link count where the platform has none.
func Links(os.FileInfo) (uint64, bool) { return 0, false }

// OpenNoFollow is os.OpenFile where the platform has no O_NOFOLLOW.
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}
