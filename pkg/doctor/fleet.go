package doctor

import (
	"context"
	"sync"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// MaxParallelClusters bounds the clusters a fleet reads at once: each
// cluster is a handful of paged Lists, and registry reads are bounded per
// registry host by the shared ReadCache whatever this is.
const MaxParallelClusters = 4

// ClusterOutcome is what one kubeconfig context of a fleet gave: Value, or
// the error that kept it from being read.
type ClusterOutcome[T any] struct {
	Context string
	Value   T
	Err     error
}

// Fleet runs job once per kubeconfig context, at most parallel at a time
// (MaxParallelClusters when parallel < 1), and returns the outcomes in the
// order of contexts. Every job gets the same ReadCache (reads in flight
// bounded per registry host by perHost, as Options.RegistryConcurrency), to
// put in its Options.ReadCache: an image that several clusters run is read from its
// registry once, with the credentials each cluster's Crossplane uses (the
// cache keys reads by credential identity, so a cluster whose pull secret
// differs reads for itself). One job failing does not stop the others.
func Fleet[T any](ctx context.Context, contexts []string, parallel, perHost int, job func(ctx context.Context, kubeContext string, cache *xpkg.ReadCache) (T, error)) []ClusterOutcome[T] {
	if parallel < 1 {
		parallel = MaxParallelClusters
	}
	cache := xpkg.NewReadCache(perHost)
	out := make([]ClusterOutcome[T], len(contexts))
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range contexts {
		out[i].Context = name
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = ctx.Err()
				return
			}
			defer func() { <-slots }()
			out[i].Value, out[i].Err = job(ctx, name, cache)
		}()
	}
	wg.Wait()
	return out
}
