package doctor

import (
	"context"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// Preflight reads each package's image and the tags of the dependencies
// no installed package provides, so the image and dependency checks are
// judged, not Unknown; the running version is Crossplane's tag unless
// overridden; a target it cannot judge is an error before anything is read.
func TestPreflightReadsImagesAndDependencyTags(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var rq testregistry.Requests
	reg := testregistry.InProcess(t, rq.Wrap)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	cfg := xpkgtest.Package{Kind: "Configuration", Name: "platform",
		DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: reg.Host + "/acme/provider-dep", Version: ">=v1.0.0"}}}
	if err := xpkgtest.Push(reg.Host+"/acme/platform:v1.0.0", cfg.Image(amd64)); err != nil {
		t.Fatal(err)
	}
	if err := xpkgtest.Push(reg.Host+"/acme/provider-dep:v1.2.0", xpkgtest.Package{Kind: "Provider", Name: "provider-dep"}.Image(amd64)); err != nil {
		t.Fatal(err)
	}
	dump := writeDump(t, crossplaneDeployment("v1.20.0")+`apiVersion: pkg.crossplane.io/v1
kind: Configuration
metadata: {name: platform}
spec: {package: "`+reg.Host+`/acme/platform:v1.0.0"}
status:
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision}
  - {type: Healthy, status: "True", reason: HealthyPackageRevision}
`)
	o := Options{FromFile: dump, Registry: []xpkg.Option{xpkg.WithReadOnly()}}
	rep, err := Preflight(context.Background(), o, "v2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Running != "v1.20.0" || rep.Target != "v2.0.0" || len(rep.Packages) != 1 {
		t.Fatalf("report %+v", rep)
	}
	status := map[string]preflight.Status{}
	for _, c := range rep.Packages[0].Checks {
		status[c.Check] = c.Status
	}
	if status[preflight.CheckImage] != preflight.Safe || status[preflight.CheckDependency] != preflight.Safe {
		t.Errorf("checks %v: the image or the dependency's tags were not read", status)
	}
	seen := strings.Join(rq.Seen(), "\n")
	for _, want := range []string{"GET /v2/acme/platform/manifests/v1.0.0", "GET /v2/acme/provider-dep/tags/list"} {
		if !strings.Contains(seen, want) {
			t.Errorf("the registry never saw %s:\n%s", want, seen)
		}
	}

	o.CrossplaneVersion = "v1.19.0"
	if rep, err := Preflight(context.Background(), o, "v2.0.0"); err != nil || rep.Running != "v1.19.0" {
		t.Errorf("running override: %v %+v", err, rep)
	}
	rq.Reset()
	for _, bad := range []string{"v1.2.0", "latest"} {
		if _, err := Preflight(context.Background(), o, bad); err == nil {
			t.Errorf("target %s accepted", bad)
		}
	}
	if seen := rq.Seen(); len(seen) > 0 {
		t.Errorf("a target it cannot judge still read the registry: %v", seen)
	}
}

// A dependency whose repository the registry says does not exist (404
// NAME_UNKNOWN) has no version: Breaks. A bare 404 from something in front
// of the registry says nothing about the repository: Unknown.
func TestPreflightDependencyRepositoryMissing(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/behind-a-proxy/") {
				http.NotFound(w, r) // text/plain "404 page not found"
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	cfg := xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{
		{Kind: "Provider", Package: reg.Host + "/acme/provider-nowhere", Version: ">=v1.0.0"},
		{Kind: "Provider", Package: reg.Host + "/behind-a-proxy/provider-dep", Version: ">=v1.0.0"},
	}}
	if err := xpkgtest.Push(reg.Host+"/acme/platform:v1.0.0", cfg.Image(amd64)); err != nil {
		t.Fatal(err)
	}
	dump := writeDump(t, crossplaneDeployment("v2.2.0")+`apiVersion: pkg.crossplane.io/v1
kind: Configuration
metadata: {name: platform}
spec: {package: "`+reg.Host+`/acme/platform:v1.0.0"}
`)
	rep, err := Preflight(context.Background(), Options{FromFile: dump, Registry: []xpkg.Option{xpkg.WithReadOnly()}}, "v2.3.0")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rep.Packages[0].Checks {
		if c.Check == preflight.CheckDependency {
			got = append(got, string(c.Status)+" "+string(c.Code))
		}
	}
	if strings.Join(got, ",") != "Breaks DependencyUnresolvable,Unknown " {
		t.Errorf("dependency checks %q, want the missing repository Breaks and the bare 404 Unknown", got)
	}
}
