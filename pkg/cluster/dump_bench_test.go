package cluster

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// writeDump writes what `kubectl get providers,providerrevisions,deployments,
// pods,events -A -o yaml` prints for a large cluster: 300 Providers with
// their revisions, Deployments and Pods, then events events in the shape
// kubectl prints them (every field of a core/v1 Event), a third Warning,
// about the packages, their revisions, their pods and other pods in other
// namespaces, with messages that differ per object so that few merge.
// The Crossplane messages come from real Crossplane: revision/reconciler.go
// and apis/pkg/v1/conditions.go@v2.3.4; the kubelet ones from
// pkg/kubelet/images/image_manager.go@v1.37.2.
// It returns the total count of the events diagnose keeps.
func writeDump(w io.Writer, events int) (int64, error) {
	var kept int64
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprint(bw, "apiVersion: v1\nitems:\n")
	const providers = 300
	for i := 0; i < providers; i++ {
		name := fmt.Sprintf("provider-aws-%03d", i)
		rev := name + "-9c0ffee00001"
		fmt.Fprintf(bw, `- apiVersion: pkg.crossplane.io/v1
  kind: Provider
  metadata:
    creationTimestamp: "2026-11-27T04:00:00Z"
    generation: 1
    name: %[1]s
    resourceVersion: "%[3]d"
    uid: 6f1c2d3e-4b5a-6978-8a9b-%012[3]d
  spec:
    package: 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound/%[1]s:v1.6.0
    packagePullPolicy: IfNotPresent
    revisionActivationPolicy: Automatic
    revisionHistoryLimit: 1
  status:
    conditions:
    - lastTransitionTime: "2026-11-27T04:00:00Z"
      reason: ActivePackageRevision
      status: "True"
      type: Installed
    - lastTransitionTime: "2026-11-27T04:00:00Z"
      message: 'Package revision health is "False" with message: cannot initialize
        parser backend: couldn''t find "package.yaml" file after checking 1 files
        in the archive (annotated layer: false): EOF'
      reason: UnhealthyPackageRevision
      status: "False"
      type: Healthy
    currentIdentifier: 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound/%[1]s:v1.6.0
    currentRevision: %[2]s
- apiVersion: pkg.crossplane.io/v1
  kind: ProviderRevision
  metadata:
    labels:
      pkg.crossplane.io/package: %[1]s
    name: %[2]s
  spec:
    desiredState: Active
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound/%[1]s:v1.6.0
    revision: 1
- apiVersion: v1
  kind: Pod
  metadata:
    labels:
      pkg.crossplane.io/revision: %[2]s
    name: %[2]s-7d9f8b6c5d-x2x7q
    namespace: crossplane-system
  status:
    phase: Running
    containerStatuses:
    - image: xpkg.upbound.io/upbound/%[1]s:v1.6.0
      name: package-runtime
      ready: true
      restartCount: 0
`, name, rev, 1000+i)
	}
	for e := 0; e < events; e++ {
		i := e % providers
		name := fmt.Sprintf("provider-aws-%03d", i)
		kind, obj, ns, typ, reason, msg := "Pod", fmt.Sprintf("%s-9c0ffee00001-7d9f8b6c5d-x2x7q", name), "crossplane-system", "Normal", "Pulled",
			fmt.Sprintf(`Successfully pulled image "xpkg.upbound.io/upbound/%s:v1.6.0" in %dms (%dms including waiting). Image size: %d bytes.`, name, 100+e%900, 200+e%800, 40_000_000+e)
		if e%6 < 3 {
			kept += int64(1 + e%5)
		}
		switch e % 6 {
		case 0:
			kind, obj, ns, typ, reason = "ProviderRevision", name+"-9c0ffee00001", "default", "Warning", "ParsePackage"
			msg = fmt.Sprintf(`cannot initialize parser backend: couldn't find "package.yaml" file after checking %d files in the archive (annotated layer: false): EOF`, 1+e%7)
		case 1:
			kind, obj, ns, typ, reason = "Provider", name, "default", "Warning", "InstallPackageRevision"
			msg = fmt.Sprintf(`cannot apply package revision: cannot patch object: Operation cannot be fulfilled on providerrevisions.pkg.crossplane.io "%s-9c0ffee00001": the object has been modified; please apply your changes to the latest version and try again (%d)`, name, e)
		case 2:
			obj, ns, typ, reason = fmt.Sprintf("web-%06d-5f7c9d8b6-abcde", e), fmt.Sprintf("team-%03d", e%97), "Warning", "BackOff"
			msg = fmt.Sprintf(`Back-off pulling image "registry.internal.example/team-%03d/web:%d"`, e%97, e)
		case 3:
			obj, ns = fmt.Sprintf("batch-%06d-xk2lp", e), fmt.Sprintf("team-%03d", e%97)
		}
		fmt.Fprintf(bw, `- apiVersion: v1
  count: %[7]d
  firstTimestamp: "2026-11-27T04:00:00Z"
  involvedObject:
    apiVersion: v1
    kind: %[1]s
    name: %[2]s
    namespace: %[3]s
    uid: 1a2b3c4d-5e6f-7081-92a3-%012[8]d
  kind: Event
  lastTimestamp: "2026-11-27T05:%02[9]d:00Z"
%[6]s  metadata:
    name: %[2]s.17f2a3b4%08[8]x
    namespace: %[3]s
    resourceVersion: "%[8]d"
  reason: %[5]s
  source:
    component: kubelet
  type: %[4]s
`, kind, obj, ns, typ, reason, kubectlField("message", msg, "  "), 1+e%5, 200000+e, e%60)
	}
	fmt.Fprint(bw, "kind: List\nmetadata:\n  resourceVersion: \"\"\n")
	return kept, bw.Flush()
}

