package inspect_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// BenchmarkInspectPackages is the scaling line: inspecting 10, 100 and 300
// genuine 2-platform packages on a loopback registry.
func BenchmarkInspectPackages(b *testing.B) {
	reg := testregistry.InProcess(b)
	var reqs []inspect.Request
	for i := 0; i < 300; i++ {
		ref := fmt.Sprintf("%s/upbound/provider-%03d:v1.0.0", reg.Host, i)
		if err := xpkgtest.Push(ref, xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-%03d", i), Objects: 5}.Index()); err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, inspect.Request{Reference: ref})
	}
	targets, _ := crossplane.Select(nil)
	for _, n := range []int{10, 100, 300} {
		b.Run(fmt.Sprintf("packages=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rep, err := inspect.Run(context.Background(), xpkg.NewClient(), reqs[:n], inspect.Options{Targets: targets}, xpkg.ReadOptions{})
				if err != nil || len(rep.Images) != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(n), "ms/package")
		})
	}
}
