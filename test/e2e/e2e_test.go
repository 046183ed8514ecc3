package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/cmd"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func decode(t *testing.T, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xpdoctor runs the real command tree in-process.
func xpdoctor(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cmd.Main(args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// codes reads a DiagnoseReport into finding codes per package.
func codes(t *testing.T, out string) map[string][]string {
	t.Helper()
	var rep struct {
		Findings []struct {
			Code, Severity string
			Subject        struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := map[string][]string{}
	for _, f := range rep.Findings {
		m[f.Subject.Name] = append(m[f.Subject.Name], f.Severity+":"+f.Code)
	}
	for k := range m {
		sort.Strings(m[k])
	}
	return m
}

const robot, robotToken = "robot", "e2e-s3cret-TOKEN"

func pkgFor(name string) xpkgtest.Package {
	return xpkgtest.Package{Kind: "Provider", Name: name, Crossplane: ">=v1.14.0-0", Objects: 1}
}

func TestCrossplaneAgrees(t *testing.T) {
	requireE2E(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dockerHost := startDockerd(t)
	up := testregistry.Process(t)
	mirror := testregistry.Process(t)
	private := testregistry.Process(t, robot, robotToken)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}

	for _, n := range []string{"provider-genuine", "provider-docker", "provider-runtime"} {
		if err := xpkgtest.Push(up.Host+"/upbound/"+n+":v1.0.0", pkgFor(n).Index()); err != nil {
			t.Fatal(err)
		}
	}
	if err := xpkgtest.Push(private.Host+"/upbound/provider-private:v1.0.0", pkgFor("provider-private").Index(),
		remote.WithAuth(&authn.Basic{Username: robot, Password: robotToken})); err != nil {
		t.Fatal(err)
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			if only := os.Getenv("XPDOCTOR_E2E_VERSIONS"); only != "" && !strings.Contains(only, version) {
				t.Skipf("not in XPDOCTOR_E2E_VERSIONS=%s", only)
			}
			// Each version gets its own mirror prefix: the fix repairs it.
			m := mirror.Host + "/" + strings.ReplaceAll(version, ".", "")
			mapping := m + "=" + up.Host
			dockerMirror(t, dockerHost, up.Host+"/upbound/provider-docker:v1.0.0", m+"/upbound/provider-docker:v1.0.0")
			if err := xpkgtest.Push(m+"/upbound/provider-runtime:v1.0.0", xpkgtest.RuntimeImage(amd64)); err != nil {
				t.Fatal(err)
			}
			cp := startCrossplane(t, version)
			cp.createProvider(t, "provider-genuine", up.Host+"/upbound/provider-genuine:v1.0.0", nil)
			cp.createProvider(t, "provider-docker", m+"/upbound/provider-docker:v1.0.0", nil)
			cp.createProvider(t, "provider-runtime", m+"/upbound/provider-runtime:v1.0.0", nil)
			cp.createProvider(t, "provider-missing", m+"/upbound/provider-missing:v9.9.9", nil)
			cp.createProvider(t, "provider-private", private.Host+"/upbound/provider-private:v1.0.0", nil)

			healthy := func(name string) func() bool {
				return func() bool {
					return cp.condition(t, name, "Installed") == "True" && cp.condition(t, name, "Healthy") == "True"
				}
			}
			seen := func(name string) func() string {
				return func() string { return strings.Join(cp.messages(t, name), " | ") }
			}
			failedWith := func(name, sub string) func() bool {
				return func() bool {
					for _, m := range cp.messages(t, name) {
						if strings.Contains(m, sub) {
							return true
						}
					}
					return false
				}
			}
			// Scenario 1 and 2: Crossplane installs the genuine package and,
			// through the flatten fallback, the docker mirror.
			cp.waitFor(t, "provider-genuine healthy", 3*time.Minute, healthy("provider-genuine"), seen("provider-genuine"))
			cp.waitFor(t, "provider-docker healthy", 3*time.Minute, healthy("provider-docker"), seen("provider-docker"))
			// Scenario 3: the runtime image; xpdoctor's verdict for this version predicts the message.
			out, _, _ := xpdoctor(t, "inspect", m+"/upbound/provider-runtime:v1.0.0", "--crossplane-version", version, "-o", "json")
			var ins struct {
				Images []struct {
					Verdicts []struct{ Outcome, Message string }
				}
			}
			if err := json.Unmarshal([]byte(out), &ins); err != nil || len(ins.Images) != 1 || ins.Images[0].Verdicts[0].Outcome != "Fail" {
				t.Fatalf("inspect: %v\n%s", err, out)
			}
			predicted := ins.Images[0].Verdicts[0].Message
			cp.waitFor(t, "provider-runtime's failure", 3*time.Minute, failedWith("provider-runtime", predicted), seen("provider-runtime"))
			// Scenario 4: a missing tag, and credentials Crossplane was not given.
			cp.waitFor(t, "provider-missing's failure", 3*time.Minute, failedWith("provider-missing", "404"), seen("provider-missing"))
			cp.waitFor(t, "provider-private's failure", 3*time.Minute, failedWith("provider-private", "401"), seen("provider-private"))
			// For the missing tag and the missing credentials, xpdoctor's verdict is
			// Crossplane's text: the HEAD's failure, then the GET fallback's.
			for _, c := range []struct{ name, ref string }{{"provider-missing", m + "/upbound/provider-missing:v9.9.9"}, {"provider-private", private.Host + "/upbound/provider-private:v1.0.0"}} {
				out, _, _ = xpdoctor(t, "inspect", c.ref, "--crossplane-version", version, "-o", "json")
				var exact struct {
					Images []struct {
						Verdicts []struct {
							Message string
							Exact   bool
						}
					}
				}
				if err := json.Unmarshal([]byte(out), &exact); err != nil || len(exact.Images) != 1 || !exact.Images[0].Verdicts[0].Exact {
					t.Fatalf("inspect %s: %v\n%s", c.ref, err, out)
				}
				if want := exact.Images[0].Verdicts[0].Message; !failedWith(c.name, want)() {
					t.Errorf("%s: Crossplane said %q, xpdoctor predicted %q", c.name, seen(c.name)(), want)
				}
			}

			diag := func(extra ...string) map[string][]string {
				args := append([]string{"--kubeconfig", cp.kubeconfig, "-o", "json", "--upstream-registry", mapping, "--inspect", "all"}, extra...)
				out, errOut, code := xpdoctor(t, args...)
				if code == 2 {
					t.Fatalf("diagnose failed: %s", errOut)
				}
				return codes(t, out)
			}
			got := diag()
			want := map[string][]string{
				"provider-genuine": nil,
				// dockerd recompresses layers it pushes to another registry.
				"provider-docker":  {"warning:BaseLayerAnnotationMissing", "warning:IndexCollapsed", "warning:LayersRecompressed", "warning:MirrorDigestDiffers"},
				"provider-missing": {"error:ManifestNotFound", "warning:UpstreamUnreadable"},
				"provider-private": {"error:RegistryUnauthorized"},
			}
			for name, w := range want {
				if strings.Join(got[name], ",") != strings.Join(w, ",") {
					t.Errorf("%s: xpdoctor says %v, want %v", name, got[name], w)
				}
			}
			if !contains(got["provider-runtime"], "error:PackageYAMLNotFound") {
				t.Errorf("provider-runtime: %v", got["provider-runtime"])
			}

			// Scenario 6: the same cluster dumped with kubectl get -o yaml gives the same findings.
			dump := filepath.Join(t.TempDir(), "dump.yaml")
			writeDump(t, cp, dump)
			out, _, _ = xpdoctor(t, "--from-file", dump, "-o", "json", "--upstream-registry", mapping, "--inspect", "all")
			offline := codes(t, out)
			for name := range want {
				if strings.Join(offline[name], ",") != strings.Join(got[name], ",") {
					t.Errorf("%s: from-file %v, live %v", name, offline[name], got[name])
				}
			}

			// Scenario 5: fix re-mirrors and pins; Crossplane then parses through the base layer.
			out, errOut, code := xpdoctor(t, "fix", "provider-docker", "provider-runtime", "--kubeconfig", cp.kubeconfig,
				"--upstream-registry", mapping, "--yes", "--apply=pin")
			if code != 0 {
				t.Fatalf("fix: exit %d\n%s\n%s", code, out, errOut)
			}
			for _, n := range []string{"provider-docker", "provider-runtime"} {
				sameDigest(t, up.Host+"/upbound/"+n+":v1.0.0", m+"/upbound/"+n+":v1.0.0")
				p, _ := cp.dyn.Resource(gvrProvider).Get(context.Background(), n, metav1.GetOptions{})
				spec, _, _ := unstructured.NestedString(p.Object, "spec", "package")
				if !strings.Contains(spec, "@sha256:") {
					t.Fatalf("%s: spec.package %q is not pinned", n, spec)
				}
				// Crossplane installs the pinned image: the current revision is for it, and healthy.
				pinned := func() bool {
					p, err := cp.dyn.Resource(gvrProvider).Get(context.Background(), n, metav1.GetOptions{})
					if err != nil || !healthy(n)() {
						return false
					}
					cur, _, _ := unstructured.NestedString(p.Object, "status", "currentRevision")
					r, err := cp.dyn.Resource(gvrRevision).Get(context.Background(), cur, metav1.GetOptions{})
					if err != nil {
						return false
					}
					img, _, _ := unstructured.NestedString(r.Object, "spec", "image")
					return img == spec
				}
				cp.waitFor(t, n+" installed from the pinned digest", 3*time.Minute, pinned, seen(n))
			}
			after := diag("provider-docker", "provider-runtime")
			for n, c := range after {
				t.Errorf("%s still has findings after the fix: %v", n, c)
			}
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func sameDigest(t *testing.T, a, b string) {
	t.Helper()
	c := xpkg.NewClient()
	var ds []string
	for _, r := range []string{a, b} {
		ref, _ := c.ParseReference(r)
		m, err := c.GetManifest(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, m.Digest.String())
	}
	if ds[0] != ds[1] {
		t.Fatalf("%s is %s, upstream %s is %s", b, ds[1], a, ds[0])
	}
}

// writeDump writes what `kubectl get providers,providerrevisions,...,deployments,pods,events -A -o yaml` prints.
func writeDump(t *testing.T, cp *crossplane, path string) {
	t.Helper()
	var items []any
	ctx := context.Background()
	lists := []struct {
		list func() (*unstructured.UnstructuredList, error)
		av   string
		kind string
	}{
		{func() (*unstructured.UnstructuredList, error) {
			return cp.dyn.Resource(gvrProvider).List(ctx, metav1.ListOptions{})
		}, "pkg.crossplane.io/v1", "Provider"},
		{func() (*unstructured.UnstructuredList, error) {
			return cp.dyn.Resource(gvrRevision).List(ctx, metav1.ListOptions{})
		}, "pkg.crossplane.io/v1", "ProviderRevision"},
		{func() (*unstructured.UnstructuredList, error) {
			return cp.dyn.Resource(gvrDeploy).List(ctx, metav1.ListOptions{})
		}, "apps/v1", "Deployment"},
		{func() (*unstructured.UnstructuredList, error) {
			return cp.dyn.Resource(gvrEvent).List(ctx, metav1.ListOptions{})
		}, "v1", "Event"},
	}
	for _, l := range lists {
		ul, err := l.list()
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range ul.Items {
			it.SetAPIVersion(l.av)
			it.SetKind(l.kind)
			items = append(items, it.Object)
		}
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
