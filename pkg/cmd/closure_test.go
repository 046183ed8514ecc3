package cmd

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
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
	// The ImageConfig goes to stdout alone; the plan and summary to stderr.
	ic, log, code := run(t, "mirror", "--closure", u+"/upbound/configuration-platform:v1.0.0", prefix, "--yes", "--emit-imageconfig")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, ic, log)
	}
	for _, want := range []string{
		"Provider " + u + "/upbound/provider-aws-s3:v1.3.0", // highest release; not the rc, not "v1"
		"Function " + u + "/crossplane-contrib/function-patch-and-transform:v0.2.0",
		"Provider " + u + "/upbound/provider-family-aws:v1.0.0",
		"CLOSURE of " + u + "/upbound/configuration-platform:v1.0.0 (4 packages)",
		"4 reference(s): 4 copied",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q:\n%s", want, log)
		}
	}
	for _, r := range []string{"/upbound/configuration-platform:v1.0.0", "/upbound/provider-aws-s3:v1.3.0", "/crossplane-contrib/function-patch-and-transform:v0.2.0", "/upbound/provider-family-aws:v1.0.0"} {
		sameGraph(t, u+r, prefix+r)
	}
	if !strings.HasPrefix(ic, "---\napiVersion: pkg.crossplane.io/v1beta1") || !strings.Contains(ic, "prefix: "+u+"/") || !strings.Contains(ic, "prefix: "+prefix+"/") {
		t.Fatalf("stdout is not the ImageConfig alone:\n%s", ic)
	}
	for _, l := range strings.Split(ic, "\n") {
		if strings.Contains(l, "PLAN") || strings.Contains(l, "copied") || strings.Contains(l, "reference(s)") {
			t.Fatalf("a summary line is mixed into the YAML: %q", l)
		}
	}
	if !strings.Contains(ic, "# Provider "+prefix+"/upbound/provider-aws-s3:v1.3.0  # skipDependencyResolution: true") {
		t.Fatalf("no pre-v1.20 alternative (as YAML comments):\n%s", ic)
	}
	// The same to a named file; a rerun is up to date and writes the same file.
	file := filepath.Join(t.TempDir(), "imageconfig.yaml")
	out, errOut, code := run(t, "mirror", "--closure", u+"/upbound/configuration-platform:v1.0.0", prefix, "--yes", "--emit-imageconfig="+file)
	if b, _ := os.ReadFile(file); code != 0 || string(b) != ic || !strings.Contains(out, "4 up to date") {
		t.Fatalf("--emit-imageconfig=FILE: exit %d\n%s\n%s\nfile:\n%s", code, out, errOut, b)
	}

	// kubectl accepts it, against a real API server with Crossplane's CRDs.
	env := testenv.Start(t, false)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		for _, dry := range []string{"--dry-run=server", ""} {
			args := []string{"apply", "--kubeconfig", env.Kubeconfig, "-f", file}
			if dry != "" {
				args = append(args, dry)
			}
			if b, err := exec.Command(kubectl, args...).CombinedOutput(); err != nil {
				t.Fatalf("kubectl %v: %v\n%s", args, err, b)
			}
		}
	} else {
		t.Log("kubectl is not installed: creating the objects with the API client instead")
		create(t, env.Config, ic)
	}
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

// --emit-imageconfig where it means nothing is refused before anything is
// read or written.
func TestEmitImageConfigRefused(t *testing.T) {
	reg := testregistry.InProcess(t)
	src := reg.Host + "/upbound/provider-nop:v1.6.0"
	dir := t.TempDir()
	for _, args := range [][]string{
		{"mirror", src, reg.Host + "/mirror/provider-nop:v1.6.0", "--emit-imageconfig"},
		{"mirror", "--closure", src, "oci:" + filepath.Join(dir, "layout"), "--emit-imageconfig"},
		{"mirror", "--closure", src, reg.Host + "/mirror", "--emit-imageconfig", "-o", "json"},
	} {
		_, errOut, code := run(t, args...)
		if code != ExitError || !strings.Contains(errOut, "--emit-imageconfig") {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused command wrote %v", entries)
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
	if code != 0 || !strings.Contains(out, "2 reference(s): 2 copied") {
		t.Fatalf("export: %d\n%s\n%s", code, out, errOut)
	}
	// The export records its references.
	eng := transfer.New(xpkg.NewClient(), transfer.Options{})
	defer eng.Close()
	refs, err := eng.References(transfer.Archive, archive)
	if err != nil || len(refs) != 2 || refs[0] != u+"/upbound/configuration-platform:v1.0.0" {
		t.Fatalf("index.json: %v %v", refs, err)
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

// Without --yes the plan goes to stderr and the ImageConfig to stdout (it
// changes nothing); a named file is written only with --yes.
func TestEmitImageConfigWithPlan(t *testing.T) {
	reg := testregistry.InProcess(t)
	root := reg.Host + "/upbound/provider-family-aws:v1.0.0"
	pushPkg(t, root, xpkgtest.Package{Kind: "Provider", Name: "provider-family-aws"})
	ic, log, code := run(t, "mirror", "--closure", root, reg.Host+"/mirror", "--emit-imageconfig")
	if code != 0 || !strings.HasPrefix(ic, "---\napiVersion: pkg.crossplane.io/v1beta1") || !strings.Contains(log, "Nothing was changed") {
		t.Fatalf("exit %d\n%s\n%s", code, ic, log)
	}
	file := filepath.Join(t.TempDir(), "ic.yaml")
	_, log, code = run(t, "mirror", "--closure", root, reg.Host+"/mirror", "--emit-imageconfig="+file)
	if _, err := os.Stat(file); code != 0 || err == nil || !strings.Contains(log, "with --yes, the ImageConfig is also written to "+file) {
		t.Fatalf("plan with a file: exit %d, %v\n%s", code, err, log)
	}
}
