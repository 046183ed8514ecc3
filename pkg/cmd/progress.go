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
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
)

// transferProgress shows, for every transfer (mirror, closure, fix, export
// and import alike), a byte bar with the total on a terminal, a line per
// blob otherwise, and nothing when quiet.
func transferProgress(w io.Writer, quiet bool, total int64) (func(transfer.Event), func()) {
	if quiet {
		return func(transfer.Event) {}, func() {}
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
		return func(e transfer.Event) {
				if e.What == "copied" || e.What == "manifest" {
					mu.Lock()
					_ = bar.Add64(e.Size)
					mu.Unlock()
				}
			}, func() {
				_ = bar.Finish()
			}
	}
	var mu sync.Mutex
	return func(e transfer.Event) {
		if e.What == "manifest" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "  %s blob %s (%s)\n", e.What, e.Digest, crossplane.HumanBytes(e.Size))
	}, func() {}
}
