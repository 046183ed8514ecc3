// Package preflighttest is the Crossplane v1.20 cluster whose packages pass
// and fail each preflight check, shared by the tests of pkg/preflight (the
// decisions) and pkg/cmd (the command against a real API server).
package preflighttest

import (
	_ "embed"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

//go:embed v120-cluster.yaml
var v120Cluster string

// V120Cluster is the cluster's objects (Crossplane v1.20's CRDs: it holds a
// ControllerConfig) as a YAML stream, its packages pulled from host.
func V120Cluster(host string) string { return strings.ReplaceAll(v120Cluster, "REGISTRY", host) }

// V120Images are the images V120Cluster's packages name, by path under host
// (an image or an index for xpkgtest.Push).
func V120Images(host string) map[string]any {
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	var huge []v1.Layer
	for i := 0; i < 257; i++ {
		huge = append(huge, xpkgtest.RandomLayer(uint64(i+1), 16))
	}
	return map[string]any{
		"crossplane-contrib/provider-ok:v1.0.0":  xpkgtest.Package{Name: "provider-ok", Crossplane: ">=v1.14.0"}.Image(amd64),
		"crossplane-contrib/provider-cc:v1.0.0":  xpkgtest.Package{Name: "provider-cc"}.Image(amd64),
		"crossplane-contrib/provider-nop:v0.2.1": xpkgtest.Package{Name: "provider-nop"}.Index(),
		"acme/provider-old:v1.0.0":               xpkgtest.Package{Name: "provider-old", Crossplane: ">=v1.14.0, <v2.0.0"}.Image(amd64),
		"acme/provider-huge:v1.0.0":              xpkgtest.Package{Name: "provider-huge", Runtime: huge}.Image(amd64),
		"acme/provider-runtime:v1.0.0":           xpkgtest.RuntimeImage(amd64),
		"acme/platform:v1.0.0": xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{
			{Kind: "Provider", Package: host + "/crossplane-contrib/provider-ok", Version: ">=v1.0.0"},
			{Kind: "Function", Package: "crossplane-contrib/function-patch", Version: ">=v0.1.0"},
		}}.Image(amd64),
		"acme/platform-pipeline:v1.0.0":            xpkgtest.Package{Kind: "Configuration", Name: "platform-pipeline"}.Image(amd64),
		"crossplane-contrib/function-never:v0.1.0": xpkgtest.Package{Kind: "Function", Name: "function-never"}.Image(amd64),
	}
}

// CrossplaneV120 is the module whose CRDs V120Cluster needs.
const CrossplaneV120 = "github.com/crossplane/crossplane@v1.20.0"

// CRDFiles are the pkg.crossplane.io CRDs and the Composition CRD of a
// Crossplane module (module@version), for testenv.StartWith.
func CRDFiles(t testing.TB, module string) []string {
	t.Helper()
	dir := testenv.CRDDir(t, module)
	files, err := filepath.Glob(filepath.Join(dir, "pkg.crossplane.io_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s", dir)
	}
	return append(files, filepath.Join(dir, "apiextensions.crossplane.io_compositions.yaml"))
}
