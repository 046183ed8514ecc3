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
func Diagnose(w io.Writer, f Format, r *diagnose.Report) error {
	switch f {
	case JSON, YAML:
		return Structured(w, f, r)
	case Markdown:
		return diagnoseMarkdown(w, r)
	}
	wide := f == Wide
	tab := newTabWriter(w)
	// SINCE is how long a package that is not healthy has been in its state.
	if wide {
		fmt.Fprintln(tab, "KIND\tNAME\tINSTALLED\tHEALTHY\tSINCE\tPACKAGE\tREVISION\tDIGEST\tFINDING")
	} else {
		fmt.Fprintln(tab, "KIND\tNAME\tINSTALLED\tHEALTHY\tSINCE\tPACKAGE\tDIGEST\tFINDING")
	}
	for _, p := range r.Packages {
		if wide {
			fmt.Fprintf(tab, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Kind, p.Name, p.Installed, p.Healthy, orDash(p.UnhealthyFor), p.Package, orDash(p.Revision), orDash(p.Digest), orDash(string(p.Finding)))
		} else {
			fmt.Fprintf(tab, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Kind, p.Name, p.Installed, p.Healthy, orDash(p.UnhealthyFor), p.Package, shortDigest(p.Digest, false), orDash(string(p.Finding)))
		}
	}
	if err := tab.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nCrossplane %s. ", r.CrossplaneVersion)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note: %s.\n", n)
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "No findings.")
		return nil
	}
	fmt.Fprintf(w, "%d finding(s):\n", len(r.Findings))
	for i, fd := range r.Findings {
		subject := fd.Subject.String()
		if subject == "" {
			subject = "cluster"
		}
		fmt.Fprintf(w, "\n%d. %s %s [%s]\n", i+1, fd.Code, subject, fd.Severity)
		fmt.Fprintf(w, "   %s\n", fd.Message)
		if fd.Image != "" {
			img := fd.Image
			if fd.Digest != "" {
				img += " (" + shortDigest(fd.Digest, wide) + ")"
			}
			fmt.Fprintf(w, "   image: %s\n", img)
		}
		for _, e := range fd.Evidence {
			fmt.Fprintf(w, "   evidence: %s\n", e)
		}
		if len(fd.Alternatives) > 0 {
			fmt.Fprintf(w, "   also possible: %s\n", codeList(fd.Alternatives))
		}
		if fd.Remediation != "" {
			fmt.Fprintf(w, "   fix: %s\n", indent(fd.Remediation, "        "))
		}
	}
	return nil
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
func diagnoseMarkdown(w io.Writer, r *diagnose.Report) error {
	fmt.Fprintf(w, "### xpdoctor: Crossplane %s\n\n", r.CrossplaneVersion)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "> %s.\n\n", n)
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
	t.Header("Kind", "Name", "Installed", "Healthy", "Since", "Package", "Digest", "Finding")
	for _, p := range r.Packages {
		if err := t.Append(p.Kind, p.Name, p.Installed, p.Healthy, orDash(p.UnhealthyFor), "`"+p.Package+"`", shortDigest(p.Digest, false), orDash(string(p.Finding))); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "\nNo findings.")
		return nil
	}
	fmt.Fprintln(w)
	for _, fd := range r.Findings {
		subject := fd.Subject.String()
		if subject == "" {
			subject = "cluster"
		}
		fmt.Fprintf(w, "#### `%s` %s (%s)\n\n%s\n\n", fd.Code, subject, fd.Severity, fd.Message)
		if fd.Image != "" {
			fmt.Fprintf(w, "- image: `%s`", fd.Image)
			if fd.Digest != "" {
				fmt.Fprintf(w, " (`%s`)", fd.Digest)
			}
			fmt.Fprintln(w)
		}
		for _, e := range fd.Evidence {
			fmt.Fprintf(w, "- evidence: `%s`\n", strings.ReplaceAll(e, "`", "'"))
		}
		if len(fd.Alternatives) > 0 {
			fmt.Fprintf(w, "- also possible: %s\n", codeList(fd.Alternatives))
		}
		if fd.Remediation != "" {
			if strings.Contains(fd.Remediation, "\n") {
				fmt.Fprintf(w, "\nFix:\n\n```\n%s\n```\n", fd.Remediation)
			} else {
				fmt.Fprintf(w, "\nFix: %s\n", fd.Remediation)
			}
		}
		fmt.Fprintln(w)
	}
	return nil
}
