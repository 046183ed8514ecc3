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
	// NoHeaders leaves out the header row of every table (--no-headers).
	NoHeaders bool
	// JSONPath is the template of Format JSONPath.
	JSONPath string
}

func (p Printer) text() Text { return Text{Redactor: p.Redactor} }

// human wraps w for a table, markdown or plain lines: the per-field
// escaping is the rule, the SafeWriter catches anything printed around it.
func (p Printer) human(w io.Writer) io.Writer { return NewSafeWriter(w, p.Redactor) }

// Structured writes v as JSON or YAML, every string redacted. The encoders
// (and escapeForJSON) escape control and format characters, so the values
// stay exact and nothing a terminal interprets is written raw.
func (p Printer) Structured(w io.Writer, v any) error {
	if p.Format == JSONPath {
		return p.jsonPath(w, v)
	}
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
	_, err = fmt.Fprintf(w, "%s\n", escapeForJSON(b))
	return err
}

// Inspect renders an inspect report.
func (p Printer) Inspect(w io.Writer, r *inspect.Report) error {
	switch p.Format {
	case JSON, YAML, JSONPath:
		return p.Structured(w, r)
	case Name:
		return p.inspectNames(p.human(w), r)
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

// header writes a table's header row, unless NoHeaders.
func (p Printer) header(w io.Writer, row string) {
	if !p.NoHeaders {
		fmt.Fprintln(w, row)
	}
}

// inspectNames is -o name: each image read, pinned to the digest it
// names now (what spec.package or a mirror can be pinned to). An image
// that could not be read has no name to print; the exit status says so.
func (p Printer) inspectNames(w io.Writer, r *inspect.Report) error {
	t := p.text()
	for _, img := range r.Images {
		if img.Digest == "" {
			continue
		}
		ref := img.Reference
		if _, recorded, ok := strings.Cut(ref, " ("); ok && strings.HasSuffix(recorded, ")") {
			// oci:DIR (REF): the reference the layout records.
			ref = strings.TrimSuffix(recorded, ")")
		}
		fmt.Fprintf(w, "%s@%s\n", t.Line(xpkg.RepositoryOf(ref)), t.Line(img.Digest))
	}
	return nil
}

func (p Printer) inspectImage(w io.Writer, img inspect.Image) error {
	wide, t := p.Format == Wide, p.text()
	safe := t.Line
	tw := newTabWriter(w)
	fmt.Fprintf(tw, "IMAGE\t%s\n", safe(img.Reference))
	if img.Error != "" {
		fmt.Fprintf(tw, "ERROR\t%s\n", safe(img.Error))
	} else {
		what := safe(xpkg.ShortMediaType(img.MediaType))
		if img.IsIndex {
			what = fmt.Sprintf("%s, %d platforms", what, len(img.Platforms))
		}
		fmt.Fprintf(tw, "DIGEST\t%s (%s)\n", safe(img.Digest), what)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(img.Platforms) > 0 {
		fmt.Fprintln(w)
		tw = newTabWriter(w)
		p.header(tw, "PLATFORM\tDIGEST\tMEDIA TYPE\tLAYERS\tSIZE\tBASE LAYER\tXPKG LABELS\tPACKAGE.YAML")
		for _, pl := range img.Platforms {
			mark := " "
			if pl.Selected {
				mark = "*"
			}
			if pl.ImageReport == nil {
				continue
			}
			if pl.NotRead {
				// Known from the index only: Crossplane reads another child.
				fmt.Fprintf(tw, "%s%s\t%s\t%s\t-\t-\t-\t-\tnot read (--all-platforms reads it)\n", mark, orDash(safe(pl.Platform)), safe(shortDigest(pl.Digest, wide)),
					safe(xpkg.ShortMediaType(pl.MediaType)))
				continue
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, orDash(safe(pl.Platform)), safe(shortDigest(pl.Digest, wide)),
				safe(xpkg.ShortMediaType(pl.MediaType)), layersCol(pl.ImageReport), crossplane.HumanBytes(pl.CompressedSize()),
				baseCol(pl.ImageReport), labelsCol(pl.ImageReport), safe(packageCol(pl.ImageReport)))
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
		fmt.Fprintf(tw, "PACKAGE\t%s/%s\n", safe(m.Kind), safe(m.Name))
		fmt.Fprintf(tw, "CROSSPLANE\t%s\n", safe(orDash(m.Crossplane)))
		deps := make([]string, 0, len(m.DependsOn))
		for _, d := range m.DependsOn {
			deps = append(deps, strings.TrimSpace(fmt.Sprintf("%s %s %s", d.Kind, d.Package, d.Version)))
		}
		fmt.Fprintf(tw, "DEPENDS ON\t%s\n", safe(orDash(strings.Join(deps, "; "))))
		if len(pf.Groups) > 0 {
			fmt.Fprintf(tw, "API GROUPS\t%s\n", safe(strings.Join(pf.Groups, ", ")))
		}
		if ob := selectedOtherBase(img); ob != nil {
			fmt.Fprintf(tw, "OTHER BASE LAYER\t%s\n", safe(otherBaseCol(ob, pf)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(img.Verdicts) > 0 {
		fmt.Fprintln(w)
		tw = newTabWriter(w)
		if wide {
			p.header(tw, "CROSSPLANE\tOUTCOME\tSTAGE\tREVISION\tEXACT\tMESSAGE")
		} else {
			p.header(tw, "CROSSPLANE\tOUTCOME\tSTAGE\tREVISION\tMESSAGE")
		}
		for _, v := range img.Verdicts {
			cols := []string{safe(v.Crossplane), string(v.Outcome), orDash(string(v.Stage)), revisionCol(v)}
			if wide {
				cols = append(cols, yesNo(v.Exact))
			}
			msg := safe(v.Message)
			if img.Error != "" && !wide {
				// Each version's message quotes the same registry answer
				// the ERROR line says once.
				msg = "fails on the ERROR above (-o wide: the message this version writes)"
			}
			fmt.Fprintf(tw, "%s\t%s\n", strings.Join(cols, "\t"), msg)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if err := p.dependencyTable(w, img.Verdicts); err != nil {
			return err
		}
	}
	if u := img.Upstream; u != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "UPSTREAM %s (%s)\n", safe(u.Upstream), safe(u.UpstreamDigest))
		fmt.Fprintf(w, "  %s\n", safe(u.Cause))
		for _, d := range u.Differences {
			fmt.Fprintf(w, "  - %s\n", safe(d))
		}
	}
	if err := p.findingsTable(w, img.Findings); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nFetched %s from the registry.\n", crossplane.HumanBytes(img.BytesFetched))
	return nil
}

// revisionCol says whether Crossplane creates a revision, and where the failure shows.
func revisionCol(v crossplane.Verdict) string {
	switch {
	case v.Outcome == crossplane.OutcomeUnknown:
		return "-"
	case !v.RevisionCreated:
		return "none"
	}
	return "created"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dependencyTable shows how each dependsOn resolves, one row per answer
// shared by the versions judged.
func (p Printer) dependencyTable(w io.Writer, vs []crossplane.Verdict) error {
	safe := p.text().Line
	type row struct {
		dv       crossplane.DependencyVerdict
		versions []string
	}
	var rows []*row
	byKey := map[string]*row{}
	for _, v := range vs {
		for _, dv := range v.Dependencies {
			key := strings.Join([]string{dv.Package, dv.Constraint, dv.Source, dv.Repository, dv.Resolved, dv.Failure, dv.Problem}, "|")
			r, ok := byKey[key]
			if !ok {
				r = &row{dv: dv}
				byKey[key] = r
				rows = append(rows, r)
			}
			r.versions = append(r.versions, v.Crossplane)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := newTabWriter(w)
	p.header(tw, "DEPENDENCY\tCONSTRAINT\tCROSSPLANE\tLOOKS IN\tRESOLVES TO")
	for _, r := range rows {
		dv := r.dv
		where := orDash(dv.Repository)
		if dv.RewrittenBy != "" {
			where += " (ImageConfig " + dv.RewrittenBy + ")"
		}
		res := dv.Resolved
		switch {
		case dv.Failure != "":
			res = "cannot install: " + dv.Failure
		case dv.Problem != "":
			res = "not checked: " + dv.Problem
		case !dv.Checked:
			res = "not checked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", safe(dv.Package), safe(orDash(dv.Constraint)), strings.Join(r.versions, ", "), safe(where), safe(res))
	}
	return tw.Flush()
}

func selectedOtherBase(img inspect.Image) *xpkg.OtherBaseLayer {
	for _, p := range img.Platforms {
		if p.Selected && p.ImageReport != nil {
			return p.OtherBase
		}
	}
	return nil
}

func otherBaseCol(ob *xpkg.OtherBaseLayer, first *xpkg.PackageFile) string {
	s := fmt.Sprintf("layer %d", ob.Layer+1)
	switch {
	case ob.SameBlob:
		return s + ": the same blob as the first annotated layer"
	case ob.Package == nil:
		return s + ": no package.yaml"
	case ob.SameContent(first):
		return s + ": the same package.yaml"
	}
	if m := ob.Package.Meta; m != nil {
		s += fmt.Sprintf(": %s/%s", m.Kind, m.Name)
	}
	if ob.Package.DiffersAtDocument > 0 {
		s += fmt.Sprintf(", a different package.yaml from document %d on", ob.Package.DiffersAtDocument)
	} else {
		s += ", a different package.yaml"
	}
	return s
}

func (p Printer) findingsTable(w io.Writer, fs []findings.Finding) error {
	wide, safe := p.Format == Wide, p.text().Line
	fmt.Fprintln(w)
	if len(fs) == 0 {
		fmt.Fprintln(w, "No findings.")
		return nil
	}
	tw := newTabWriter(w)
	p.header(tw, "SEVERITY\tCODE\tMESSAGE")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Severity, f.Code, safe(f.Message))
		if wide {
			for _, e := range f.Evidence {
				fmt.Fprintf(tw, "\t\t  evidence: %s\n", safe(e))
			}
			if f.Remediation != "" {
				fmt.Fprintf(tw, "\t\t  fix: %s\n", safe(f.Remediation))
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
			s += fmt.Sprintf(", not verified (xpdoctor checks the digest of layers up to %s beyond package.yaml)", crossplane.HumanBytes(xpkg.MaxVerifiedLayerBytes))
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
