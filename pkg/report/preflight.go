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
	case JSON, YAML, JSONPath:
		return p.Structured(w, r)
	}
	return p.preflightTable(p.human(w), r)
}

func (p Printer) preflightTable(w io.Writer, r *preflight.Report) error {
	tab := newTabWriter(w)
	fmt.Fprintln(tab, strings.Join(p.preflightHeader(), "\t"))
	for _, row := range r.Rows() {
		fmt.Fprintln(tab, strings.Join(p.preflightCells(row), "\t"))
	}
	if err := tab.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	p.preflightSummary(w, r)
	return nil
}

// preflightHeader is preflight.RowHeader, with CODE in -o wide.
func (p Printer) preflightHeader() []string {
	h := preflight.RowHeader
	if p.Format == Wide {
		h = append(append([]string{}, h[:4]...), "CODE", "MESSAGE", "FIX")
	}
	return h
}

// preflightCells are a row's cells, escaped.
func (p Printer) preflightCells(row preflight.Row) []string {
	t := p.text()
	cells := []string{row.Kind, row.Name, row.Check, string(row.Status)}
	if p.Format == Wide {
		cells = append(cells, orDash(string(row.Code)))
	}
	cells = append(cells, row.Message, orDash(row.Fix))
	for i := range cells {
		cells[i] = t.Line(cells[i])
	}
	return cells
}

// PreflightFleet renders a preflight of several clusters: JSON and YAML
// keyed by context; the table is preflight's with a CLUSTER column (a
// cluster that could not be read is one Unknown row saying why), then each
// cluster's verdict.
func (p Printer) PreflightFleet(w io.Writer, r *preflight.FleetReport) error {
	switch p.Format {
	case JSON, YAML, JSONPath:
		return p.Structured(w, r)
	}
	w = p.human(w)
	t := p.text()
	tab := newTabWriter(w)
	fmt.Fprintln(tab, "CLUSTER\t"+strings.Join(p.preflightHeader(), "\t"))
	for _, name := range r.Contexts {
		c := r.Clusters[name]
		if c.Report == nil {
			row := preflight.Row{Kind: "-", Name: "-", Check: "-", Status: preflight.Unknown, Message: "not read: " + c.Error,
				Fix: "make the cluster readable (--kubeconfig, --context, network) and run preflight again"}
			fmt.Fprintln(tab, t.Line(name)+"\t"+strings.Join(p.preflightCells(row), "\t"))
			continue
		}
		for _, row := range c.Report.Rows() {
			fmt.Fprintln(tab, t.Line(name)+"\t"+strings.Join(p.preflightCells(row), "\t"))
		}
	}
	if err := tab.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, name := range r.Contexts {
		fmt.Fprintf(w, "Cluster %s: ", t.Line(name))
		if c := r.Clusters[name]; c.Report != nil {
			p.preflightSummary(w, c.Report)
		} else {
			fmt.Fprintf(w, "not read: %s\n", t.Line(c.Error))
		}
	}
	fmt.Fprintf(w, "\n%d cluster(s) to %s: %s, exit %d (%s).\n", len(r.Contexts), t.Line(r.Target), r.Status, r.ExitCode(), statusMeaning(r.Status))
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
	fmt.Fprintf(w, "Crossplane %s to %s (generation %s): %s, exit %d (%s).\n", t.Line(running), t.Line(r.Target), t.Line(r.Generation), r.Status, r.ExitCode(), statusMeaning(r.Status))
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
