package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
)

// Fleet renders diagnose over several clusters: JSON and YAML keyed by
// context; the table is diagnose's with a CLUSTER column (a cluster that
// could not be read is one row saying why), then each cluster's findings.
func (p Printer) Fleet(w io.Writer, r *diagnose.FleetReport) error {
	switch p.Format {
	case JSON, YAML, JSONPath:
		return p.Structured(w, r)
	}
	w = p.human(w)
	t, wide := p.text(), p.Format == Wide
	tab := newTabWriter(w)
	if wide {
		p.header(tab, "CLUSTER\tKIND\tNAME\tINSTALLED\tHEALTHY\tSINCE\tPACKAGE\tREVISION\tDIGEST\tPULL SECRET\tFINDING")
	} else {
		p.header(tab, "CLUSTER\tKIND\tNAME\tINSTALLED\tHEALTHY\tSINCE\tPACKAGE\tDIGEST\tFINDING")
	}
	for _, name := range r.Contexts {
		c := r.Clusters[name]
		cluster := t.Line(name)
		if c.Report == nil {
			fmt.Fprintf(tab, "%s\t%snot read: %s\n", cluster, strings.Repeat("-\t", dashes(wide)), t.Line(c.Error))
			continue
		}
		for _, pk := range c.Report.Packages {
			fmt.Fprintln(tab, cluster+"\t"+strings.Join(p.packageCells(pk, wide), "\t"))
		}
		if len(c.Report.Packages) == 0 {
			fmt.Fprintf(tab, "%s\t%s-\n", cluster, strings.Repeat("-\t", dashes(wide)))
		}
	}
	if err := tab.Flush(); err != nil {
		return err
	}
	for _, name := range r.Contexts {
		c := r.Clusters[name]
		fmt.Fprintf(w, "\nCluster %s: ", t.Line(name))
		if c.Report == nil {
			fmt.Fprintf(w, "not read: %s\n", t.Line(c.Error))
			continue
		}
		p.diagnoseFindings(w, c.Report, wide)
	}
	fmt.Fprintf(w, "\n%d of %d cluster(s) read.\n", r.Read(), len(r.Contexts))
	return nil
}

// dashes is the number of empty cells between CLUSTER and FINDING.
func dashes(wide bool) int {
	if wide {
		return 8
	}
	return 7
}
