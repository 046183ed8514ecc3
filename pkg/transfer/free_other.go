//go:build !(linux || darwin)

package transfer

// diskFree cannot tell free space on this OS.
func diskFree(string) int64 { return -1 }
