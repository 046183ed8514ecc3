package cmd

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	defer func() { wrapKubeTransport = nil }()
	measure := func(b *testing.B, runs [][]string, latency time.Duration) {
		// latency is added to every API request: a remote API server's round trip.
		wrapKubeTransport = func(rt http.RoundTripper) http.RoundTripper {
			return roundTripCounter{delayed{rt, latency}, &requests}
		}
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
	var oneByOne [][]string
	for _, n := range names {
		oneByOne = append(oneByOne, []string{"--context", n})
	}
	for _, latency := range []time.Duration{0, 25 * time.Millisecond} {
		b.Run(fmt.Sprintf("clusters=3/providers=150/latency=%s/fleet", latency), func(b *testing.B) {
			measure(b, [][]string{{"--context", strings.Join(names, ",")}}, latency)
		})
		b.Run(fmt.Sprintf("clusters=3/providers=150/latency=%s/one-after-another", latency), func(b *testing.B) {
			measure(b, oneByOne, latency)
		})
	}
}

// delayed waits before each request, as a remote API server's round trip.
type delayed struct {
	inner http.RoundTripper
	wait  time.Duration
}

func (d delayed) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.wait > 0 {
		select {
		case <-time.After(d.wait):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return d.inner.RoundTrip(r)
}
