package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// Notes and the causes a finding cannot rule out are shown in every human format.
func TestDiagnoseNotesAndAlternatives(t *testing.T) {
	r := &diagnose.Report{CrossplaneVersion: diagnose.VersionUnknown,
		Notes:    []string{"the input has no Crossplane Deployment: the Crossplane version is unknown"},
		Packages: []diagnose.PackageRow{{Kind: "Provider", Name: "p", Installed: "True", Healthy: "False", Package: "cdloh/provider-cloudflare:v0.1.0", Finding: findings.RegistryUnauthorized}},
		Findings: []findings.Finding{{Code: findings.RegistryUnauthorized, Severity: findings.Error, Subject: findings.Subject{Kind: "Provider", Name: "p"},
			Message: "the registry refused it", Alternatives: []findings.Code{findings.ManifestNotFound}, Remediation: "tell the two apart"}}}
	for _, f := range []Format{Table, Markdown} {
		var b bytes.Buffer
		if err := (Printer{Format: f}).Diagnose(&b, r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"Crossplane unknown", "the Crossplane version is unknown", "also possible: ManifestNotFound"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q:\n%s", f, want, out)
			}
		}
	}
	var b bytes.Buffer
	if err := (Printer{Format: JSON}).Diagnose(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"alternatives": [`) || !strings.Contains(b.String(), `"notes": [`) {
		t.Fatalf("%s", b.String())
	}
}
