package doctor

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// Two diagnoses given one ReadCache (two clusters of a fleet, here two
// dumps) read an image both run once; each still judges it for its own
// Crossplane version. Without a ReadCache each Run reads for itself.
func TestRunsShareAReadCache(t *testing.T) {
	var rq testregistry.Requests
	reg := testregistry.InProcess(t, rq.Wrap)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	shared := reg.Host + "/upbound/provider-shared:v1"
	own := reg.Host + "/upbound/provider-own:v1"
	for _, ref := range []string{shared, own} {
		if err := xpkgtest.Push(ref, xpkgtest.Package{Kind: "Provider", Name: "provider"}.Image(amd64)); err != nil {
			t.Fatal(err)
		}
	}
	first := writeDump(t, crossplaneDeployment("v1.20.0")+provider("provider-shared", shared, "True", ""))
	second := writeDump(t, crossplaneDeployment("v2.1.3")+provider("provider-shared", shared, "True", "")+provider("provider-own", own, "True", ""))
	run := func(cache *xpkg.ReadCache) (gets int) {
		rq.Reset()
		for _, path := range []string{first, second} {
			res, err := Run(context.Background(), Options{FromFile: path, Inspect: InspectAll, Now: now, ReadCache: cache})
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range res.Report.Packages {
				if row.Finding != "" {
					t.Fatalf("%s: %s", row.Name, row.Finding)
				}
			}
			if want := map[string]string{first: "v1.20.0", second: "v2.1.3"}[path]; res.Report.CrossplaneVersion != want {
				t.Fatalf("judged as %s, want %s", res.Report.CrossplaneVersion, want)
			}
		}
		return rq.Count("GET", "/manifests/v1")
	}
	if got := run(xpkg.NewReadCache(2)); got != 2 {
		t.Errorf("with one ReadCache the tags were read %d times, want 2 (shared once, own once): %v", got, rq.Seen())
	}
	if got := run(nil); got != 3 {
		t.Errorf("without one, %d reads, want 3", got)
	}
}
