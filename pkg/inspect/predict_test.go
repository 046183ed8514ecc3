package inspect_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func judgeAll(t *testing.T, ref string, o inspect.Options, versions ...string) inspect.Image {
	t.Helper()
	targets, err := crossplane.Select(versions)
	must(t, err)
	o.Targets = targets
	rep, err := inspect.Run(context.Background(), xpkg.NewClient(xpkg.WithKeychain(authn.NewMultiKeychain())), []inspect.Request{{Reference: ref}}, o, xpkg.ReadOptions{})
	must(t, err)
	return rep.Images[0]
}

func findingOf(img inspect.Image, code findings.Code) *findings.Finding {
	for i := range img.Findings {
		if img.Findings[i].Code == code {
			return &img.Findings[i]
		}
	}
	return nil
}

// Two annotated layers holding different packages: v1.x and v2.0-2.1
// refuse the image, v2.2+ installs the first layer's package and reports
// it healthy (real v2.3.4 does: TestVerdictsMatchRealCrossplane).
func TestTwoAnnotatedPackagesSayWhatIsInstalled(t *testing.T) {
	reg := testregistry.InProcess(t)
	old := xpkgtest.Package{Kind: "Provider", Name: "provider-old", Objects: 2}
	p := xpkgtest.Package{Kind: "Provider", Name: "provider-new", Objects: 1,
		Runtime: []v1.Layer{xpkgtest.Layer(xpkgtest.File{Name: "package.yaml", Body: old.PackageYAML()})}, ExtraBase: 1}
	ref := reg.Host + "/e2e/two:v1"
	must(t, xpkgtest.Push(ref, p.Image(amd64)))
	img := judgeAll(t, ref, inspect.Options{}, "v1.20.0", "v2.1.3", "v2.3.4")
	for i, want := range []crossplane.Outcome{X, X, B} {
		if img.Verdicts[i].Outcome != want || img.Verdicts[i].Reason != findings.MultipleBaseLayers {
			t.Fatalf("%s: %+v", img.Verdicts[i].Crossplane, img.Verdicts[i])
		}
	}
	v := img.Verdicts[2]
	if v.Installs == nil || v.Installs.Name != "provider-old" || v.Installs.Layer != 1 || strings.Join(v.Installs.Groups, ",") != "provider-old.example.org" {
		t.Fatalf("installs %+v", v.Installs)
	}
	if !strings.Contains(v.Message, "installs Provider/provider-old from annotated layer 1") || !strings.Contains(v.Message, "not Provider/provider-new in annotated layer 2") {
		t.Fatalf("message %q", v.Message)
	}
	f := findingOf(img, findings.MultipleBaseLayers)
	if f == nil || f.Severity != findings.Error || !strings.Contains(f.Message, "Crossplane v2.3.4 installs Provider/provider-old from layer 1") {
		t.Fatalf("finding %+v", f)
	}
	if img.Healthy() {
		t.Fatal("an image Crossplane v2.3 installs the wrong package from is judged healthy")
	}
	ob := img.Platforms[0].OtherBase
	if ob == nil || ob.Package == nil || ob.Package.Meta == nil || ob.Package.Meta.Name != "provider-new" || ob.Package.DiffersAtDocument != 1 || !ob.Package.StoppedEarly {
		t.Fatalf("other base layer %+v", ob)
	}
}

// The same package.yaml in both annotated layers: v2.2+ installs what was
// meant; only the versions that refuse the image make it an error.
func TestTwoAnnotatedLayersSameContent(t *testing.T) {
	reg := testregistry.InProcess(t)
	p := xpkgtest.Package{Kind: "Provider", Name: "provider-same", Objects: 1}
	p.Runtime = []v1.Layer{xpkgtest.Layer(xpkgtest.File{Name: "package.yaml", Body: p.PackageYAML()}, xpkgtest.File{Name: "bin/x", Body: []byte("x")})}
	p.ExtraBase = 1
	ref := reg.Host + "/e2e/same:v1"
	must(t, xpkgtest.Push(ref, p.Image(amd64)))
	img := judgeAll(t, ref, inspect.Options{}, "v2.3.4")
	if v := img.Verdicts[0]; v.Outcome != B || v.Reason != "" || v.Installs != nil {
		t.Fatalf("%+v", v)
	}
	f := findingOf(img, findings.MultipleBaseLayers)
	if f == nil || f.Severity != findings.Warning || !strings.Contains(f.Message, "the same package.yaml") {
		t.Fatalf("finding %+v", f)
	}
}

