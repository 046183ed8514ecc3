package report

import (
	"fmt"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// SeverityCounts says how many findings there are of each severity, most
// severe first, severities without findings left out: "3 errors, 1
// warning, 2 info"; "no findings" when there are none.
func SeverityCounts(fs []findings.Finding) string {
	n := map[findings.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for _, s := range []struct {
		sev          findings.Severity
		one, several string
	}{{findings.Error, "error", "errors"}, {findings.Warning, "warning", "warnings"}, {findings.Info, "info", "info"}} {
		switch c := n[s.sev]; c {
		case 0:
		case 1:
			parts = append(parts, "1 "+s.one)
		default:
			parts = append(parts, fmt.Sprintf("%d %s", c, s.several))
		}
	}
	if len(parts) == 0 {
		return "no findings"
	}
	return strings.Join(parts, ", ")
}

// diagnoseSummary is the last line of a diagnose report: the counts a CI
// log shows at its end.
func diagnoseSummary(r *diagnose.Report) string {
	unhealthy := 0
	for _, p := range r.Packages {
		if p.Healthy != "True" {
			unhealthy++
		}
	}
	packages := "1 package"
	if len(r.Packages) != 1 {
		packages = fmt.Sprintf("%d packages", len(r.Packages))
	}
	return fmt.Sprintf("Summary: %s (%s, %d not healthy).", SeverityCounts(r.Findings), packages, unhealthy)
}
