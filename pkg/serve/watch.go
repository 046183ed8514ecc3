package serve

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
)

// watcher keeps the pkg.crossplane.io resources a diagnosis lists whole
// (cluster.CachedResources) in memory through one List and then a Watch per
// resource (client-go's reflector, on the dynamic client: the typed
// informers would link every built-in API type), and says when any of them
// changes. It is the cluster.Cache of every run.
//
// A resource the caller may not watch never syncs: the Reader then lists it
// each run (Objects returns false) and only the interval re-diagnoses it.
type watcher struct {
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
	// broken holds the resources whose last Watch could not start: their
	// cache may be stale. Those the caller may not watch stay broken, and
	// their informer is stopped (stops).
	broken, stops sync.Map
	// changed receives a value, without blocking, on every add, update or
	// delete after the first List; a full buffer already says "changed".
	changed chan struct{}
	log     *slog.Logger
}

// newWatcher watches every served resource of cluster.CachedResources.
func newWatcher(dyn dynamic.Interface, served map[string]schema.GroupVersionResource, log *slog.Logger) *watcher {
	w := &watcher{informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{}, changed: make(chan struct{}, 1), log: log}
	for _, res := range cluster.CachedResources {
		gvr, ok := served[res]
		if !ok {
			continue
		}
		ri := dyn.Resource(gvr)
		lw := &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return ri.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				wi, err := ri.Watch(ctx, o)
				if err != nil {
					w.broken.Store(gvr, true)
				} else {
					w.broken.Delete(gvr)
				}
				return wi, err
			},
		}
		inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, dyn), &unstructured.Unstructured{},
			cache.SharedIndexInformerOptions{ObjectDescription: gvr.String()})
		// managedFields are most of a stored object and no diagnosis reads them.
		_ = inf.SetTransform(func(obj any) (any, error) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				u.SetManagedFields(nil)
			}
			return obj, nil
		})
		var warned atomic.Bool
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			if apierrors.IsForbidden(err) {
				// Retrying would relist every 30s for nothing.
				w.broken.Store(gvr, true)
				if stop, ok := w.stops.Load(gvr); ok {
					stop.(context.CancelFunc)()
				}
				log.Warn("not allowed to watch: listed at each diagnosis instead, and only the interval re-diagnoses its changes (docs/serve.yaml grants watch)",
					"resource", gvr.Resource, "error", err.Error())
				return
			}
			// The reflector retries with backoff (up to 30s): the first
			// failure is worth a warning, the retries a debug line.
			if warned.CompareAndSwap(false, true) {
				log.Warn("watch failed; retrying", "resource", gvr.Resource, "error", err.Error())
			} else {
				log.Debug("watch failed; retrying", "resource", gvr.Resource, "error", err.Error())
			}
		})
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(_ any, initial bool) {
				if !initial {
					w.notify("added", gvr)
				}
			},
			UpdateFunc: func(oldObj, newObj any) {
				o, n := oldObj.(*unstructured.Unstructured), newObj.(*unstructured.Unstructured)
				if o.GetResourceVersion() != n.GetResourceVersion() {
					w.notify("updated", gvr)
				}
			},
			DeleteFunc: func(any) { w.notify("deleted", gvr) },
		})
		w.informers[gvr] = inf
	}
	return w
}

func (w *watcher) notify(what string, gvr schema.GroupVersionResource) {
	w.log.Debug("change", "what", what, "resource", gvr.Resource)
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// start runs every informer until ctx is done; wait returns when they stopped.
func (w *watcher) start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	for gvr, inf := range w.informers {
		ictx, stop := context.WithCancel(ctx)
		w.stops.Store(gvr, stop)
		wg.Go(func() { inf.RunWithContext(ictx) })
	}
	return wg.Wait
}

// sync waits until every informer holds its first List, or ctx is done;
// it reports the resources not synced (not allowed to, or ctx ran out).
func (w *watcher) sync(ctx context.Context) (unsynced []string) {
	for gvr, inf := range w.informers {
		cache.WaitForCacheSync(ctx.Done(), func() bool {
			_, broken := w.broken.Load(gvr)
			return broken || inf.HasSynced()
		})
	}
	for gvr, inf := range w.informers {
		if !inf.HasSynced() {
			unsynced = append(unsynced, gvr.Resource)
		}
	}
	sort.Strings(unsynced)
	return unsynced
}

// Objects implements cluster.Cache.
func (w *watcher) Objects(gvr schema.GroupVersionResource) ([]*unstructured.Unstructured, bool) {
	inf, ok := w.informers[gvr]
	if _, broken := w.broken.Load(gvr); !ok || broken || !inf.HasSynced() {
		return nil, false
	}
	items := inf.GetStore().List()
	out := make([]*unstructured.Unstructured, 0, len(items))
	for _, it := range items {
		if u, ok := it.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out, true
}

// object returns one cached object of a cluster-scoped resource, or nil.
func (w *watcher) object(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	inf, ok := w.informers[gvr]
	if !ok {
		return nil
	}
	it, found, err := inf.GetStore().GetByKey(name)
	if err != nil || !found {
		return nil
	}
	u, _ := it.(*unstructured.Unstructured)
	return u
}
