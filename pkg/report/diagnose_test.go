package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

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

// How long a package has not been healthy is a column of every table and a
// field of the JSON; a healthy package shows "-".
func TestDiagnoseSince(t *testing.T) {
	since := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	r := &diagnose.Report{CrossplaneVersion: "v2.3.4", Packages: []diagnose.PackageRow{
		{Kind: "Provider", Name: "broken", Installed: "True", Healthy: "False", Package: "r.io/p:v1", UnhealthySince: &since, UnhealthyFor: "3h", Finding: findings.PackageUnhealthy},
		{Kind: "Provider", Name: "fine", Installed: "True", Healthy: "True", Package: "r.io/q:v1"}}}
	for f, want := range map[Format][]string{
		Table:    {"SINCE", "False     3h      r.io/p:v1", "True      -       r.io/q:v1"},
		Wide:     {"SINCE", "False     3h      r.io/p:v1"},
		Markdown: {"| Since |", "| False   | 3h    |"},
		JSON:     {`"unhealthySince": "2026-11-27T03:00:00Z"`, `"unhealthyFor": "3h"`},
	} {
		var b bytes.Buffer
		if err := (Printer{Format: f}).Diagnose(&b, r); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q:\n%s", f, w, b.String())
			}
		}
		if f == JSON && strings.Count(b.String(), "unhealthy") != 2 {
			t.Errorf("a healthy package has no unhealthy fields:\n%s", b.String())
		}
	}
}