// A registry whose HEAD answers 200 for a tag its GET does not have: the
// tag resolves, so Crossplane v1.x creates the revision and fails fetching;
// xpdoctor must not report it as a resolve failure on the package.
func TestHeadThatLiesAboutATag(t *testing.T) {
	lie := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Content-Length", "2")
				w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("a", 64))
				w.WriteHeader(http.StatusOK)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := testregistry.InProcess(t, lie)
	ref := reg.Host + "/e2e/ghost:v1"
	img := judgeAll(t, ref, inspect.Options{}, "v1.20.0", "v2.3.4")
	old, cur := img.Verdicts[0], img.Verdicts[1]
	if old.Stage != crossplane.StageFetch || !old.RevisionCreated || old.Object != "revision" ||
		!strings.HasPrefix(old.Message, "cannot initialize parser backend: failed to fetch package from remote: GET http://"+reg.Host) || !old.Exact {
		t.Fatalf("v1.20: %+v", old)
	}
	if cur.Stage != crossplane.StageFetch || cur.RevisionCreated || cur.Object != "package" || cur.Exact ||
		!strings.HasPrefix(cur.Message, "cannot unpack package: cannot fetch package "+ref+": ") {
		t.Fatalf("v2.3: %+v", cur)
	}
}

// A HEAD without Docker-Content-Digest (Nexus, crossplane/crossplane#3222):
// Crossplane falls back to GET and installs; xpdoctor warns, and says so
// for a missing tag in Crossplane's exact words.
func TestHeadWithoutDigest(t *testing.T) {
	strip := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				next.ServeHTTP(headerFilter{w}, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := testregistry.InProcess(t, strip)
	ref := reg.Host + "/upbound/provider-nop:v1"
	must(t, xpkgtest.Push(ref, provider.Image(amd64)))
	img := judgeAll(t, ref, inspect.Options{}, "v2.3.4")
	if img.Verdicts[0].Outcome != B {
		t.Fatalf("%+v", img.Verdicts[0])
	}
	f := findingOf(img, findings.RegistryProtocolError)
	if f == nil || f.Severity != findings.Warning || !strings.Contains(f.Message, "response did not include Docker-Content-Digest header") {
		t.Fatalf("finding %+v", img.Findings)
	}
}

type headerFilter struct{ http.ResponseWriter }

func (h headerFilter) WriteHeader(code int) {
	h.ResponseWriter.Header().Del("Docker-Content-Digest")
	h.ResponseWriter.WriteHeader(code)
}

// Dependencies are looked up where the resolver looks, and a missing one
// is an error finding with the revision's and the Lock's messages.
func TestDependencies(t *testing.T) {
	reg := testregistry.InProcess(t)
	h := reg.Host
	must(t, xpkgtest.Push(h+"/up/provider-family:v1.2.0", xpkgtest.Package{Kind: "Provider", Name: "provider-family"}.Image(amd64)))
	must(t, xpkgtest.Push(h+"/up/provider-family:v2", xpkgtest.Package{Kind: "Provider", Name: "provider-family"}.Image(amd64)))
	must(t, xpkgtest.Push(h+"/mirror/up/provider-only-mirrored:v1.0.0", xpkgtest.Package{Kind: "Provider", Name: "m"}.Image(amd64)))
	dep := func(pkg, version string) xpkg.Dependency {
		return xpkg.Dependency{Kind: "Provider", Package: pkg, Version: version}
	}
	push := func(name string, deps ...xpkg.Dependency) string {
		ref := h + "/up/" + name + ":v1.0.0"
		must(t, xpkgtest.Push(ref, xpkgtest.Package{Kind: "Provider", Name: name, DependsOn: deps}.Image(amd64)))
		return ref
	}
	cases := []struct {
		name     string
		ref      string
		rewrites []crossplane.ImageRewrite
		versions []string
		fail     []bool
		message  string
		lock     string
		fix      string
	}{
		{name: "resolves", ref: push("ok", dep(h+"/up/provider-family", ">=v1.0.0")), versions: []string{"v1.20.0", "v2.3.4"}, fail: []bool{false, false}},
		{name: "repository missing", ref: push("missing", dep(h+"/up/provider-gone", ">=v1.0.0"), dep(h+"/up/provider-family", ">=v1.0.0")),
			versions: []string{"v1.20.0", "v2.3.4"}, fail: []bool{true, true},
			message: `cannot resolve package dependencies: missing dependencies: "` + h + `/up/provider-family" (>=v1.0.0), "` + h + `/up/provider-gone" (>=v1.0.0)`,
			lock:    "Error occurred during dependency resolution cannot find dependency version to install: cannot fetch dependency package tags: ",
			fix:     "mirror it there"},
		{name: "no tag satisfies", ref: push("novalid", dep(h+"/up/provider-family", ">=v3.0.0")), versions: []string{"v2.3.4"}, fail: []bool{true},
			message: `cannot resolve package dependencies: missing dependencies: "` + h + `/up/provider-family" (>=v3.0.0)`,
			lock:    "Error occurred during dependency resolution dependency (" + h + "/up/provider-family) does not have a valid version to upgrade that satisfies all constraints. If there is a valid version that requires downgrade, manual intervention is required. Constraints: >=v3.0.0",
			fix:     "push a version"},
		{name: "an incomplete tag counts for v1.20 only", ref: push("incomplete", dep(h+"/up/provider-family", ">=v2.0.0")), versions: []string{"v1.20.0", "v2.3.4"}, fail: []bool{false, true}},
		{name: "rewritten to a mirror that has it", ref: push("rewritten", dep(h+"/up/provider-only-mirrored", ">=v1.0.0")), versions: []string{"v1.19.0", "v1.20.0"}, fail: []bool{true, false},
			rewrites: []crossplane.ImageRewrite{{Name: "mirror", Prefixes: []string{h + "/up/"}, RewritePrefix: h + "/mirror/up/"}}},
		{name: "digest that does not exist", ref: push("digest", dep(h+"/up/provider-family", "sha256:"+strings.Repeat("b", 64))), versions: []string{"v2.3.4"}, fail: []bool{true},
			message: `cannot resolve package dependencies: missing dependencies: "` + h + `/up/provider-family" (sha256:` + strings.Repeat("b", 64) + `)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := judgeAll(t, c.ref, inspect.Options{Dependencies: &inspect.DependencyOptions{Rewrites: c.rewrites}}, c.versions...)
			for i, v := range img.Verdicts {
				if (v.Outcome == X) != c.fail[i] {
					t.Fatalf("%s: %+v", v.Crossplane, v)
				}
				if !c.fail[i] {
					continue
				}
				if v.Stage != crossplane.StageDependencies || v.Object != "revision" || !v.RevisionCreated || v.Event != "ResolveDependencies" || v.Reason != findings.DependencyUnresolvable {
					t.Fatalf("%s: %+v", v.Crossplane, v)
				}
				if c.message != "" && v.Message != c.message {
					t.Fatalf("%s:\n got %q\nwant %q", v.Crossplane, v.Message, c.message)
				}
				var lock string
				for _, d := range v.Dependencies {
					if d.Failure != "" {
						lock = d.Failure
						break
					}
				}
				if c.lock != "" && !strings.HasPrefix(lock, c.lock) {
					t.Fatalf("%s: Lock %q, want %q", v.Crossplane, lock, c.lock)
				}
			}
			f := findingOf(img, findings.DependencyUnresolvable)
			anyFail := false
			for _, fl := range c.fail {
				anyFail = anyFail || fl
			}
			if (f != nil) != anyFail || (f != nil && f.Severity != findings.Error) {
				t.Fatalf("finding %+v", f)
			}
			if f != nil && c.fix != "" && !strings.Contains(f.Remediation, c.fix) {
				t.Fatalf("fix %q does not fit: want %q", f.Remediation, c.fix)
			}
			if img.Healthy() == anyFail {
				t.Fatalf("healthy %v with failures %v", img.Healthy(), c.fail)
			}
		})
	}
}
