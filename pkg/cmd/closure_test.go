package cmd

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func pushPkg(t *testing.T, ref string, p xpkgtest.Package) {
	t.Helper()
	if err := xpkgtest.Push(ref, p.Index()); err != nil {
		t.Fatal(err)
	}
}

// A Configuration depending on a family member and a Function, mirrored as
// a closure between two real registry processes; the ImageConfig applied to
// a real API server.
func TestMirrorClosure(t *testing.T) {
	up := testregistry.Process(t)
	dst := testregistry.Process(t)
	u := up.Host
	pushPkg(t, u+"/upbound/configuration-platform:v1.0.0", xpkgtest.Package{Kind: "Configuration", Name: "configuration-platform",
		DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: u + "/upbound/provider-aws-s3", Version: ">=v1.2.0"},
			{Kind: "Function", Package: u + "/crossplane-contrib/function-patch-and-transform", Version: ">=v0.1.0"}}})
	for _, v := range []string{"v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0-rc.1", "v1"} {
		pushPkg(t, u+"/upbound/provider-aws-s3:"+v, xpkgtest.Package{Kind: "Provider", Name: "provider-aws-s3-" + strings.ReplaceAll(v, ".", "-"), Family: "family-aws",
			DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: u + "/upbound/provider-family-aws", Version: ">=v1.0.0"}}})
	}
	pushPkg(t, u+"/upbound/provider-family-aws:v1.0.0", xpkgtest.Package{Kind: "Provider", Name: "provider-family-aws", Family: "family-aws"})
	for _, v := range []string{"v0.1.0", "v0.2.0"} {
		pushPkg(t, u+"/crossplane-contrib/function-patch-and-transform:"+v, xpkgtest.Package{Kind: "Function", Name: "function-pat-" + v})
	}
	prefix := dst.Host + "/crossplane"
	out, errOut, code := run(t, "mirror", "--closure", u+"/upbound/configuration-platform:v1.0.0", prefix, "--yes", "--emit-imageconfig")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Provider " + u + "/upbound/provider-aws-s3:v1.3.0", // highest release; not the rc, not "v1"
		"Function " + u + "/crossplane-contrib/function-patch-and-transform:v0.2.0",
		"Provider " + u + "/upbound/provider-family-aws:v1.0.0",
		"CLOSURE of " + u + "/upbound/configuration-platform:v1.0.0 (4 packages)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, r := range []string{"/upbound/configuration-platform:v1.0.0", "/upbound/provider-aws-s3:v1.3.0", "/crossplane-contrib/function-patch-and-transform:v0.2.0", "/upbound/provider-family-aws:v1.0.0"} {
		sameGraph(t, u+r, prefix+r)
	}
	ic := out[strings.Index(out, "---\napiVersion: pkg.crossplane.io/v1beta1"):strings.Index(out, "# Crossplane before v1.20")]
	if !strings.Contains(ic, "prefix: "+u+"/") || !strings.Contains(ic, "prefix: "+prefix+"/") {
		t.Fatalf("ImageConfig:\n%s", ic)
	}
	if !strings.Contains(out, "skipDependencyResolution") {
		t.Fatalf("no pre-v1.20 alternative:\n%s", out)
	}

	// The emitted ImageConfig is valid for Crossplane's CRD: apply and read back.
	env := testenv.Start(t, false)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	create(t, dyn, ic)
	gvr := schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1beta1", Resource: "imageconfigs"}
	l, err := dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("imageconfigs: %v %v", l, err)
	}
	got, _, _ := unstructuredString(l.Items[0].Object, "spec", "rewriteImage", "prefix")
	if got != prefix+"/" {
		t.Fatalf("read back rewriteImage.prefix %q", got)
	}
}

