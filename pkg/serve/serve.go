// Package serve runs xpdoctor inside the cluster, for as long as it is let
// run: it diagnoses at start, after every change to a package (watched, not
// polled, and debounced) and on an interval, with the very code
// `kubectl xpdoctor diagnose` runs (doctor.Run); it exports the findings and
// its own health as Prometheus metrics, and may record each new finding as
// an Event on its package. The only objects it writes are those Events.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Options say what to serve and how.
type Options struct {
	// Doctor is each run's diagnosis: a live cluster (Kube), every package.
	Doctor doctor.Options
	// Interval is the longest time between two diagnoses.
	Interval time.Duration
	// Debounce is the quiet time after a change before a diagnosis starts,
	// so that a burst (an upgrade of many packages) is diagnosed once;
	// MaxDelay bounds the wait while changes keep coming.
	Debounce, MaxDelay time.Duration
	// RunTimeout bounds each diagnosis.
	RunTimeout time.Duration
	// Listener serves /metrics, /healthz and /readyz; when nil, Address is listened on.
	Listener net.Listener
	Address  string
	// RecordEvents records each new finding as an Event on its package.
	RecordEvents bool
	// Instance names this process in its Events (reportingInstance).
	Instance string
	// Log receives structured logs (nil: none).
	Log *slog.Logger
}

// Validate checks the options before anything is read.
func (o Options) Validate() error {
	switch {
	case o.Doctor.FromFile != "":
		return errors.New("serve diagnoses a live cluster: --from-file does not apply")
	case o.Doctor.Kube == nil:
		return errors.New("no cluster to read: give a kubeconfig, or run in a pod")
	case o.Interval <= 0:
		return errors.New("--interval must be positive")
	case o.Debounce < 0:
		return errors.New("--debounce must not be negative")
	case o.MaxDelay < o.Debounce:
		return fmt.Errorf("the longest wait after a change (%s) must not be shorter than --debounce (%s)", o.MaxDelay, o.Debounce)
	case o.RunTimeout <= 0:
		return errors.New("--timeout must be positive")
	case o.Listener == nil && o.Address == "":
		return errors.New("--listen-address must not be empty")
	}
	if len(o.Doctor.Select.Names) > 0 || len(o.Doctor.Select.Kinds) > 0 {
		return errors.New("serve diagnoses every package")
	}
	return o.Doctor.Validate()
}

// Run serves until ctx is done, then drains: the diagnosis under way stops,
// the HTTP server answers the requests it has, and Run returns nil. It
// returns an error only when it cannot start (the address, the kubeconfig).
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	text := report.Text{Redactor: o.Doctor.Redactor}
	cfg, err := doctor.RESTConfig(o.Doctor)
	if err != nil {
		return err
	}
	// Outermost, so nothing else sees a write it refuses.
	cfg.Wrap(onlyEvents)
	// Each diagnosis only reads, as `kubectl xpdoctor diagnose` does.
	o.Doctor.ReadOnly = true
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	disc, err := cluster.NewDiscoveryForConfig(cfg)
	if err != nil {
		return err
	}
	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", o.Address); err != nil {
			return fmt.Errorf("cannot serve metrics on %s: %w", o.Address, err)
		}
	}
	m := newMetrics(text)
	o.Doctor.Registry = append(append([]xpkg.Option{}, o.Doctor.Registry...), xpkg.WithWrapTransport(m.instrument))
	s := &server{o: o, dyn: dyn, disc: disc, metrics: m, text: text, log: o.Log}
	if o.RecordEvents {
		s.events = &recorder{dyn: dyn, instance: o.Instance, text: text, log: o.Log, regarding: s.regarding,
			counted: func(result string) { m.events.WithLabelValues(result).Inc() }}
	}
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	o.Log.Info("serving", "address", ln.Addr().String(), "interval", o.Interval.String(), "debounce", o.Debounce.String(), "recordEvents", o.RecordEvents)

	s.loop(ctx)

	s.stopping.Store(true)
	if s.stopWatch != nil {
		s.stopWatch()
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	o.Log.Info("stopped")
	return err
}

// onlyEvents wraps serve's own Kubernetes transport: it sends reads, and
// creates and patches of Events in eventNamespace, and refuses any other
// request before it is sent, whatever the ServiceAccount may do.
func onlyEvents(rt http.RoundTripper) http.RoundTripper {
	events := "/apis/" + eventsGVR.Group + "/" + eventsGVR.Version + "/namespaces/" + eventNamespace + "/events"
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		name, isEvent := strings.CutPrefix(r.URL.Path, events)
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
		case r.Method == http.MethodPost && isEvent && name == "":
		case r.Method == http.MethodPatch && isEvent && strings.HasPrefix(name, "/") && !strings.Contains(name[1:], "/"):
		default:
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, fmt.Errorf("%s %s refused: serve writes nothing but Events in namespace %s: %w", r.Method, r.URL.Path, eventNamespace, cluster.ErrReadOnly)
		}
		return rt.RoundTrip(r)
	})
}

// server is one Run's state.
type server struct {
	o       Options
	dyn     dynamic.Interface
	disc    cluster.Discovery
	metrics *metrics
	events  *recorder
	text    report.Text
	log     *slog.Logger

	// watch is nil until discovery found Crossplane's resources.
	watch     *watcher
	served    map[string]schema.GroupVersionResource
	stopWatch func()

	ready, stopping atomic.Bool
}

