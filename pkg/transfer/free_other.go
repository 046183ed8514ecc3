//go:build !(linux || darwin)

package transfer

// freeBytes cannot tell free space on this OS.
func freeBytes(string) int64 { return -1 }
