package preflight

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./pkg/preflight -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./pkg/preflight -run TestReportGolden -update, then review the diff):\n--- got\n%s", name, got)
	}
}

// TestReportGolden pins the JSON report and the table rows a renderer
// prints, for a v1.20 cluster judged against v2.0.0.
func TestReportGolden(t *testing.T) {
	r := newRegistry(t)
	// Sources are named as on a real cluster and read from the test
	// registry, so nothing in the images depends on its port.
	const (
		ok     = "xpkg.crossplane.io/crossplane-contrib/provider-ok:v1.0.0"
		old    = "registry.example.com/acme/provider-old:v1.0.0"
		cfgRef = "registry.example.com/acme/platform:v1.0.0"
	)
	_, okImg := r.pkg("crossplane-contrib/provider-ok:v1.0.0", xpkgtest.Package{Name: "provider-ok", Crossplane: ">=v1.14.0"})
	_, oldImg := r.pkg("acme/provider-old:v1.0.0", xpkgtest.Package{Name: "provider-old", Crossplane: ">=v1.14.0, <v2.0.0"})
	_, cfgImg := r.pkg("acme/platform:v1.0.0", xpkgtest.Package{Kind: "Configuration", Name: "platform", DependsOn: []xpkg.Dependency{{Kind: "Provider", Package: "xpkg.crossplane.io/crossplane-contrib/provider-ok", Version: ">=v1.0.0"}}})
	pkgs := []cluster.Package{
		provider("provider-ok", ok),
		provider("provider-cc", ok, func(p *cluster.Package) {
			p.CurrentRevision, p.ControllerConfigRef = "provider-cc-aaaaaaaaaaaa", "irsa"
		}),
		provider("provider-old", old),
		provider("platform", cfgRef, ofKind("Configuration")),
	}
	in := Input{Snapshot: snapshot(false, append(coreArgs, "--enable-environment-configs"), pkgs...), Images: map[string]*xpkg.Report{ok: okImg, old: oldImg, cfgRef: cfgImg}, Running: "v1.20.0", Target: "v2.0.0"}
	rep := run(t, in)
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", strings.ReplaceAll(string(b), r.host, "REGISTRY")+"\n")

	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 4, 3, ' ', 0)
	tw.Write([]byte(strings.Join(RowHeader, "\t") + "\n"))
	for _, row := range rep.Rows() {
		tw.Write([]byte(strings.Join([]string{row.Kind, row.Name, row.Check, string(row.Status), row.Message, row.Fix}, "\t") + "\n"))
	}
	tw.Flush()
	golden(t, "rows.txt", strings.ReplaceAll(sb.String(), r.host, "REGISTRY"))
	if rep.ExitCode() != ExitBreaks {
		t.Errorf("exit %d", rep.ExitCode())
	}
}
