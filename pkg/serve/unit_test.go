package serve

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

func TestDueAt(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	s := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	for _, c := range []struct {
		name        string
		first, last time.Time
		want        time.Time
	}{
		{"one change waits the quiet time", s(0), s(0), s(5)},
		{"a later change moves the start", s(0), s(3), s(8)},
		{"a burst is diagnosed at the longest wait at the latest", s(0), s(28), s(30)},
		{"changes past the longest wait start at once", s(0), s(40), s(30)},
	} {
		if got := dueAt(c.first, c.last, 5*time.Second, 30*time.Second); !got.Equal(c.want) {
			t.Errorf("%s: %s, want %s", c.name, got.Sub(t0), c.want.Sub(t0))
		}
	}
}

// gather is what m exports: the series of each metric.
func gather(t *testing.T, m *metrics) map[string][]*dto.Metric {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*dto.Metric{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetMetric()
	}
	return out
}

// value is the value of the series of a metric with exactly these labels (-1: none).
func value(t *testing.T, m *metrics, name string, labels ...string) float64 {
	t.Helper()
	for _, s := range gather(t, m)[name] {
		var got []string
		for _, l := range s.GetLabel() {
			got = append(got, l.GetValue())
		}
		if strings.Join(got, "\x00") == strings.Join(labels, "\x00") {
			switch {
			case s.Gauge != nil:
				return s.GetGauge().GetValue()
			case s.Counter != nil:
				return s.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func finding(code findings.Code, sev findings.Severity, kind, name string) findings.Finding {
	return findings.Finding{Code: code, Severity: sev, Subject: findings.Subject{Kind: kind, Name: name}}
}

// The gauge has one series per present finding, and none for those gone;
// outside text in labels is redacted, escaped, bounded and valid UTF-8.
func TestFindingsGauge(t *testing.T) {
	r := redact.New()
	r.Add("s3cr3t-token-value")
	m := newMetrics(report.Text{Redactor: r})
	a := finding(findings.PackageYAMLNotFound, findings.Error, "Provider", "provider-a")
	b := finding(findings.BaseLayerAnnotationMissing, findings.Warning, "Provider", "provider-a")
	cluster := finding(findings.PermissionDenied, findings.Error, "", "")
	appeared, resolved := m.setFindings([]findings.Finding{a, b, b, cluster})
	series := func() int { return len(gather(t, m)[MetricFindings]) }
	if len(appeared) != 3 || len(resolved) != 0 || series() != 3 {
		t.Fatalf("appeared %v resolved %v, %d series", appeared, resolved, series())
	}
	// Labels in name order: code, kind, name, severity.
	if v := value(t, m, MetricFindings, "PermissionDenied", "", "", "error"); v != 1 {
		t.Fatalf("cluster-wide finding: %v", v)
	}
	appeared, resolved = m.setFindings([]findings.Finding{b})
	if len(appeared) != 0 || len(resolved) != 2 || series() != 1 || value(t, m, MetricFindings, "PackageYAMLNotFound", "Provider", "provider-a", "error") != -1 {
		t.Fatalf("after a fix: appeared %v resolved %v, %d series", appeared, resolved, series())
	}
	if _, resolved = m.setFindings(nil); len(resolved) != 1 || series() != 0 {
		t.Fatalf("healthy: %d series", series())
	}

	hostile := "\x1b]52;c;s3cr3t-token-value\x07provider-\xff" + strings.Repeat("x", 1000)
	m.setFindings([]findings.Finding{finding(findings.PackageUnhealthy, findings.Error, "Provider", hostile)})
	rec := httptest.NewRecorder()
	m.handlerFor().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	line := regexp.MustCompile(`(?m)^xpdoctor_findings\{.*$`).FindString(body)
	name := regexp.MustCompile(`name="([^"]*)"`).FindStringSubmatch(line)
	if line == "" || name == nil {
		t.Fatalf("no series:\n%s", body)
	}
	if strings.Contains(body, "s3cr3t") || strings.ContainsAny(line, "\x1b\x07") || !utf8.ValidString(body) || len(name[1]) > maxLabelBytes+3 {
		t.Fatalf("label not made safe (%d bytes): %q", len(name[1]), line)
	}

	m.maxSeries = 2
	m.setFindings([]findings.Finding{a, b, cluster})
	if n, o := series(), value(t, m, MetricFindingsOmitted); n != 2 || o != 1 {
		t.Fatalf("over the bound: %d series, %v omitted", n, o)
	}
}

// Every registry request is counted and timed by host, method and status,
// a failed one as "error".
func TestRegistryRequestMetrics(t *testing.T) {
	m := newMetrics(report.Text{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/missing/manifests/v1" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: m.instrument(http.DefaultTransport)}
	for _, p := range []string{"/v2/", "/v2/missing/manifests/v1", "/v2/"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if _, err := (&http.Client{Transport: m.instrument(http.DefaultTransport)}).Head("http://127.0.0.1:1/v2/"); err == nil {
		t.Fatal("no error from a closed port")
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		// Labels in name order: code, method, registry.
		{[]string{"200", "GET", host}, 2},
		{[]string{"404", "GET", host}, 1},
		{[]string{"error", "HEAD", "127.0.0.1:1"}, 1},
	} {
		if got := value(t, m, MetricRegistryRequests, c.labels...); got != c.want {
			t.Errorf("%v: %v requests, want %v", c.labels, got, c.want)
		}
	}
	if n := len(gather(t, m)[MetricRegistryDuration]); n != 2 {
		t.Errorf("%d latency series, want one per host and method", n)
	}
}

// An Event's name is the same for the same finding, different for any
// other, and a valid name however long the package's.
func TestEventName(t *testing.T) {
	a := eventName(subject{kind: "Provider", name: "provider-a", code: findings.PackageYAMLNotFound})
	if a != eventName(subject{kind: "Provider", name: "provider-a", code: findings.PackageYAMLNotFound}) {
		t.Fatal("not stable")
	}
	for _, other := range []subject{
		{kind: "Function", name: "provider-a", code: findings.PackageYAMLNotFound},
		{kind: "Provider", name: "provider-b", code: findings.PackageYAMLNotFound},
		{kind: "Provider", name: "provider-a", code: findings.ManifestNotFound},
	} {
		if eventName(other) == a {
			t.Errorf("%v has the name of another finding", other)
		}
	}
	dns := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	long := eventName(subject{kind: "Provider", name: strings.Repeat("a.b-", 63) + "c", code: findings.PackageUnhealthy})
	if len(long) > 253 || !dns.MatchString(long) || !dns.MatchString(a) || !strings.HasPrefix(a, "provider-a.xpdoctor.") {
		t.Fatalf("invalid names: %q (%d), %q", long, len(long), a)
	}
}

func TestRetryAfter(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 4: 40 * time.Second, 6: 160 * time.Second, 7: 5 * time.Minute, 100: 5 * time.Minute} {
		if got := retryAfter(n, 5*time.Minute); got != want {
			t.Errorf("after %d failures: %s, want %s", n, got, want)
		}
	}
}

// serve's Kubernetes client sends reads and Event writes, and refuses any
// other request before it reaches the API server.
func TestOnlyEventsAreWritten(t *testing.T) {
	sent := 0
	rt := onlyEvents(roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	}))
	for _, c := range []struct {
		method, path string
		allowed      bool
	}{
		{http.MethodGet, "/apis/pkg.crossplane.io/v1/providers", true},
		{http.MethodPost, "/apis/events.k8s.io/v1/namespaces/default/events", true},
		{http.MethodPatch, "/apis/events.k8s.io/v1/namespaces/default/events/provider-nop.xpdoctor.0123456789abcdef", true},
		{http.MethodPost, "/apis/events.k8s.io/v1/namespaces/kube-system/events", false},
		{http.MethodPatch, "/apis/events.k8s.io/v1/namespaces/default/events/x/status", false},
		{http.MethodDelete, "/apis/events.k8s.io/v1/namespaces/default/events/x", false},
		{http.MethodPut, "/apis/events.k8s.io/v1/namespaces/default/events/x", false},
		{http.MethodPatch, "/apis/pkg.crossplane.io/v1/providers/provider-nop", false},
		{http.MethodPost, "/api/v1/namespaces/default/events", false},
		{http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", false},
	} {
		before := sent
		req := httptest.NewRequest(c.method, "https://apiserver"+c.path, strings.NewReader("{}"))
		_, err := rt.RoundTrip(req)
		if got := sent > before; got != c.allowed || (err == nil) != c.allowed {
			t.Errorf("%s %s: sent %v (err %v), want sent %v", c.method, c.path, got, err, c.allowed)
		}
	}
}
