package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/preflight"
)

// Preflight renders a preflight report: JSON and YAML as the report is;
// the table is preflight's rows (Crossplane's own checks, then every check
// of a package that is not Safe, with what to change before upgrading),
// then the verdict and the changes crossed that touch the cluster.
func (p Printer) Preflight(w io.Writer, r *preflight.Report) error {
	switch p.Format {
	case JSON, YAML:
		return p.Structured(w, r)
	}
	return p.preflightTable(p.human(w), r)
}

func (p Printer) preflightTable(w io.Writer, r *preflight.Report) error {
	t := p.text()
	wide := p.Format == Wide
	header := preflight.RowHeader
	if wide {
		header = append(append([]string{}, header[:4]...), "CODE", "MESSAGE", "FIX")
	}
	tab := newTabWriter(w)
	fmt.Fprintln(tab, strings.Join(header, "\t"))
	for _, row := range r.Rows() {
		cells := []string{row.Kind, row.Name, row.Check, string(row.Status)}
		if wide {
			cells = append(cells, orDash(string(row.Code)))
		}
		cells = append(cells, row.Message, orDash(row.Fix))
		for i := range cells {
			cells[i] = t.Line(cells[i])
		}
		fmt.Fprintln(tab, strings.Join(cells, "\t"))
	}
	if err := tab.Flush(); err != nil {
		return err
	}
	p.preflightSummary(w, r)
	return nil
}

// preflightSummary is what the table's rows do not say: the versions, the
// verdict and its exit status, the changes crossed, and what was not read.
func (p Printer) preflightSummary(w io.Writer, r *preflight.Report) {
	t := p.text()
	running := r.Running
	if running == "" {
		running = "an unknown version"
	}
	fmt.Fprintf(w, "\nCrossplane %s to %s (generation %s): %s, exit %d (%s).\n", t.Line(running), t.Line(r.Target), t.Line(r.Generation), r.Status, r.ExitCode(), statusMeaning(r.Status))
	var touching []string
	for _, c := range r.Changes {
		if c.Affected > 0 {
			touching = append(touching, fmt.Sprintf("%s (%s, v%s and later, %d)", c.ID, c.Effect, strings.TrimPrefix(c.Since, "v"), c.Affected))
		}
	}
	if len(touching) > 0 {
		fmt.Fprintf(w, "Changes crossed that touch this cluster: %s. Each is described with its sources in docs/preflight.md; -o json has every check's evidence and sources.\n", t.Line(strings.Join(touching, ", ")))
	}
	for _, d := range r.Denied {
		fmt.Fprintf(w, "Note: %s %s was forbidden (%s): checks that need it are Unknown.\n", t.Line(d.Verb), t.Line(strings.TrimPrefix(d.Group+"/"+d.Resource, "/")), t.Line(d.Message))
	}
}

func statusMeaning(s preflight.Status) string {
	switch s {
	case preflight.Breaks:
		return "the target will not install or run something: change what the FIX column says before upgrading"
	case preflight.Degrades:
		return "something keeps working, worse: change what the FIX column says before upgrading"
	case preflight.Unknown:
		return "preflight could not tell for some checks, and knows of nothing that breaks"
	}
	return "nothing preflight knows of stops working"
}
