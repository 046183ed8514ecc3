package cmd

import (
	"regexp"
	"testing"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// summaryLine is the one summary every transfer prints (pkg/report
// TransferResult), whichever front end ran the engine.
var summaryLine = regexp.MustCompile(`(?m)^\d+ reference\(s\): \d+ copied[^\n]*\. Blobs: \d+ copied \([^)]*\), \d+ mounted, \d+ already present\. Manifests: \d+ pushed, \d+ already present\. Tags: \d+ created, \d+ moved, \d+ unchanged\.\nVerified: [^\n]+\. In [^\n]+\.$`)

// The five front ends (mirror, --closure, export, import, fix) run the one
// engine on the same fixture and print the same summary.
func TestFrontEndsShareEngine(t *testing.T) {
	up := testregistry.InProcess(t)
	src := up.Host + "/upbound/provider-nop:v1.6.0"
	if err := xpkgtest.Push(src, provider.Index()); err != nil {
		t.Fatal(err)
	}
	if err := xpkgtest.Push(up.Host+"/upbound/provider-family-aws:v1.6.0", xpkgtest.Package{Kind: "Provider", Name: "provider-family-aws"}.Index()); err != nil {
		t.Fatal(err)
	}
	// provider depends on xpkg.upbound.io/...; a closure root without dependencies:
	root := up.Host + "/upbound/provider-family-aws:v1.6.0"
	dst := testregistry.InProcess(t)
	archive := t.TempDir() + "/carry.tar"
	for name, args := range map[string][]string{
		"mirror":  {"mirror", src, dst.Host + "/m/provider-nop:v1.6.0", "--yes"},
		"closure": {"mirror", "--closure", root, dst.Host + "/c", "--yes"},
		"export":  {"mirror", src, "oci-archive:" + archive, "--yes"},
	} {
		out, errOut, code := run(t, args...)
		if code != 0 || !summaryLine.MatchString(out) {
			t.Errorf("%s: exit %d\n%s\n%s", name, code, out, errOut)
		}
	}
	out, errOut, code := run(t, "mirror", "oci-archive:"+archive, dst.Host+"/i", "--yes")
	if code != 0 || !summaryLine.MatchString(out) {
		t.Errorf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Run("fix", func(t *testing.T) {
		pinClock(t)
		env, _, host := incidentCluster(t)
		out, errOut, code := run(t, "fix", "provider-docker", "--kubeconfig", env.Kubeconfig, "--upstream-registry", host+"/mirror="+host, "--yes")
		if code != 0 || !summaryLine.MatchString(out) {
			t.Errorf("fix: exit %d\n%s\n%s", code, out, errOut)
		}
	})
}