// Triggers of a diagnosis, as the runs metric labels them.
const (
	triggerStart    = "start"
	triggerChange   = "change"
	triggerInterval = "interval"
	triggerRetry    = "retry"
)

// loop diagnoses at start, after changes and on the interval until ctx is done.
func (s *server) loop(ctx context.Context) {
	next := time.NewTimer(0)
	defer next.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	var first, last time.Time
	pending := false
	trigger := triggerStart
	failures := 0
	for {
		var changes <-chan struct{}
		if s.watch != nil {
			changes = s.watch.changed
		}
		var settled <-chan time.Time
		if pending {
			settled = settle.C
		}
		select {
		case <-ctx.Done():
			return
		case <-changes:
			now := time.Now()
			if !pending {
				first, pending = now, true
			}
			last = now
			settle.Reset(time.Until(dueAt(first, last, s.o.Debounce, s.o.MaxDelay)))
			continue
		case <-settled:
			trigger = triggerChange
		case <-next.C:
		}
		// This run reads every change seen so far.
		settle.Stop()
		pending = false
		if s.runOnce(ctx, trigger) {
			failures = 0
			trigger = triggerInterval
			next.Reset(s.o.Interval)
			continue
		}
		failures++
		trigger = triggerRetry
		next.Reset(retryAfter(failures, s.o.Interval))
	}
}

// retryAfter is the wait after the nth failed diagnosis in a row: a
// cluster that is unreachable at start (or for a while) is tried again
// soon, then less and less often, never less often than the interval.
func retryAfter(n int, interval time.Duration) time.Duration {
	return min(firstRetry<<min(n-1, 10), interval)
}

// firstRetry is the wait after a first failed diagnosis.
const firstRetry = 5 * time.Second

// dueAt is when a diagnosis starts after changes at first and last: once
// no change came for quiet, and at most maxDelay after the first.
func dueAt(first, last time.Time, quiet, maxDelay time.Duration) time.Time {
	due := last.Add(quiet)
	if limit := first.Add(maxDelay); due.After(limit) {
		return limit
	}
	return due
}

// runOnce diagnoses once and publishes the result; it reports whether the
// diagnosis succeeded.
func (s *server) runOnce(ctx context.Context, trigger string) bool {
	rctx, cancel := context.WithTimeout(ctx, s.o.RunTimeout)
	defer cancel()
	start := time.Now()
	s.ensureWatch(rctx)
	o := s.o.Doctor
	if s.watch != nil {
		o.Cache = s.watch
	}
	o.Now = start
	res, err := doctor.Run(rctx, o)
	if err == nil && rctx.Err() != nil {
		// A report cut short by the timeout would blame the registries.
		err = fmt.Errorf("the diagnosis did not end within --timeout %s: %w", s.o.RunTimeout, rctx.Err())
	}
	end := time.Now()
	if ctx.Err() != nil {
		return false // stopping: nothing to publish
	}
	s.metrics.observeRun(trigger, end.Sub(start), end, err)
	if err != nil {
		s.log.Error("diagnosis failed", "trigger", trigger, "error", s.text.Line(err.Error()), "took", end.Sub(start).String())
		return false
	}
	fs := res.Report.Findings
	appeared, resolved := s.metrics.setFindings(fs)
	for _, k := range appeared {
		s.log.Info("finding", "code", k.code, "severity", k.severity, "kind", k.kind, "name", k.name)
	}
	for _, k := range resolved {
		s.log.Info("finding resolved", "code", k.code, "severity", k.severity, "kind", k.kind, "name", k.name)
	}
	if s.events != nil {
		s.events.record(ctx, fs, end)
	}
	s.ready.Store(true)
	s.log.Info("diagnosed", "trigger", trigger, "packages", len(res.Report.Packages), "findings", len(fs),
		"worst", string(findings.Worst(fs)), "took", end.Sub(start).String())
	return true
}

// ensureWatch starts watching once discovery finds Crossplane's resources
// (serve may start before Crossplane is installed) and waits for the first
// Lists, within the run's time.
func (s *server) ensureWatch(ctx context.Context) {
	if s.watch != nil {
		return
	}
	served, err := cluster.PackageResources(ctx, s.disc)
	if err != nil {
		return // the diagnosis says why
	}
	s.served = served
	w := newWatcher(s.dyn, served, s.log)
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	wait := w.start(wctx)
	s.stopWatch = func() { cancel(); wait() }
	s.watch = w
	if unsynced := w.sync(ctx); len(unsynced) > 0 {
		s.log.Warn("not watching these resources: they are listed at each run, and only the interval re-diagnoses their changes",
			"resources", unsynced)
	}
}

// regarding is a package's apiVersion and uid, from the watch cache.
func (s *server) regarding(kind, name string) (string, types.UID) {
	res := map[string]string{"Provider": "providers", "Function": "functions", "Configuration": "configurations"}[kind]
	gvr, ok := s.served[res]
	if !ok {
		return cluster.PkgGroup + "/v1", ""
	}
	if u := s.watch.object(gvr, name); u != nil {
		return gvr.GroupVersion().String(), u.GetUID()
	}
	return gvr.GroupVersion().String(), ""
}

// handler serves /metrics, /healthz (the process serves) and /readyz (a
// diagnosis succeeded, so the metrics say something).
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handlerFor())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case s.stopping.Load():
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		case !s.ready.Load():
			http.Error(w, "no diagnosis has succeeded yet", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ok")
		}
	})
	return mux
}
