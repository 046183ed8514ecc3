package cmd

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/client-go/rest"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// BenchmarkDiagnoseFleet diagnoses 3 clusters (3 envtest API servers) of
// 150 Providers each (populate: one in ten failing, 33 events each) in one
// run, --context a,b,c, against diagnosing them one after another, and
// counts API and registry requests per run. The clusters run the same two
// images: the fleet reads each from the registry once.
func BenchmarkDiagnoseFleet(b *testing.B) {
	var rq testregistry.Requests
	reg := testregistry.InProcess(b, rq.Wrap)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	if err := xpkgtest.Push(reg.Host+"/upbound/provider-nop:v1.6.0", provider.Index()); err != nil {
		b.Fatal(err)
	}
	if err := xpkgtest.Push(reg.Host+"/mirror/upbound/provider-runtime:v1.6.0", xpkgtest.RuntimeImage(amd64)); err != nil {
		b.Fatal(err)
	}
	servers := map[string]*rest.Config{}
	names := []string{"a", "b", "c"}
	for _, name := range names {
		env := testenv.Start(b, false)
		populate(b, env.Config, reg.Host, 150)
		servers[name] = env.Config
	}
	kubeconfig := fleetKubeconfig(b, servers)
	var requests atomic.Int64
	wrapKubeTransport = func(rt http.RoundTripper) http.RoundTripper { return roundTripCounter{rt, &requests} }
	defer func() { wrapKubeTransport = nil }()
	measure := func(b *testing.B, runs [][]string) {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			requests.Store(0)
			rq.Reset()
			for _, args := range runs {
				out, errOut, code := runB(b, append([]string{"--kubeconfig", kubeconfig, "-o", "json"}, args...)...)
				if code != ExitFindings || !strings.Contains(out, "PackageYAMLNotFound") {
					b.Fatalf("exit %d: %s", code, errOut)
				}
			}
		}
		b.ReportMetric(float64(requests.Load()), "api-requests/op")
		b.ReportMetric(float64(len(rq.Seen())), "registry-requests/op")
	}
	b.Run("clusters=3/providers=150/fleet", func(b *testing.B) {
		measure(b, [][]string{{"--context", strings.Join(names, ",")}})
	})
	b.Run("clusters=3/providers=150/one-after-another", func(b *testing.B) {
		var runs [][]string
		for _, n := range names {
			runs = append(runs, []string{"--context", n})
		}
		measure(b, runs)
	})
}
