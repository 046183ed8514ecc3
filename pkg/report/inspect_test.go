package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
)

// Registry error bodies reach verdicts and findings verbatim: the table
// must show them as text, not let them move the cursor or split a row.
func TestInspectEscapesOutsideText(t *testing.T) {
	hostile := "GET https://r.io/v2/x/manifests/v1: UNKNOWN: \x1b[2J\x1b[31mpwned\nfake row\tcol"
	rep := &inspect.Report{Images: []inspect.Image{{Reference: "r.io/x:v1", Error: hostile,
		Verdicts: []crossplane.Verdict{{Crossplane: "v2.2+", Outcome: crossplane.OutcomeFail, Message: hostile, Stage: crossplane.StageResolve}},
		Findings: []findings.Finding{{Code: findings.ManifestInvalid, Severity: findings.Error, Message: hostile, Evidence: []string{hostile}, Remediation: hostile}}}}}
	for _, f := range []Format{Table, Wide} {
		var b bytes.Buffer
		if err := (Printer{Format: f}).Inspect(&b, rep); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.ContainsRune(out, '\x1b') || strings.Contains(out, "\nfake row") || strings.Contains(out, "row\tcol") {
			t.Fatalf("%s: control characters reach the terminal:\n%q", f, out)
		}
		if !strings.Contains(out, `\x1b[31mpwned\nfake row\tcol`) {
			t.Fatalf("%s: the text is not shown escaped:\n%s", f, out)
		}
	}
}
