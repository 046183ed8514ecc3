package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/kubeflags"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var (
	providers = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "providers"}
	amd64     = v1.Platform{OS: "linux", Architecture: "amd64"}
	// Crossplane v2.1.3's condition for a package image without package.yaml
	// (pkg/cmd/testdata/cluster.yaml, from internal/xpkg/parser@v2.1.3).
	noPackageYAML = `Package revision health is "False" with message: cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: false): EOF`
)

// request is one request to the API server, as the counting transport saw it.
type request struct {
	method, path string
	watch        bool
	code         int
}

// apiRequests counts every request to the API server.
type apiRequests struct {
	mu  sync.Mutex
	all []request
}

func (a *apiRequests) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		rq := request{method: r.Method, path: r.URL.Path, watch: r.URL.Query().Get("watch") == "true"}
		if err == nil {
			rq.code = resp.StatusCode
		}
		a.mu.Lock()
		a.all = append(a.all, rq)
		a.mu.Unlock()
		return resp, err
	})
}

func (a *apiRequests) snapshot() []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]request(nil), a.all...)
}

// listsAndWatches counts the Lists and Watches of a cluster-scoped resource.
func (a *apiRequests) listsAndWatches(gvr schema.GroupVersionResource) (lists, watches int) {
	path := "/apis/" + gvr.Group + "/" + gvr.Version + "/" + gvr.Resource
	for _, r := range a.snapshot() {
		if r.method != http.MethodGet || r.path != path {
			continue
		}
		if r.watch {
			watches++
		} else {
			lists++
		}
	}
	return lists, watches
}

// scrape reads /metrics as Prometheus would, and parses it.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return mfs
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// findingSeries are the series of xpdoctor_findings: code/kind/name -> value.
func findingSeries(mfs map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mfs[MetricFindings].GetMetric() {
		l := labelsOf(m)
		out[l["code"]+"/"+l["kind"]+"/"+l["name"]] = m.GetGauge().GetValue()
	}
	return out
}

