//go:build linux || darwin

package transfer

import "syscall"

// diskFree is the space an unprivileged user may still write under dir,
// or -1 when it cannot be told.
func diskFree(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize) //nolint:unconvert // field types differ by OS
}
