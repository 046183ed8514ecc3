package cmd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// BenchmarkDiagnoseAtLatency is diagnose end to end against envtest with
// every Provider's package a distinct image (nothing shared: every image
// is read) in a registry that answers each request after a fixed latency
// (testregistry.Latency, like bench/countproxy): 0 and 25 ms, --inspect
// all and problems (one in ten Providers unhealthy, each with a runtime
// image where the package should be). It reports registry requests and
// the most in flight at once. XPDOCTOR_BENCH_PROVIDERS (default
// "150,300,1000") and XPDOCTOR_BENCH_LATENCIES (default "0,25") choose the
// sizes; 1000 Providers carry 3 Events each instead of 33, to keep the
// set-up short (the API side reads them with one List either way).
func BenchmarkDiagnoseAtLatency(b *testing.B) {
	lat := &testregistry.Latency{}
	reg := testregistry.InProcess(b, lat.Wrap)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64"}
	sizes := intsFromEnv(b, "XPDOCTOR_BENCH_PROVIDERS", "150,300,1000")
	latencies := intsFromEnv(b, "XPDOCTOR_BENCH_LATENCIES", "0,25")
	most := 0
	for _, n := range sizes {
		most = max(most, n)
	}
	ref := func(i int) string {
		if i%10 == 0 {
			return fmt.Sprintf("%s/mirror/upbound/provider-runtime-%04d:v1.6.0", reg.Host, i)
		}
		return fmt.Sprintf("%s/upbound/provider-p-%04d:v1.6.0", reg.Host, i)
	}
	pushAll(b, most, func(i int) error {
		if i%10 == 0 {
			return xpkgtest.Push(ref(i), xpkgtest.RuntimeImage(amd64, xpkgtest.RandomLayer(uint64(i), 1000)))
		}
		p := xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-p-%04d", i), Objects: 5}
		return xpkgtest.Push(ref(i), p.Index(amd64, arm64))
	})
	for _, n := range sizes {
		b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) {
			events := 33
			if n > 300 {
				events = 3
			}
			env := testenv.Start(b, false)
			populateRefs(b, env.Config, n, events, ref)
			for _, ms := range latencies {
				for _, mode := range []string{"all", "problems"} {
					b.Run(fmt.Sprintf("latency=%dms/inspect=%s", ms, mode), func(b *testing.B) {
						lat.Delay = time.Duration(ms) * time.Millisecond
						var requests, inFlight int64
						for i := 0; i < b.N; i++ {
							lat.Reset()
							out, errOut, code := runB(b, "--kubeconfig", env.Kubeconfig, "-o", "json", "--inspect", mode)
							if code != ExitFindings || !strings.Contains(out, "PackageYAMLNotFound") {
								b.Fatalf("exit %d: %s", code, errOut)
							}
							requests, inFlight = lat.Reset()
						}
						b.ReportMetric(float64(requests), "registry-requests/op")
						b.ReportMetric(float64(inFlight), "max-in-flight")
					})
				}
			}
		})
	}
}

func intsFromEnv(b *testing.B, key, def string) []int {
	v := os.Getenv(key)
	if v == "" {
		v = def
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		out = append(out, n)
	}
	return out
}

// pushAll runs push(0..n-1), 16 at a time.
func pushAll(b *testing.B, n int, push func(i int) error) {
	var wg sync.WaitGroup
	var failed atomic.Value
	next := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := push(i); err != nil {
					failed.Store(err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}