// counter sums a counter's series whose labels include want.
func counter(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, m := range mfs[name].GetMetric() {
		l, ok := labelsOf(m), true
		for k, v := range want {
			ok = ok && l[k] == v
		}
		if ok {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func status(t *testing.T, addr, path string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// eventually waits for cond, failing after a minute with what it waited for.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// manifestObjects are the objects of docs/serve.yaml of these kinds.
func manifestObjects(t *testing.T, kinds ...string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "serve.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("docs/serve.yaml: %v", err)
		}
		for _, k := range kinds {
			if head.Kind == k {
				keep = append(keep, doc)
			}
		}
	}
	return strings.Join(keep, "\n---\n")
}

const crossplaneFixture = `apiVersion: v1
kind: Namespace
metadata: {name: crossplane-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: crossplane, namespace: crossplane-system, labels: {app: crossplane}}
spec:
  selector: {matchLabels: {app: crossplane}}
  template:
    metadata: {labels: {app: crossplane}}
    spec:
      serviceAccountName: crossplane
      containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:v2.1.3"}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: crossplane, namespace: crossplane-system}
---
apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: provider-nop}
spec: {package: "REGISTRY/upbound/provider-nop:v1.6.0"}
status:
  currentRevision: provider-nop-1a2b3c4d5e6f
  currentIdentifier: REGISTRY/upbound/provider-nop:v1.6.0
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
  - {type: Healthy, status: "True", reason: HealthyPackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
`

// setProvider makes provider-nop install ref, healthy or not, as Crossplane
// would (spec, then status).
func setProvider(t *testing.T, dyn dynamic.Interface, ref string, healthy bool) {
	t.Helper()
	ctx := context.Background()
	p, err := dyn.Resource(providers).Get(ctx, "provider-nop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(p.Object, ref, "spec", "package")
	if p, err = dyn.Resource(providers).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cond := map[string]any{"type": "Healthy", "status": "True", "reason": "HealthyPackageRevision", "lastTransitionTime": "2026-11-27T05:00:00Z"}
	if !healthy {
		cond = map[string]any{"type": "Healthy", "status": "False", "reason": "UnhealthyPackageRevision", "lastTransitionTime": "2026-11-27T05:00:00Z", "message": noPackageYAML}
	}
	_ = unstructured.SetNestedSlice(p.Object, []any{
		map[string]any{"type": "Installed", "status": "True", "reason": "ActivePackageRevision", "lastTransitionTime": "2026-11-27T05:00:00Z"}, cond,
	}, "status", "conditions")
	_ = unstructured.SetNestedField(p.Object, ref, "status", "currentIdentifier")
	if _, err := dyn.Resource(providers).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// touch changes provider-nop without changing what a diagnosis decides.
func touch(t *testing.T, dyn dynamic.Interface, n int) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"test.xpdoctor.io/touch":"%d"}}}`, n)
	if _, err := dyn.Resource(providers).Patch(context.Background(), "provider-nop", "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// xpdoctorEvents are the Events serve recorded, by reason.
func xpdoctorEvents(t *testing.T, dyn dynamic.Interface) map[string][]unstructured.Unstructured {
	t.Helper()
	l, err := dyn.Resource(eventsGVR).Namespace(eventNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: labelManagedBy + "=xpdoctor"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]unstructured.Unstructured{}
	for _, e := range l.Items {
		r, _, _ := unstructured.NestedString(e.Object, "reason")
		out[r] = append(out[r], e)
	}
	return out
}

func seriesCount(e unstructured.Unstructured) int64 {
	c, _, _ := unstructured.NestedInt64(e.Object, "series", "count")
	return c
}

// TestServeBreakFixUnderManifestRBAC runs serve as the ServiceAccount of
// docs/serve.yaml, with the roles the manifest grants it, against a real
// API server, with an interval of an hour: every diagnosis after the first
// is one a watched change started. A package that breaks shows up in the
// scraped metrics and as exactly one Event, which stays one Event while the
// finding stays; fixed, its series disappear; broken again, its Event
// counts a repeat. The package resources are listed once and watched, and
// the only writes serve makes are Events.
func TestServeBreakFixUnderManifestRBAC(t *testing.T) {
	env := testenv.Start(t, false)
	reg := testregistry.InProcess(t)
	genuine, runtime := reg.Host+"/upbound/provider-nop:v1.6.0", reg.Host+"/mirror/upbound/provider-runtime:v1.6.0"
	if err := xpkgtest.Push(genuine, xpkgtest.Package{Kind: "Provider", Name: "provider-nop", Crossplane: ">=v1.14.0-0", Objects: 1}.Index()); err != nil {
		t.Fatal(err)
	}
	if err := xpkgtest.Push(runtime, xpkgtest.RuntimeImage(amd64)); err != nil {
		t.Fatal(err)
	}
	testenv.Create(t, env.Config, strings.ReplaceAll(crossplaneFixture, "REGISTRY", reg.Host))
	testenv.Create(t, env.Config, manifestObjects(t, "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"))
	dyn := dynamic.NewForConfigOrDie(env.Config)

	kube := kubeflags.NewConfigFlags(true)
	*kube.KubeConfig = env.Kubeconfig
	*kube.Impersonate = "system:serviceaccount:xpdoctor:xpdoctor"
	counted := &apiRequests{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var logs bytes.Buffer
	var logMu sync.Mutex
	o := Options{
		Doctor:   doctor.Options{Kube: kube, ReadPullSecrets: true, Redactor: redact.New(), WrapTransport: counted.wrap},
		Interval: time.Hour, Debounce: 100 * time.Millisecond, MaxDelay: time.Second, RunTimeout: time.Minute,
		Listener: ln, RecordEvents: true, Instance: "xpdoctor-test",
		Log: slog.New(slog.NewJSONHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			logMu.Lock()
			t.Logf("serve's logs:\n%s", logs.String())
			logMu.Unlock()
		}
	}()

	// Healthy: ready after the first run, and no finding about the package.
	eventually(t, "/readyz", func() bool { return status(t, addr, "/readyz") == http.StatusOK })
	if c := status(t, addr, "/healthz"); c != http.StatusOK {
		t.Fatalf("/healthz: %d", c)
	}
	mfs := scrape(t, addr)
	if s := findingSeries(mfs); len(s) != 0 {
		t.Fatalf("a healthy cluster has findings: %v", s)
	}
	if mfs[MetricLastRun].GetMetric()[0].GetGauge().GetValue() < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatalf("%s is not the last run's time: %v", MetricLastRun, mfs[MetricLastRun])
	}
	changeRuns := func() float64 {
		return counter(scrape(t, addr), MetricRuns, map[string]string{"result": "success", "trigger": "change"})
	}

	// Broken: the runtime image mirrored in place of the package.
	setProvider(t, dyn, runtime, false)
	broken := "PackageYAMLNotFound/Provider/provider-nop"
	eventually(t, broken+" in the metrics", func() bool { return findingSeries(scrape(t, addr))[broken] == 1 })
	if sev := severityOf(scrape(t, addr), "PackageYAMLNotFound"); sev != "error" {
		t.Fatalf("severity label %q", sev)
	}
	evs := xpdoctorEvents(t, dyn)
	if len(evs["PackageYAMLNotFound"]) != 1 {
		t.Fatalf("want one PackageYAMLNotFound event, got %d: %v", len(evs["PackageYAMLNotFound"]), evs)
	}
	p, err := dyn.Resource(providers).Get(context.Background(), "provider-nop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := evs["PackageYAMLNotFound"][0].Object
	for path, want := range map[string]string{
		"reportingController": "xpdoctor", "reportingInstance": "xpdoctor-test", "action": "Diagnose", "type": "Warning",
		"regarding.kind": "Provider", "regarding.name": "provider-nop", "regarding.apiVersion": "pkg.crossplane.io/v1", "regarding.uid": string(p.GetUID()),
	} {
		if got, _, _ := unstructured.NestedString(e, strings.Split(path, ".")...); got != want {
			t.Errorf("event %s = %q, want %q", path, got, want)
		}
	}
	if note, _, _ := unstructured.NestedString(e, "note"); !strings.HasPrefix(note, "[error] ") || !strings.Contains(note, "package.yaml") || len(note) > noteLimit {
		t.Errorf("event note %q", note)
	}

	// Steady: two more diagnoses, started by changes that decide nothing new.
	for i := range 2 {
		before := changeRuns()
		touch(t, dyn, i)
		eventually(t, "a diagnosis after a change", func() bool { return changeRuns() > before })
	}
	for reason, es := range xpdoctorEvents(t, dyn) {
		if len(es) != 1 || seriesCount(es[0]) != 0 {
			t.Fatalf("a steady %s finding is %d events (series count %d), want one", reason, len(es), seriesCount(es[0]))
		}
	}

	// Fixed: every series about the package is deleted, the Events stay as they were.
	setProvider(t, dyn, genuine, true)
	eventually(t, "the package's series to disappear", func() bool { return len(findingSeries(scrape(t, addr))) == 0 })
	if got := xpdoctorEvents(t, dyn); len(got["PackageYAMLNotFound"]) != 1 || seriesCount(got["PackageYAMLNotFound"][0]) != 0 {
		t.Fatalf("after the fix: %v", got)
	}

	// Broken again: the same Event counts the repeat.
	setProvider(t, dyn, runtime, false)
	eventually(t, "the repeat in the event's series", func() bool {
		es := xpdoctorEvents(t, dyn)["PackageYAMLNotFound"]
		return len(es) == 1 && seriesCount(es[0]) == 2
	})
	mfs = scrape(t, addr)
	if findingSeries(mfs)[broken] != 1 || counter(mfs, MetricEvents, map[string]string{"result": "repeated"}) < 1 {
		t.Fatalf("broken again: %v, events %v", findingSeries(mfs), mfs[MetricEvents])
	}
	if n := counter(mfs, MetricRuns, map[string]string{"trigger": "interval"}); n != 0 {
		t.Fatalf("%v runs on the interval of an hour", n)
	}
	if n := counter(mfs, MetricRegistryRequests, nil); n == 0 {
		t.Fatal("no registry request counted")
	}

	// Watched, not polled: the package resources were listed once (or,
	// with watch lists, not at all) for every diagnosis since the start.
	lists, watches := counted.listsAndWatches(providers)
	if runs := counter(mfs, MetricRuns, map[string]string{"result": "success"}); lists > 1 || watches == 0 || runs < 6 {
		t.Fatalf("providers: %d lists and %d watches for %v runs", lists, watches, runs)
	}
	// The only writes are Events, and the manifest's roles allow every request.
	for _, r := range counted.snapshot() {
		if r.code == http.StatusForbidden {
			t.Errorf("forbidden under the manifest's roles: %s %s", r.method, r.path)
		}
		if r.method == http.MethodGet {
			continue
		}
		if (r.method != http.MethodPost && r.method != http.MethodPatch) || !strings.HasPrefix(r.path, "/apis/events.k8s.io/v1/namespaces/default/events") {
			t.Errorf("serve wrote something other than an Event: %s %s", r.method, r.path)
		}
	}

	cancel()
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("Run after its context ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func severityOf(mfs map[string]*dto.MetricFamily, code string) string {
	for _, m := range mfs[MetricFindings].GetMetric() {
		if l := labelsOf(m); l["code"] == code {
			return l["severity"]
		}
	}
	return ""
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A restarted serve does not announce a steady finding again; a finding
// that comes back after it counts on the same Event; a hostile message is
// redacted, escaped and bounded in the note the API server accepts.
func TestEventsAcrossRestarts(t *testing.T) {
	env := testenv.Start(t, false)
	testenv.Create(t, env.Config, strings.ReplaceAll(crossplaneFixture, "REGISTRY", "registry.example.com"))
	dyn := dynamic.NewForConfigOrDie(env.Config)
	red := redact.New()
	red.Add("s3cr3t-registry-token")
	counts := map[string]int{}
	newRecorder := func() *recorder {
		return &recorder{dyn: dyn, instance: "xpdoctor-0", text: report.Text{Redactor: red}, log: slog.New(slog.DiscardHandler),
			regarding: func(string, string) (string, types.UID) { return "pkg.crossplane.io/v1", "" },
			counted:   func(r string) { counts[r]++ }}
	}
	f := findings.Finding{Code: findings.RegistryUnauthorized, Severity: findings.Error, Subject: findings.Subject{Kind: "Provider", Name: "provider-nop"},
		Message: "\x1b[31mGET https://robot:s3cr3t-registry-token@registry.example.com/v2/\x1b[0m 401 " + strings.Repeat("denied ", 400)}
	ctx, now := context.Background(), time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

	first := newRecorder()
	first.record(ctx, []findings.Finding{f}, now)
	first.record(ctx, []findings.Finding{f}, now.Add(time.Minute))
	second := newRecorder() // a new pod
	second.record(ctx, []findings.Finding{f}, now.Add(2*time.Minute))
	evs := xpdoctorEvents(t, dyn)["RegistryUnauthorized"]
	if len(evs) != 1 || seriesCount(evs[0]) != 0 || counts["created"] != 1 || counts["repeated"] != 0 {
		t.Fatalf("steady across a restart: %d events, series %d, %v", len(evs), seriesCount(evs[0]), counts)
	}
	note, _, _ := unstructured.NestedString(evs[0].Object, "note")
	if len(note) > noteLimit || strings.Contains(note, "s3cr3t") || strings.Contains(note, "\x1b") || !strings.HasSuffix(note, "…") {
		t.Fatalf("note not made safe (%d bytes): %q", len(note), note)
	}

	second.record(ctx, nil, now.Add(3*time.Minute))
	second.record(ctx, []findings.Finding{f}, now.Add(4*time.Minute))
	third := newRecorder() // it went away and came back while no pod ran
	third.record(ctx, nil, now.Add(5*time.Minute))
	third.record(ctx, []findings.Finding{f}, now.Add(6*time.Minute))
	evs = xpdoctorEvents(t, dyn)["RegistryUnauthorized"]
	last, _, _ := unstructured.NestedString(evs[0].Object, "series", "lastObservedTime")
	if len(evs) != 1 || seriesCount(evs[0]) != 3 || counts["repeated"] != 2 || last != "2026-11-27T06:06:00.000000Z" {
		t.Fatalf("repeats: %d events, series %d (%s), %v", len(evs), seriesCount(evs[0]), last, counts)
	}
}

// With only the read-only roles of docs/rbac.yaml (list, no watch), serve
// still diagnoses, on the interval, from fresh Lists: a cache it cannot
// keep current by a watch is never read, and a watch it may not open is not
// retried (one warning per resource, no relist every 30s).
func TestServeWithoutWatchPermission(t *testing.T) {
	env := testenv.Start(t, false)
	reg := testregistry.InProcess(t)
	genuine, runtime := reg.Host+"/upbound/provider-nop:v1.6.0", reg.Host+"/mirror/upbound/provider-runtime:v1.6.0"
	if err := xpkgtest.Push(genuine, xpkgtest.Package{Kind: "Provider", Name: "provider-nop", Crossplane: ">=v1.14.0-0", Objects: 1}.Index()); err != nil {
		t.Fatal(err)
	}
	if err := xpkgtest.Push(runtime, xpkgtest.RuntimeImage(amd64)); err != nil {
		t.Fatal(err)
	}
	testenv.Create(t, env.Config, strings.ReplaceAll(crossplaneFixture, "REGISTRY", reg.Host))
	rbac, err := os.ReadFile(filepath.Join("..", "..", "docs", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Create(t, env.Config, string(rbac)+`
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: carol}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: xpdoctor-diagnose}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: carol, namespace: crossplane-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: xpdoctor-pull-secrets}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
`)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	kube := kubeflags.NewConfigFlags(true)
	*kube.KubeConfig = env.Kubeconfig
	*kube.Impersonate = "carol"
	counted := &apiRequests{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var logs bytes.Buffer
	var logMu sync.Mutex
	o := Options{
		Doctor:   doctor.Options{Kube: kube, Redactor: redact.New(), WrapTransport: counted.wrap},
		Interval: 500 * time.Millisecond, MaxDelay: time.Second, RunTimeout: time.Minute, Listener: ln,
		Log: slog.New(slog.NewJSONHandler(lockedWriter{&logs, &logMu}, nil)),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("serve's logs:\n%s", logs.String())
		}
	}()
	eventually(t, "/readyz", func() bool { return status(t, addr, "/readyz") == http.StatusOK })
	setProvider(t, dyn, runtime, false)
	eventually(t, "the finding, on the interval", func() bool {
		return findingSeries(scrape(t, addr))["PackageYAMLNotFound/Provider/provider-nop"] == 1
	})
	setProvider(t, dyn, genuine, true)
	eventually(t, "the fix, on the interval", func() bool { return len(findingSeries(scrape(t, addr))) == 0 })

	mfs := scrape(t, addr)
	lists, _ := counted.listsAndWatches(providers)
	runs := counter(mfs, MetricRuns, map[string]string{"result": "success"})
	if counter(mfs, MetricRuns, map[string]string{"trigger": "change"}) != 0 || float64(lists) < runs || lists > int(runs)+2 {
		t.Fatalf("%d lists of providers for %v runs", lists, runs)
	}
	logMu.Lock()
	warnings := strings.Count(logs.String(), `"resource":"providers"`)
	logMu.Unlock()
	if warnings != 1 {
		t.Fatalf("%d warnings about the providers watch, want 1", warnings)
	}
}
