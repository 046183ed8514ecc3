// Package report renders xpdoctor's reports: kubectl-style tables, wide
// tables, JSON, YAML and markdown. It only formats; it decides nothing.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Format is an output format.
type Format string

// Formats.
const (
	Table    Format = "table"
	Wide     Format = "wide"
	JSON     Format = "json"
	YAML     Format = "yaml"
	Markdown Format = "markdown"
)

// ParseFormat validates -o.
func ParseFormat(s string, allowed ...Format) (Format, error) {
	if s == "" {
		return Table, nil
	}
	for _, f := range allowed {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(allowed))
	for i, f := range allowed {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown output format %q: want one of %s", s, strings.Join(names, ", "))
}

// newTabWriter matches kubectl's printers.GetNewTabWriter.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
}

// Printer renders reports in one format. Every text that comes from
// outside xpdoctor is redacted with Redactor and escaped for the format
// (safe.go); nil Redactor redacts with the patterns only.
type Printer struct {
	Format   Format
	Redactor *redact.Redactor
}

func (p Printer) text() Text { return Text{Redactor: p.Redactor} }

// human wraps w for a table or markdown: the per-field escaping is the
// rule, the SafeWriter catches anything printed around it.
func (p Printer) human(w io.Writer) io.Writer { return NewSafeWriter(w, p.Redactor) }

