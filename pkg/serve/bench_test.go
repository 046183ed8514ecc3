package serve

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/kubeflags"
)

// largeCluster is n Providers, each with a revision that owns 60 CRDs (as
// a provider-aws family member's does: status.objectRefs), and Crossplane.
func largeCluster(n int) string {
	var b strings.Builder
	b.WriteString(strings.SplitAfter(crossplaneFixture, "---\n")[0])
	b.WriteString(strings.SplitAfter(crossplaneFixture, "---\n")[1])
	var refs strings.Builder
	for i := range 60 {
		fmt.Fprintf(&refs, "  - {apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, name: resource%02ds.ec2.aws.upbound.io, uid: 0c6b9f52-6c1e-4f1e-9d3c-%012d}\n", i, i)
	}
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: provider-%[1]d}
spec: {package: "xpkg.upbound.io/upbound/provider-aws-%[1]d:v1.6.0"}
status:
  currentRevision: provider-%[1]d-1a2b3c4d5e6f
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
  - {type: Healthy, status: "True", reason: HealthyPackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
---
apiVersion: pkg.crossplane.io/v1
kind: ProviderRevision
metadata:
  name: provider-%[1]d-1a2b3c4d5e6f
  labels: {pkg.crossplane.io/package: provider-%[1]d}
spec: {desiredState: Active, image: "xpkg.upbound.io/upbound/provider-aws-%[1]d:v1.6.0", revision: 1}
status:
  conditions:
  - {type: RevisionHealthy, status: "True", reason: HealthyPackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
  objectRefs:
%[2]s`, i, refs.String())
	}
	return b.String()
}

// BenchmarkSnapshot measures what feeding each run from the watch cache
// saves against listing every resource again, on 150 packages: API
// requests, response bytes and time per snapshot.
func BenchmarkSnapshot(b *testing.B) {
	env := testenv.Start(b, false)
	testenv.Create(b, env.Config, largeCluster(150))
	kube := kubeflags.NewConfigFlags(true)
	*kube.KubeConfig = env.Kubeconfig
	var requests, bytes atomic.Int64
	o := doctor.Options{Kube: kube, WrapTransport: func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			if err == nil {
				requests.Add(1)
				resp.Body = countingBody{resp.Body, &bytes}
			}
			return resp, err
		})
	}}
	cfg, err := doctor.RESTConfig(doctor.Options{Kube: kube})
	if err != nil {
		b.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	disc, _ := cluster.NewDiscoveryForConfig(cfg)
	served, err := cluster.PackageResources(context.Background(), disc)
	if err != nil {
		b.Fatal(err)
	}
	w := newWatcher(dyn, served, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.start(ctx)
	if u := w.sync(ctx); len(u) > 0 {
		b.Fatalf("not synced: %v", u)
	}
	for _, bc := range []struct {
		name  string
		cache cluster.Cache
	}{{"listed", nil}, {"watch-cache", w}} {
		b.Run(bc.name, func(b *testing.B) {
			o := o
			o.Cache = bc.cache
			requests.Store(0)
			bytes.Store(0)
			for b.Loop() {
				snap, err := doctor.Snapshot(context.Background(), o)
				if err != nil || len(snap.Packages) != 150 {
					b.Fatalf("%v, %d packages", err, len(snap.Packages))
				}
			}
			b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/op")
			b.ReportMetric(float64(bytes.Load())/float64(b.N), "resp-bytes/op")
		})
	}
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}
