package serve

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

// Metric names. Scripts and alerts match on them: they are stable.
const (
	MetricFindings         = "xpdoctor_findings"
	MetricFindingsOmitted  = "xpdoctor_findings_omitted"
	MetricLastRun          = "xpdoctor_last_run_timestamp_seconds"
	MetricRunDuration      = "xpdoctor_run_duration_seconds"
	MetricRuns             = "xpdoctor_runs_total"
	MetricRegistryRequests = "xpdoctor_registry_requests_total"
	MetricRegistryDuration = "xpdoctor_registry_request_duration_seconds"
	MetricEvents           = "xpdoctor_events_total"
)

// Bounds on what outside text may put into a label: a package name is a
// DNS subdomain (at most 253 bytes), as is a registry host.
const (
	maxLabelBytes = 253
	// maxFindingSeries bounds the findings gauge; MetricFindingsOmitted
	// counts what did not fit.
	maxFindingSeries = 10000
)

// findingKey is one series of MetricFindings.
type findingKey struct{ code, severity, kind, name string }

// metrics are the serve metrics, on a registry of their own (no global state).
type metrics struct {
	reg  *prometheus.Registry
	text report.Text

	findings        *prometheus.GaugeVec
	omitted         prometheus.Gauge
	lastRun         prometheus.Gauge
	duration        prometheus.Histogram
	runs            *prometheus.CounterVec
	registryReqs    *prometheus.CounterVec
	registryLatency *prometheus.HistogramVec
	events          *prometheus.CounterVec

	mu      sync.Mutex
	present map[findingKey]bool
	// maxSeries is maxFindingSeries (tests lower it).
	maxSeries int
}

func newMetrics(text report.Text) *metrics {
	m := &metrics{
		reg:  prometheus.NewRegistry(),
		text: text,
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricFindings,
			Help: "Findings of the last successful diagnosis: 1 while present; the series is deleted when the finding is gone. kind and name are empty for findings about the whole cluster."},
			[]string{"code", "severity", "kind", "name"}),
		omitted: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricFindingsOmitted,
			Help: "Findings of the last successful diagnosis not exported as series because there were more than " + strconv.Itoa(maxFindingSeries) + "."}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricLastRun,
			Help: "When the last successful diagnosis ended, in seconds since the epoch."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricRunDuration,
			Help:    "How long each diagnosis took, successful or not.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRuns,
			Help: "Diagnoses run, by result (success or error) and trigger (start, change, interval, or retry after a failure)."},
			[]string{"result", "trigger"}),
		registryReqs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRegistryRequests,
			Help: "Requests to registries, each attempt and redirect counted, by host, method and status code (\"error\" when no response came)."},
			[]string{"registry", "method", "code"}),
		registryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricRegistryDuration,
			Help:    "Time to the response headers of each registry request, by host and method.",
			Buckets: prometheus.DefBuckets}, []string{"registry", "method"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricEvents,
			Help: "Kubernetes Events about new findings, by result: created, repeated (a finding that came back: the event's series counts it) or failed."},
			[]string{"result"}),
		present:   map[findingKey]bool{},
		maxSeries: maxFindingSeries,
	}
	m.reg.MustRegister(m.findings, m.omitted, m.lastRun, m.duration, m.runs, m.registryReqs, m.registryLatency, m.events,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handlerFor serves the metrics in the format the scraper asks for.
func (m *metrics) handlerFor() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// label makes outside text a label value: redacted, control characters
// escaped, at most maxLabelBytes, valid UTF-8 (the client panics on
// anything else).
func (m *metrics) label(s string) string {
	return strings.ToValidUTF8(m.text.Bounded(s, maxLabelBytes), "\uFFFD")
}

// setFindings makes the findings gauge what fs says: a series per present
// finding, and none for those gone. It returns the series it added and
// those it deleted.
func (m *metrics) setFindings(fs []findings.Finding) (appeared, resolved []findingKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[findingKey]bool{}
	omitted := 0
	for _, f := range fs {
		k := findingKey{code: m.label(string(f.Code)), severity: string(f.Severity), kind: m.label(f.Subject.Kind), name: m.label(f.Subject.Name)}
		if now[k] {
			continue
		}
		if len(now) >= m.maxSeries {
			omitted++
			continue
		}
		now[k] = true
	}
	for k := range m.present {
		if !now[k] {
			m.findings.DeleteLabelValues(k.code, k.severity, k.kind, k.name)
			resolved = append(resolved, k)
		}
	}
	for k := range now {
		if !m.present[k] {
			appeared = append(appeared, k)
		}
		m.findings.WithLabelValues(k.code, k.severity, k.kind, k.name).Set(1)
	}
	m.present = now
	m.omitted.Set(float64(omitted))
	sortKeys(appeared)
	sortKeys(resolved)
	return appeared, resolved
}

func sortKeys(ks []findingKey) {
	slices.SortFunc(ks, func(a, b findingKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.name, b.name), cmp.Compare(a.code, b.code), cmp.Compare(a.severity, b.severity))
	})
}

// observeRun records one diagnosis.
func (m *metrics) observeRun(trigger string, took time.Duration, end time.Time, err error) {
	m.duration.Observe(took.Seconds())
	result := "success"
	if err != nil {
		result = "error"
	} else {
		m.lastRun.Set(float64(end.UnixNano()) / 1e9)
	}
	m.runs.WithLabelValues(result, trigger).Inc()
}

// instrument wraps a registry client's transport (xpkg.WithWrapTransport).
func (m *metrics) instrument(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		host, method := m.label(strings.ToLower(r.URL.Host)), r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			method = "other"
		}
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		m.registryReqs.WithLabelValues(host, method, code).Inc()
		m.registryLatency.WithLabelValues(host, method).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