// TestWriteDumpSize keeps the benchmark's dump at the size it claims.
func TestWriteDumpSize(t *testing.T) {
	var n countingWriter
	if _, err := writeDump(&n, 318_000); err != nil {
		t.Fatal(err)
	}
	if n < 190e6 || n > 210e6 {
		t.Fatalf("the dump is %d bytes, not about 200 MB", n)
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// kubectlField is key: value as kubectl -o yaml prints it (sigs.k8s.io/yaml,
// which folds long strings at 80 columns), indented.
func kubectlField(key, value, indent string) string {
	b, err := yaml.Marshal(map[string]string{key: value})
	if err != nil {
		panic(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	return indent + strings.Join(lines, indent) + "\n"
}

// BenchmarkReadDump reads generated support dumps and reports the peak heap
// in use while reading (sampled every 10 ms), what the snapshot keeps, and
// the time: the 200 MB dump with 318,000 events of the issue, the same
// shape at the largest size accepted (MaxDumpBytes), and a worst case of
// that size in which every event is a distinct Warning diagnose keeps.
func BenchmarkReadDump(b *testing.B) {
	for _, c := range []struct {
		name  string
		write func(io.Writer) (int64, error)
	}{
		{"200MB-318000-events", func(w io.Writer) (int64, error) { return writeDump(w, 318_000) }},
		{"256MiB-400000-events", func(w io.Writer) (int64, error) { return writeDump(w, 400_000) }},
		{"256MiB-every-event-kept", writeWorstDump},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "dump.yaml")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			kept, err := c.write(f)
			if err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			st, _ := os.Stat(path)
			if st.Size() > MaxDumpBytes {
				b.Fatalf("the dump is %d bytes, over MaxDumpBytes", st.Size())
			}
			b.ResetTimer()
			var peak, retained uint64
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				stop := sampleHeap()
				cpu0 := cpuTime()
				s, err := ReadFile(path)
				cpu += cpuTime() - cpu0
				p := stop()
				if err != nil {
					b.Fatal(err)
				}
				var count int64
				for _, e := range s.Events {
					count += e.Count
				}
				if kept >= 0 && (count != kept || len(s.Packages) != 300 || s.DroppedEvents != 0) {
					b.Fatalf("the events kept count %d, want %d; %d packages; %d dropped", count, kept, len(s.Packages), s.DroppedEvents)
				}
				peak = max(peak, p)
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				retained = m.HeapAlloc
				runtime.KeepAlive(s)
				b.ReportMetric(float64(len(s.Events)), "events-kept")
				b.ReportMetric(float64(s.DroppedEvents), "events-dropped")
			}
			b.ReportMetric(float64(st.Size())/(1<<20), "dump-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(retained)/(1<<20), "kept-MiB")
			// CPU time says what the read costs on a machine others share.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// writeWorstDump fills MaxDumpBytes with distinct Warning events about
// Crossplane's pods, each with a 1 KiB message: all of them are what
// diagnose keeps, until the snapshot's budget ends it (kept is -1: not checked).
func writeWorstDump(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprint(bw, "apiVersion: v1\nitems:\n")
	var n int64
	for e := 0; n < MaxDumpBytes-(2<<20); e++ {
		msg := fmt.Sprintf("Failed to pull image \"registry.internal.example/crossplane/provider-%d:v1\": %s", e, strings.Repeat("rpc error: code = Unknown desc = failed to resolve reference ", 16))
		item := fmt.Sprintf("- apiVersion: v1\n  count: 1\n  involvedObject:\n    kind: Pod\n    name: provider-%d-abc\n    namespace: crossplane-system\n  kind: Event\n%s  metadata:\n    name: provider-%d-abc.%x\n    namespace: crossplane-system\n  reason: Failed\n  type: Warning\n",
			e, kubectlField("message", msg, "  "), e, e)
		n += int64(len(item))
		bw.WriteString(item)
	}
	fmt.Fprint(bw, "kind: List\n")
	return -1, bw.Flush()
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sampleHeap samples HeapInuse until the returned function is called, and
// returns the peak.
func sampleHeap() func() uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(stop); <-done; return peak.Load() }
}
