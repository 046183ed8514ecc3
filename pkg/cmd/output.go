package cmd

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

// reportFlags are the flags of the commands that print a report and judge
// it (diagnose and inspect): kubectl's --no-headers, and --fail-on, which
// says which findings make the exit status 1.
type reportFlags struct {
	NoHeaders bool
	FailOn    string
}

// failOn is the least severity that makes a run exit 1; "" never does.
type failOn findings.Severity

// Values of --fail-on.
const (
	failOnError   = failOn(findings.Error)
	failOnWarning = failOn(findings.Warning)
	failOnNone    = failOn("")
)

func (f *reportFlags) add(c *cobra.Command, outputs []string) {
	_ = c.RegisterFlagCompletionFunc("output", completeOutputs(outputs))
	c.Flags().BoolVar(&f.NoHeaders, "no-headers", false, "with table and wide output, leave out the header rows (diagnose: print only the package rows, for scripts)")
	c.Flags().StringVar(&f.FailOn, "fail-on", string(failOnError), "the least severity of finding that makes the exit status 1: error, warning or none (none is --exit-zero)")
	_ = c.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"error", "warning", "none"}, cobra.ShellCompDirectiveNoFileComp))
}

// printer validates -o, --no-headers, --fail-on and --exit-zero together.
func (f *reportFlags) printer(c *cobra.Command, output string, exitZero bool, r *redact.Redactor, allowed ...report.Format) (report.Printer, failOn, error) {
	p, err := report.ParsePrinter(output, r, allowed...)
	if err != nil {
		return report.Printer{}, "", usageErrorf("%v", err)
	}
	if f.NoHeaders {
		if p.Format != report.Table && p.Format != report.Wide {
			return report.Printer{}, "", usageErrorf("--no-headers applies to table and wide output, not -o %s", p.Format)
		}
		p.NoHeaders = true
	}
	var fail failOn
	switch f.FailOn {
	case "", "error":
		fail = failOnError
	case "warning":
		fail = failOnWarning
	case "none":
		fail = failOnNone
	default:
		return report.Printer{}, "", usageErrorf("--fail-on must be error, warning or none, not %q", f.FailOn)
	}
	if exitZero {
		if c != nil && c.Flags().Changed("fail-on") && fail != failOnNone {
			return report.Printer{}, "", usageErrorf("--exit-zero is --fail-on none: give one of them")
		}
		fail = failOnNone
	}
	return p, fail, nil
}

// fails tells whether findings of this severity end the run with exit 1.
func (o failOn) fails(worst findings.Severity) bool {
	return o != failOnNone && worst.Rank() >= findings.Severity(o).Rank()
}

// diagnoseOutputs are diagnose's -o values, for completion.
var diagnoseOutputs = []string{"table", "wide", "json", "yaml", "markdown", "name", "jsonpath="}

// inspectOutputs are inspect's -o values, for completion.
var inspectOutputs = []string{"table", "wide", "json", "yaml", "name", "jsonpath="}

// completeOutputs completes -o: "jsonpath=" takes its template right after
// the "=", so the shell adds no space after it.
func completeOutputs(formats []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, f := range formats {
			if strings.HasPrefix(f, toComplete) {
				out = append(out, f)
			}
		}
		if len(out) == 1 && strings.HasSuffix(out[0], "=") {
			return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
