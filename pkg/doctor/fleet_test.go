package doctor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Fleet runs at most parallel jobs at once, gives them one ReadCache,
// keeps the order of the contexts, and a failing job fails alone.
func TestFleetBoundsSharesAndIsolates(t *testing.T) {
	contexts := []string{"a", "b", "c", "d", "e", "f", "g"}
	var running, most atomic.Int32
	var mu sync.Mutex
	caches := map[*xpkg.ReadCache]bool{}
	release := make(chan struct{})
	started := make(chan struct{}, len(contexts))
	done := make(chan []ClusterOutcome[string])
	go func() {
		done <- Fleet(context.Background(), contexts, 3, 5, func(_ context.Context, name string, cache *xpkg.ReadCache) (string, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			mu.Lock()
			caches[cache] = true
			mu.Unlock()
			started <- struct{}{}
			<-release
			if name == "c" {
				return "", errors.New("cannot read the cluster")
			}
			return "report of " + name, nil
		})
	}()
	// Three start; the fourth waits until one ends.
	for i := 0; i < 3; i++ {
		<-started
	}
	select {
	case <-started:
		t.Fatal("a fourth job started while three ran")
	default:
	}
	close(release)
	out := <-done
	var perHost int
	for c := range caches {
		perHost = c.PerHost()
	}
	if most.Load() != 3 || len(caches) != 1 || perHost != 5 {
		t.Errorf("at most %d at once (want 3), %d caches (want 1) bounding %d reads per registry (want 5)", most.Load(), len(caches), perHost)
	}
	for i, o := range out {
		want := fmt.Sprintf("report of %s", contexts[i])
		switch {
		case o.Context != contexts[i]:
			t.Errorf("outcome %d is %s's, want %s's", i, o.Context, contexts[i])
		case o.Context == "c" && (o.Err == nil || o.Value != ""):
			t.Errorf("c: %q %v", o.Value, o.Err)
		case o.Context != "c" && (o.Err != nil || o.Value != want):
			t.Errorf("%s: %q %v", o.Context, o.Value, o.Err)
		}
	}
}
