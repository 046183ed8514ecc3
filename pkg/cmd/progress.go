package cmd

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// copyProgress shows a bar on a terminal, a line per blob otherwise, and
// nothing with -q.
func copyProgress(w io.Writer, quiet bool, total int64) (xpkg.CopyOption, func()) {
	if quiet {
		return xpkg.WithBlobObserver(func(xpkg.BlobEvent) {}), func() {}
	}
	raw := w
	if sw, ok := w.(*report.SafeWriter); ok {
		// The bar writes its own control sequences to the terminal.
		raw = sw.Unwrap()
	}
	if f, ok := raw.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(raw), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("copying"), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100_000_000))
		var mu sync.Mutex
		return xpkg.WithBlobObserver(func(e xpkg.BlobEvent) {
				if !e.Skipped {
					mu.Lock()
					_ = bar.Add64(e.Size)
					mu.Unlock()
				}
			}), func() {
				_ = bar.Finish()
			}
	}
	var mu sync.Mutex
	return xpkg.WithBlobObserver(func(e xpkg.BlobEvent) {
		mu.Lock()
		defer mu.Unlock()
		what := "copied"
		if e.Skipped {
			what = "present"
		}
		fmt.Fprintf(w, "  %s blob %s (%s)\n", what, e.Digest, crossplane.HumanBytes(e.Size))
	}), func() {}
}
