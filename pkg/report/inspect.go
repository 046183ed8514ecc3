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

// Structured writes v as JSON or YAML.
func Structured(w io.Writer, f Format, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if f == YAML {
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
func Inspect(w io.Writer, f Format, r *inspect.Report) error {
	switch f {
	case JSON, YAML:
		return Structured(w, f, r)
	}
	for i, img := range r.Images {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := inspectImage(w, f == Wide, img); err != nil {
			return err
		}
	}
	return nil
}

func inspectImage(w io.Writer, wide bool, img inspect.Image) error {
	tw := newTabWriter(w)
	fmt.Fprintf(tw, "IMAGE\t%s\n", img.Reference)
	if img.Error != "" {
		fmt.Fprintf(tw, "ERROR\t%s\n", img.Error)
	} else {
		what := xpkg.ShortMediaType(img.MediaType)
		if img.IsIndex {
			what = fmt.Sprintf("%s, %d platforms", what, len(img.Platforms))
		}
		fmt.Fprintf(tw, "DIGEST\t%s (%s)\n", img.Digest, what)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(img.Platforms) > 0 {
		fmt.Fprintln(w)
		tw = newTabWriter(w)
		fmt.Fprintln(tw, "PLATFORM\tDIGEST\tMEDIA TYPE\tLAYERS\tSIZE\tBASE LAYER\tXPKG LABELS\tPACKAGE.YAML")
		for _, p := range img.Platforms {
			mark := " "
			if p.Selected {
				mark = "*"
			}
			if p.ImageReport == nil {
				continue
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, orDash(p.Platform), shortDigest(p.Digest, wide),
				xpkg.ShortMediaType(p.MediaType), layersCol(p.ImageReport), crossplane.HumanBytes(p.CompressedSize()),
				baseCol(p.ImageReport), labelsCol(p.ImageReport), packageCol(p.ImageReport))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if img.IsIndex {
			fmt.Fprintln(w, "(* = the image Crossplane reads: the first linux/amd64 child)")
		}
	}
	if p := img.Package; p != nil && p.Meta != nil {
		fmt.Fprintln(w)
		tw = newTabWriter(w)
		m := p.Meta
		fmt.Fprintf(tw, "PACKAGE\t%s/%s\n", m.Kind, m.Name)
		fmt.Fprintf(tw, "CROSSPLANE\t%s\n", orDash(m.Crossplane))
		deps := make([]string, 0, len(m.DependsOn))
		for _, d := range m.DependsOn {
			deps = append(deps, strings.TrimSpace(fmt.Sprintf("%s %s %s", d.Kind, d.Package, d.Version)))
		}
		fmt.Fprintf(tw, "DEPENDS ON\t%s\n", orDash(strings.Join(deps, "; ")))
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(img.Verdicts) > 0 {
		fmt.Fprintln(w)
		tw = newTabWriter(w)
		fmt.Fprintln(tw, "CROSSPLANE\tOUTCOME\tMESSAGE")
		for _, v := range img.Verdicts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Crossplane, v.Outcome, v.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if u := img.Upstream; u != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "UPSTREAM %s (%s)\n", u.Upstream, u.UpstreamDigest)
		fmt.Fprintf(w, "  %s\n", u.Cause)
		for _, d := range u.Differences {
			fmt.Fprintf(w, "  - %s\n", d)
		}
	}
	if err := findingsTable(w, wide, img.Findings); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nFetched %s from the registry.\n", crossplane.HumanBytes(img.BytesFetched))
	return nil
}

func findingsTable(w io.Writer, wide bool, fs []findings.Finding) error {
	fmt.Fprintln(w)
	if len(fs) == 0 {
		fmt.Fprintln(w, "No findings.")
		return nil
	}
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "SEVERITY\tCODE\tMESSAGE")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Severity, f.Code, f.Message)
		if wide {
			for _, e := range f.Evidence {
				fmt.Fprintf(tw, "\t\t  evidence: %s\n", e)
			}
			if f.Remediation != "" {
				fmt.Fprintf(tw, "\t\t  fix: %s\n", f.Remediation)
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
