package transfer

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Bounds on concurrency. Streams of large blobs move data and are bounded
// by Options.Jobs (crane's default is 4: peers.md s.5.1); small blobs and
// the requests of planning and verification (HEADs, manifest reads and
// pushes) are latency-bound and run requestsAtOnce at a time (peers.md
// s.5.3).
const (
	defaultJobs    = 4
	requestsAtOnce = 16
)

// forEach runs fn(ctx, 0..n-1), limit at a time, in one errgroup; the first
// error cancels the rest and is returned.
func forEach(parent context.Context, limit, n int, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(parent)
	g.SetLimit(max(limit, 1))
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(ctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return parent.Err()
}

// freeBytes tells the free space under a directory (tests replace it).
var freeBytes = diskFree
