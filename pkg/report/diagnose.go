package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// Diagnose renders a diagnose report.
func (p Printer) Diagnose(w io.Writer, r *diagnose.Report) error {
	switch p.Format {
	case JSON, YAML, JSONPath:
		return p.Structured(w, r)
	case Name:
		return p.diagnoseNames(p.human(w), r)
	case Markdown:
		return p.diagnoseMarkdown(p.human(w), r)
	}
	return p.diagnoseTable(p.human(w), r)
}

func (p Printer) diagnoseTable(w io.Writer, r *diagnose.Report) error {
	wide := p.Format == Wide
	tab := newTabWriter(w)
	// SINCE is how long a package that is not healthy has been in its state.
	if wide {
		p.header(tab, "KIND\tNAME\tINSTALLED\tHEALTHY\tSINCE\tPACKAGE\tREVISION\tDIGEST\tPULL SECRET\tFINDING")
	} else {
		p.header(tab, "KIND\tNAME\tINSTALLED\tHEALTHY\tSINCE\tPACKAGE\tDIGEST\tFINDING")
	}
	for _, pk := range r.Packages {
		fmt.Fprintln(tab, strings.Join(p.packageCells(pk, wide), "\t"))
	}
	if err := tab.Flush(); err != nil {
		return err
	}
	if p.NoHeaders {
		// For scripts: one line per package, as kubectl get --no-headers
		// prints; the findings are in -o wide, json or yaml.
		return nil
	}
	fmt.Fprintln(w)
	p.diagnoseFindings(w, r, wide)
	fmt.Fprintf(w, "\n%s\n", diagnoseSummary(r))
	return nil
}

// packageCells are a package's cells of the table, escaped.
func (p Printer) packageCells(pk diagnose.PackageRow, wide bool) []string {
	t := p.text()
	cells := []string{pk.Kind, pk.Name, pk.Installed, pk.Healthy, orDash(pk.UnhealthyFor), pk.Package}
	if wide {
		cells = append(cells, orDash(pk.Revision), orDash(pk.Digest), pullSecretCell(pk.Credentials))
	} else {
		cells = append(cells, shortDigest(pk.Digest, false))
	}
	cells = append(cells, orDash(string(pk.Finding)))
	for i := range cells {
		cells[i] = t.Line(cells[i])
	}
	return cells
}

// diagnoseFindings is what follows the table: the version, notes, and
// each finding with evidence and fix.
func (p Printer) diagnoseFindings(w io.Writer, r *diagnose.Report, wide bool) {
	t := p.text()
	fmt.Fprintf(w, "Crossplane %s. ", t.Line(r.CrossplaneVersion))
	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note: %s.\n", t.Line(n))
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "No findings.")
		return
	}
	fmt.Fprintf(w, "%d finding(s):\n", len(r.Findings))
	for i, fd := range r.Findings {
		subject := fd.Subject.String()
		if subject == "" {
			subject = "cluster"
		}
		fmt.Fprintf(w, "\n%d. %s %s [%s]\n", i+1, fd.Code, t.Line(subject), fd.Severity)
		fmt.Fprintf(w, "   %s\n", t.Line(fd.Message))
		if fd.Image != "" {
			img := fd.Image
			if fd.Digest != "" {
				img += " (" + shortDigest(fd.Digest, wide) + ")"
			}
			fmt.Fprintf(w, "   image: %s\n", t.Line(img))
		}
		for _, e := range fd.Evidence {
			fmt.Fprintf(w, "   evidence: %s\n", t.Line(e))
		}
		if len(fd.Alternatives) > 0 {
			fmt.Fprintf(w, "   also possible: %s\n", codeList(fd.Alternatives))
		}
		if fd.Remediation != "" {
			fmt.Fprintf(w, "   fix: %s\n", indent(t.Lines(strings.TrimSpace(fd.Remediation)), "        "))
		}
	}
}

