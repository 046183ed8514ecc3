package report

import (
	"bytes"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// The package table is the one kubectl get prints: the same table through
// cli-runtime's table printer (kubectl's, linked by this test only: the
// binary keeps it out, see cmd/kubectl-xpdoctor/depcheck_test.go) gives
// the same bytes, with and without headers, normal and wide.
func TestPackageTableIsKubectls(t *testing.T) {
	r := &diagnose.Report{CrossplaneVersion: "v2.1.3", Packages: []diagnose.PackageRow{
		{Kind: "Provider", Name: "provider-aws-s3", Installed: "True", Healthy: "Unknown", UnhealthyFor: "4d", Package: "123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound/provider-aws-s3:v1.6.0",
			Digest: "sha256:2c5b7f0460bd6f7d4c3a7b1e0e2b8d3f1f9c0a2b4c6d8e0f1a3b5c7d9e1f2a3b4", Revision: "provider-aws-s3-2c5b7f0460bd", Finding: findings.DependencyNameMismatch},
		{Kind: "Provider", Name: "provider-nop", Installed: "True", Healthy: "True", Package: "xpkg.upbound.io/upbound/provider-nop:v1.6.0"},
		{Kind: "Configuration", Name: "configuration-platform", Installed: "False", Healthy: "Unknown", UnhealthyFor: "12m", Package: "mirror.example.com/acme/configuration-platform:v9.9.9", Finding: findings.ManifestNotFound},
	}}
	cols := []string{"Kind", "Name", "Installed", "Healthy", "Since", "Package", "Revision", "Digest", "Pull Secret", "Finding"}
	for _, tc := range []struct {
		format    Format
		noHeaders bool
	}{{Table, false}, {Table, true}, {Wide, false}, {Wide, true}} {
		table := &metav1.Table{}
		for _, c := range cols {
			// kubectl shows priority 0 always and higher priorities with -o wide.
			priority := int32(0)
			if c == "Revision" || c == "Pull Secret" {
				priority = 1
			}
			table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{Name: c, Type: "string", Priority: priority})
		}
		for _, p := range r.Packages {
			// The cells as diagnoseTable words them.
			digest := shortDigest(p.Digest, false)
			if tc.format == Wide {
				digest = orDash(p.Digest)
			}
			table.Rows = append(table.Rows, metav1.TableRow{Cells: []any{p.Kind, p.Name, p.Installed, p.Healthy, orDash(p.UnhealthyFor), p.Package,
				orDash(p.Revision), digest, pullSecretCell(p.Credentials), orDash(string(p.Finding))}})
		}
		var want bytes.Buffer
		if err := printers.NewTablePrinter(printers.PrintOptions{NoHeaders: tc.noHeaders, Wide: tc.format == Wide}).PrintObj(table, &want); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := (Printer{Format: tc.format, NoHeaders: tc.noHeaders}).Diagnose(&got, r); err != nil {
			t.Fatal(err)
		}
		tablePart, _, _ := strings.Cut(got.String(), "\n\n")
		if strings.TrimSuffix(tablePart, "\n")+"\n" != want.String() {
			t.Errorf("-o %s --no-headers=%v differs from kubectl's table printer:\n--- xpdoctor\n%s\n--- kubectl\n%s", tc.format, tc.noHeaders, tablePart, want.String())
		}
	}
}
