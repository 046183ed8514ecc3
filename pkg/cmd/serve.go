package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/serve"
	"github.com/xpdoctor/xpdoctor/pkg/version"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// serveFlags are serve's flags: diagnose's for the cluster and registries,
// and how often, where and what to publish.
type serveFlags struct {
	diagnoseFlags
	Interval      time.Duration
	Debounce      time.Duration
	ListenAddress string
	RecordEvents  bool
}

// debounceSpan is how much longer than --debounce a diagnosis may wait
// while changes keep coming.
const debounceSpan = 6

// annotationStopsOnSignal marks a command that runs until it is told to
// stop: SIGTERM or SIGINT ends it with exit 0 once it drained (Main).
const annotationStopsOnSignal = "xpdoctor.io/stops-on-signal"

const serveLong = `Serve runs in the cluster, as a Deployment (docs/serve.yaml), for as long as
it is let run. It diagnoses every package at start, after each change to a
Provider, Function, Configuration, their revisions, ImageConfigs, the Lock or
DeploymentRuntimeConfigs (watched, not polled; a burst of changes is
diagnosed once, --debounce after the last), and at least every --interval,
with the same decisions as "%[1]s diagnose".

It serves on --listen-address:
  /metrics  Prometheus metrics: xpdoctor_findings{code,severity,kind,name}
            (1 while a finding is present; the series is deleted when it is
            gone), xpdoctor_last_run_timestamp_seconds,
            xpdoctor_run_duration_seconds, xpdoctor_runs_total{result,trigger},
            xpdoctor_registry_requests_total{registry,method,code},
            xpdoctor_registry_request_duration_seconds{registry,method},
            xpdoctor_events_total{result}
  /healthz  200 while the process serves
  /readyz   200 once a diagnosis succeeded

With --record-events, each new finding becomes one Event on its package
(reason: the finding code; reportingController: xpdoctor): a finding that
stays is one Event, one that comes back counts on it. Those Events are the
only objects serve writes. Logs are JSON lines on stderr (-v 1: changes and
every registry request). SIGTERM stops it: the diagnosis under way ends, the
HTTP server drains, exit 0.`

func newServeCommand(s IOStreams) *cobra.Command {
	f := &serveFlags{diagnoseFlags: *newDiagnoseFlags()}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Diagnose continuously in the cluster: Prometheus metrics and Events",
		Long:  fmt.Sprintf(serveLong, displayName()),
		Example: exampleText(
			"# In the cluster (see docs/serve.yaml): every 5 minutes and on changes, with Events",
			"$0 serve --record-events",
			"",
			"# From a workstation, against the current context",
			"$0 serve --listen-address 127.0.0.1:8080 -v 1",
		),
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		Annotations:       map[string]string{annotationStopsOnSignal: "true"},
		RunE:              func(c *cobra.Command, _ []string) error { return f.run(c.Context(), s) },
	}
	f.addCluster(c, s, 2*time.Minute)
	f.addJudging(c)
	c.Flags().Lookup("timeout").Usage = "give up on one diagnosis after this long"
	c.Flags().DurationVar(&f.Interval, "interval", 5*time.Minute, "diagnose at least this often")
	c.Flags().DurationVar(&f.Debounce, "debounce", 5*time.Second, fmt.Sprintf("after a change, wait this long without another before diagnosing (at most %d times as long while changes keep coming)", debounceSpan))
	c.Flags().StringVar(&f.ListenAddress, "listen-address", ":8080", "serve /metrics, /healthz and /readyz on this address")
	c.Flags().BoolVar(&f.RecordEvents, "record-events", false, "record each new finding as an Event on its package (needs create and patch on events in namespace default)")
	return c
}

// options validates the flags and maps them to serve's options (nothing
// is read or listened on yet).
func (f *serveFlags) options(s IOStreams) (serve.Options, error) {
	o, err := f.doctorOptions(nil)
	if err != nil {
		return serve.Options{}, err
	}
	level := slog.LevelInfo
	if f.Verbose > 0 {
		level = slog.LevelDebug
	}
	// stderr is a SafeWriter: each record, written whole, is redacted.
	log := slog.New(slog.NewJSONHandler(s.ErrOut, &slog.HandlerOptions{Level: level})).With("version", version.Get().Version)
	o.Registry = append(o.Registry, xpkg.WithWarnings(func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) }))
	if f.Verbose > 0 {
		o.Registry = append(o.Registry, xpkg.WithLogger(func(format string, args ...any) { log.Debug("registry", "request", fmt.Sprintf(format, args...)) }))
	}
	instance, _ := os.Hostname() // a pod's hostname is its name
	so := serve.Options{Doctor: o, Interval: f.Interval, Debounce: f.Debounce, MaxDelay: debounceSpan * f.Debounce,
		RunTimeout: f.Timeout, Address: f.ListenAddress, RecordEvents: f.RecordEvents, Instance: instance, Log: log}
	if err := so.Validate(); err != nil {
		return serve.Options{}, usageErrorf("%v", err)
	}
	return so, nil
}

func (f *serveFlags) run(ctx context.Context, s IOStreams) error {
	o, err := f.options(s)
	if err != nil {
		return err
	}
	return serve.Run(ctx, o)
}