// diagnoseNames is -o name: each package as kubectl get -o name prints
// it, kind.group/name (provider.pkg.crossplane.io/provider-aws).
func (p Printer) diagnoseNames(w io.Writer, r *diagnose.Report) error {
	t := p.text()
	for _, pk := range r.Packages {
		fmt.Fprintf(w, "%s.%s/%s\n", strings.ToLower(t.Line(pk.Kind)), PackageGroup, t.Line(pk.Name))
	}
	return nil
}

// PackageGroup is the API group of Providers, Functions and Configurations.
const PackageGroup = "pkg.crossplane.io"

// pullSecretCell is the secret whose entry Crossplane sends for the
// package's image: namespace/name, "none matched" when it has secrets but
// no entry matches, "none" without secrets, and who read the image when
// it was not Crossplane's credentials; "-" when the image was not read.
func pullSecretCell(cr *diagnose.Credentials) string {
	switch {
	case cr == nil:
		return "-"
	case cr.InspectedWith == diagnose.CredentialsLocal:
		return "(local)"
	case cr.KeyringError != "":
		return "invalid"
	case cr.Used != nil:
		return cr.Used.Secret
	case cr.CloudHelper != "":
		return "(cloud helper)"
	case len(cr.Secrets) > 0:
		return "none matched"
	}
	return "none"
}

func codeList(cs []findings.Code) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}

func indent(s, pad string) string {
	return strings.ReplaceAll(s, "\n", "\n"+pad)
}

// diagnoseMarkdown is for pasting into an incident ticket.
func (p Printer) diagnoseMarkdown(w io.Writer, r *diagnose.Report) error {
	t := p.text()
	fmt.Fprintf(w, "### xpdoctor: Crossplane %s\n\n", t.Markdown(r.CrossplaneVersion))
	for _, n := range r.Notes {
		fmt.Fprintf(w, "> %s.\n\n", t.MarkdownCell(n))
	}
	tbl := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
	tbl.Header("Kind", "Name", "Installed", "Healthy", "Since", "Package", "Digest", "Finding")
	for _, pk := range r.Packages {
		if err := tbl.Append(t.MarkdownCell(pk.Kind), t.MarkdownCell(pk.Name), t.MarkdownCell(pk.Installed), t.MarkdownCell(pk.Healthy), t.MarkdownCell(orDash(pk.UnhealthyFor)),
			t.MarkdownCode(pk.Package, true), t.MarkdownCell(shortDigest(pk.Digest, false)), t.MarkdownCell(orDash(string(pk.Finding)))); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "\nNo findings.")
		fmt.Fprintf(w, "\n%s\n", diagnoseSummary(r))
		return nil
	}
	fmt.Fprintln(w)
	for _, fd := range r.Findings {
		subject := fd.Subject.String()
		if subject == "" {
			subject = "cluster"
		}
		fmt.Fprintf(w, "#### %s %s (%s)\n\n%s\n\n", t.MarkdownCode(string(fd.Code), false), t.Markdown(subject), fd.Severity, t.Markdown(fd.Message))
		if fd.Image != "" {
			fmt.Fprintf(w, "- image: %s", t.MarkdownCode(fd.Image, false))
			if fd.Digest != "" {
				fmt.Fprintf(w, " (%s)", t.MarkdownCode(fd.Digest, false))
			}
			fmt.Fprintln(w)
		}
		for _, e := range fd.Evidence {
			fmt.Fprintf(w, "- evidence: %s\n", t.MarkdownCode(e, false))
		}
		if len(fd.Alternatives) > 0 {
			fmt.Fprintf(w, "- also possible: %s\n", codeList(fd.Alternatives))
		}
		if rem := strings.TrimSpace(fd.Remediation); rem != "" {
			if strings.Contains(rem, "\n") {
				fmt.Fprintf(w, "\nFix:\n\n%s", t.MarkdownBlock(rem))
			} else {
				fmt.Fprintf(w, "\nFix: %s\n", t.MarkdownSpans(rem))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s\n", diagnoseSummary(r))
	return nil
}
