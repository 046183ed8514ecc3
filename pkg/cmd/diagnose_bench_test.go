package cmd

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

type roundTripCounter struct {
	inner http.RoundTripper
	n     *atomic.Int64
}

func (c roundTripCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.inner.RoundTrip(r)
}

// populate creates n Providers with revisions, deployments and pods, one in
// ten failing, and n*33 events (5,000 for 150 providers), concurrently.
func populate(b *testing.B, cfg *rest.Config, host string, n int) {
	populateRefs(b, cfg, n, 33, func(i int) string {
		if i%10 == 0 {
			return host + "/mirror/upbound/provider-runtime:v1.6.0"
		}
		return host + "/upbound/provider-nop:v1.6.0"
	})
}

// populateRefs is populate with each Provider's package from ref(i) (one
// in ten failing: i%10 == 0) and events Events per Provider.
func populateRefs(b *testing.B, cfg *rest.Config, n, events int, ref func(i int) string) {
	var objs []string
	objs = append(objs, "apiVersion: v1\nkind: Namespace\nmetadata: {name: crossplane-system}\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("provider-%04d", i)
		healthy, msg := "True", ""
		ref := ref(i)
		if i%10 == 0 {
			healthy = "False"
			msg = `cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: false): EOF`
		}
		objs = append(objs, fmt.Sprintf(`apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: %[1]s}
spec: {package: "%[2]s"}
status:
  currentRevision: %[1]s-1
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
  - {type: Healthy, status: "%[3]s", reason: X, message: %[4]q, lastTransitionTime: "2026-11-27T05:00:00Z"}
---
apiVersion: pkg.crossplane.io/v1
kind: ProviderRevision
metadata: {name: %[1]s-1, labels: {pkg.crossplane.io/package: %[1]s}}
spec: {desiredState: Active, image: "%[2]s", revision: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s-1, namespace: crossplane-system, labels: {pkg.crossplane.io/revision: %[1]s-1}}
spec:
  selector: {matchLabels: {pkg.crossplane.io/revision: %[1]s-1}}
  template:
    metadata: {labels: {pkg.crossplane.io/revision: %[1]s-1}}
    spec: {containers: [{name: c, image: "%[2]s"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: %[1]s-1-pod, namespace: crossplane-system, labels: {pkg.crossplane.io/revision: %[1]s-1}}
spec: {containers: [{name: c, image: "%[2]s"}]}
`, name, ref, healthy, msg))
		for e := 0; e < events; e++ {
			objs = append(objs, fmt.Sprintf(`apiVersion: v1
kind: Event
metadata: {name: %[1]s.%[2]d, namespace: default}
involvedObject: {kind: ProviderRevision, name: %[1]s-1}
reason: SyncPackage
message: "event %[2]d"
type: Normal
count: 1
lastTimestamp: "2026-11-27T05:00:00Z"
`, name, e))
		}
	}
	create(b, cfg, objs[0])
	var wg sync.WaitGroup
	ch := make(chan string)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range ch {
				create(b, cfg, o)
			}
		}()
	}
	for _, o := range objs[1:] {
		ch <- o
	}
	close(ch)
	wg.Wait()
}

// BenchmarkDiagnose measures the full report (API reads, inspecting the
// failing packages' images on a loopback registry, rendering) and counts
// API requests, for 10, 150 and 300 Providers.
func BenchmarkDiagnose(b *testing.B) {
	reg := testregistry.InProcess(b)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	if err := xpkgtest.Push(reg.Host+"/upbound/provider-nop:v1.6.0", provider.Index()); err != nil {
		b.Fatal(err)
	}
	if err := xpkgtest.Push(reg.Host+"/mirror/upbound/provider-runtime:v1.6.0", xpkgtest.RuntimeImage(amd64)); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{10, 150, 300} {
		b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) {
			env := testenv.Start(b, false)
			dyn := dynamic.NewForConfigOrDie(env.Config)
			populate(b, env.Config, reg.Host, n)
			l, err := dyn.Resource(kinds["Event"].GVR).Namespace("default").List(context.Background(), metav1.ListOptions{})
			if err != nil || len(l.Items) != n*33 {
				b.Fatalf("%d events, %v", len(l.Items), err)
			}
			var requests atomic.Int64
			wrapKubeTransport = func(rt http.RoundTripper) http.RoundTripper { return roundTripCounter{rt, &requests} }
			defer func() { wrapKubeTransport = nil }()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				requests.Store(0)
				out, errOut, code := runB(b, "--kubeconfig", env.Kubeconfig, "-o", "json")
				if code != ExitFindings || !strings.Contains(out, "PackageYAMLNotFound") {
					b.Fatalf("exit %d: %s", code, errOut)
				}
			}
			b.ReportMetric(float64(requests.Load()), "api-requests/op")
		})
	}
}