// Structured writes v as JSON or YAML, every string redacted. The encoders
// escape control characters, so the values stay exact.
func (p Printer) Structured(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = redactJSON(b, p.Redactor)
	if p.Format == YAML {
		b = escapeForYAML(b)
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// Inspect renders an inspect report.
func (p Printer) Inspect(w io.Writer, r *inspect.Report) error {
	switch p.Format {
	case JSON, YAML:
		return p.Structured(w, r)
	}
	w = p.human(w)
	for i, img := range r.Images {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := p.inspectImage(w, img); err != nil {
			return err
		}
	}
	return nil
}

func (p Printer) inspectImage(w io.Writer, img inspect.Image) error {
	wide, t := p.Format == Wide, p.text()
	tw := newTabWriter(w)
	fmt.Fprintf(tw, "IMAGE\t%s\n", t.Line(img.Reference))
	if img.Error != "" {
		fmt.Fprintf(tw, "ERROR\t%s\n", t.Line(img.Error))
	} else {
		what := t.Line(xpkg.ShortMediaType(img.MediaType))
		if img.IsIndex {
			what = fmt.Sprintf("%s, %d platforms", what, len(img.Platforms))
		}
		fmt.Fprintf(tw, "DIGEST\t%s (%s)\n", t.Line(img.Digest), what)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(img.Platforms) > 0 {
		fmt.Fprintln(w)
		tw = newTabWriter(w)
		fmt.Fprintln(tw, "PLATFORM\tDIGEST\tMEDIA TYPE\tLAYERS\tSIZE\tBASE LAYER\tXPKG LABELS\tPACKAGE.YAML")
		for _, pl := range img.Platforms {
			mark := " "
			if pl.Selected {
				mark = "*"
			}
			if pl.ImageReport == nil {
				continue
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, orDash(t.Line(pl.Platform)), t.Line(shortDigest(pl.Digest, wide)),
				t.Line(xpkg.ShortMediaType(pl.MediaType)), layersCol(pl.ImageReport), crossplane.HumanBytes(pl.CompressedSize()),
				baseCol(pl.ImageReport), labelsCol(pl.ImageReport), t.Line(packageCol(pl.ImageReport)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if img.IsIndex {
			fmt.Fprintln(w, "(* = the image Crossplane reads: the first linux/amd64 child)")
		}
	}
	if pf := img.Package; pf != nil && pf.Meta != nil {
		fmt.Fprintln(w)
		tw = newTabWriter(w)
		m := pf.Meta
		fmt.Fprintf(tw, "PACKAGE\t%s\n", t.Line(m.Kind+"/"+m.Name))
		fmt.Fprintf(tw, "CROSSPLANE\t%s\n", orDash(t.Line(m.Crossplane)))
		deps := make([]string, 0, len(m.DependsOn))
		for _, d := range m.DependsOn {
			deps = append(deps, strings.TrimSpace(fmt.Sprintf("%s %s %s", d.Kind, d.Package, d.Version)))
		}
		fmt.Fprintf(tw, "DEPENDS ON\t%s\n", orDash(t.Line(strings.Join(deps, "; "))))
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(img.Verdicts) > 0 {
		fmt.Fprintln(w)
		tw = newTabWriter(w)
		fmt.Fprintln(tw, "CROSSPLANE\tOUTCOME\tMESSAGE")
		for _, v := range img.Verdicts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Crossplane, v.Outcome, t.Line(v.Message))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if u := img.Upstream; u != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "UPSTREAM %s (%s)\n", t.Line(u.Upstream), t.Line(u.UpstreamDigest))
		fmt.Fprintf(w, "  %s\n", t.Line(u.Cause))
		for _, d := range u.Differences {
			fmt.Fprintf(w, "  - %s\n", t.Line(d))
		}
	}
	if err := p.findingsTable(w, img.Findings); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nFetched %s from the registry.\n", crossplane.HumanBytes(img.BytesFetched))
	return nil
}

func (p Printer) findingsTable(w io.Writer, fs []findings.Finding) error {
	wide, t := p.Format == Wide, p.text()
	fmt.Fprintln(w)
	if len(fs) == 0 {
		fmt.Fprintln(w, "No findings.")
		return nil
	}
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "SEVERITY\tCODE\tMESSAGE")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Severity, f.Code, t.Line(f.Message))
		if wide {
			for _, e := range f.Evidence {
				fmt.Fprintf(tw, "\t\t  evidence: %s\n", t.Line(e))
			}
			if f.Remediation != "" {
				fmt.Fprintf(tw, "\t\t  fix: %s\n", t.Line(f.Remediation))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !wide {
		fmt.Fprintln(w, "(-o wide shows the evidence and the fix for each finding)")
	}
	return nil
}

func layersCol(i *xpkg.ImageReport) string {
	if i.Err != nil && len(i.Layers) == 0 {
		return "-"
	}
	return fmt.Sprint(len(i.Layers))
}

func baseCol(i *xpkg.ImageReport) string {
	switch len(i.BaseLayers) {
	case 0:
		if i.Err != nil {
			return "-"
		}
		return "none"
	case 1:
		return fmt.Sprintf("layer %d", i.BaseLayers[0]+1)
	default:
		parts := make([]string, len(i.BaseLayers))
		for k, b := range i.BaseLayers {
			parts[k] = fmt.Sprint(b + 1)
		}
		return "several: " + strings.Join(parts, ",")
	}
}

func labelsCol(i *xpkg.ImageReport) string {
	if len(i.Labels) == 0 {
		return "none"
	}
	match := 0
	for _, l := range i.Labels {
		if l.MatchesLayer {
			match++
		}
	}
	return fmt.Sprintf("%d (%d match a layer)", len(i.Labels), match)
}

func packageCol(i *xpkg.ImageReport) string {
	if i.Err != nil {
		return "error: " + i.Err.Detail
	}
	scan := i.BaseScan
	where := "annotated layer"
	if scan == nil {
		scan, where = i.FlattenScan, "flattened image"
	}
	if scan == nil {
		return "not read"
	}
	switch {
	case scan.Err != "":
		return where + ": " + scan.Err
	case scan.BaseNameIndex >= 0:
		s := fmt.Sprintf("%s: %s (layer %d)", where, scan.BaseNamePath, scan.BaseNameLayer+1)
		if i.Package != nil && i.Package.NotRegular != "" {
			s += ", not a regular file"
		}
		if !scan.Verified {
			s += fmt.Sprintf(", not verified (xpdoctor checks the digest of layers up to %s)", crossplane.HumanBytes(xpkg.MaxVerifiedLayerBytes))
		}
		return s
	case scan.Truncated != "":
		return where + ": " + scan.Truncated
	}
	return fmt.Sprintf("%s: not found in %d entries", where, scan.Entries)
}

func shortDigest(d string, wide bool) string {
	if wide || len(d) < 19 {
		return d
	}
	return d[:19]
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