func TestClosureErrors(t *testing.T) {
	reg := testregistry.InProcess(t)
	h := reg.Host
	pushPkg(t, h+"/a/cycle-a:v1.0.0", xpkgtest.Package{Kind: "Configuration", Name: "cycle-a", DependsOn: []xpkg.Dependency{{Kind: "Configuration", Package: h + "/a/cycle-b", Version: ">=v1.0.0"}}})
	pushPkg(t, h+"/a/cycle-b:v1.0.0", xpkgtest.Package{Kind: "Configuration", Name: "cycle-b", DependsOn: []xpkg.Dependency{{Kind: "Configuration", Package: h + "/a/cycle-a", Version: ">=v1.0.0"}}})
	pushPkg(t, h+"/a/unsat:v1.0.0", xpkgtest.Package{Kind: "Configuration", Name: "unsat", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: h + "/a/cycle-b", Version: ">=v9.0.0"}}})
	pushPkg(t, h+"/a/unreach:v1.0.0", xpkgtest.Package{Kind: "Configuration", Name: "unreach", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: h + "/a/nowhere", Version: ">=v1.0.0"}}})
	cases := []struct{ root, want string }{
		{"cycle-a", fmt.Sprintf("%s/a/cycle-a:v1.0.0 -> %s/a/cycle-b:v1.0.0 -> %s/a/cycle-a: dependency cycle", h, h, h)},
		{"unsat", fmt.Sprintf("%s/a/unsat:v1.0.0 -> %s/a/cycle-b: no tag satisfies \">=v9.0.0\"", h, h)},
		{"unreach", fmt.Sprintf("%s/a/unreach:v1.0.0 -> %s/a/nowhere: cannot list tags", h, h)},
	}
	for _, c := range cases {
		_, errOut, code := run(t, "mirror", "--closure", h+"/a/"+c.root+":v1.0.0", h+"/mirror")
		if code != ExitError || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d\n%s\nwant %q", c.root, code, errOut, c.want)
		}
	}
}

// The closure exported to an oci-archive, carried, and imported into a third
// registry: digests and annotations intact end to end.
func TestClosureAcrossAirGap(t *testing.T) {
	up := testregistry.Process(t)
	private := testregistry.Process(t)
	u := up.Host
	pushPkg(t, u+"/upbound/configuration-platform:v1.0.0", xpkgtest.Package{Kind: "Configuration", Name: "configuration-platform",
		DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: u + "/upbound/provider-aws-s3", Version: ">=v1.2.0"}}})
	pushPkg(t, u+"/upbound/provider-aws-s3:v1.2.0", xpkgtest.Package{Kind: "Provider", Name: "provider-aws-s3", Family: "family-aws"})
	archive := t.TempDir() + "/platform.tar"

	out, errOut, code := run(t, "mirror", "--closure", u+"/upbound/configuration-platform:v1.0.0", "oci-archive:"+archive)
	if code != 0 || !strings.Contains(out, "Nothing was changed") {
		t.Fatalf("plan: %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(archive); err == nil {
		t.Fatal("the plan wrote the archive")
	}
	out, errOut, code = run(t, "mirror", "--closure", u+"/upbound/configuration-platform:v1.0.0", "oci-archive:"+archive, "--yes")
	if code != 0 || !strings.Contains(out, "exported 2 reference(s)") {
		t.Fatalf("export: %d\n%s\n%s", code, out, errOut)
	}
	// The export records its references.
	dir := t.TempDir()
	if err := xpkg.UnpackLayout(archive, dir); err != nil {
		t.Fatal(err)
	}
	descs, err := xpkg.Layout{Dir: dir}.Index()
	if err != nil || len(descs) != 2 || descs[0].Annotations[xpkg.RefNameAnnotation] != u+"/upbound/configuration-platform:v1.0.0" {
		t.Fatalf("index.json: %+v %v", descs, err)
	}

	prefix := private.Host + "/crossplane"
	out, errOut, code = run(t, "mirror", "oci-archive:"+archive, prefix, "--yes")
	if code != 0 || !strings.Contains(out, "v2.2+ BaseLayer") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	sameGraph(t, u+"/upbound/configuration-platform:v1.0.0", prefix+"/upbound/configuration-platform:v1.0.0")
	sameGraph(t, u+"/upbound/provider-aws-s3:v1.2.0", prefix+"/upbound/provider-aws-s3:v1.2.0")

	// A hostile archive is refused, not unpacked outside its directory.
	bad := t.TempDir() + "/bad.tar"
	writeTar(t, bad, "../../escape", "x")
	_, errOut, code = run(t, "mirror", "oci-archive:"+bad, prefix)
	if code != ExitError || !strings.Contains(errOut, "refusing entry") {
		t.Fatalf("hostile archive: %d %s", code, errOut)
	}
}

func writeTar(t *testing.T, path, name, body string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	_ = tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(body)), Mode: 0o644, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(body))
	_ = tw.Close()
	_ = f.Close()
}
