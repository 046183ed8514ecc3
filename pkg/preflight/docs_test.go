package preflight

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
)

var update = flag.Bool("update", false, "rewrite generated sections and golden files")

const docsPath = "../../docs/preflight.md"

// TestDocsListEveryChange keeps the tables of docs/preflight.md generated
// from Changes and crossplane.RemovedFlags (go test ./pkg/preflight -update).
func TestDocsListEveryChange(t *testing.T) {
	raw, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	doc = replaceSection(t, doc, "changes", changesMarkdown())
	doc = replaceSection(t, doc, "flags", flagsMarkdown())
	if *update {
		if err := os.WriteFile(docsPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != string(raw) {
		t.Errorf("%s is out of date: go test ./pkg/preflight -run TestDocsListEveryChange -update", filepath.Base(docsPath))
	}
	for _, c := range Changes {
		if len(c.Sources) == 0 || c.Fix == "" || c.Affects == "" || c.Detect == "" {
			t.Errorf("%s: every change says what it affects, how it is detected, the fix and its sources", c.ID)
		}
	}
}

func replaceSection(t *testing.T, doc, name, body string) string {
	begin, end := "<!-- "+name+":begin (generated) -->\n", "<!-- "+name+":end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %s markers", docsPath, name)
	}
	return doc[:i+len(begin)] + body + doc[j:]
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func changesMarkdown() string {
	var b strings.Builder
	b.WriteString("| Since | ID | Effect | Change | What it breaks or degrades | Detected from | Fix before upgrading | Sources |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range Changes {
		src := strings.Join(c.Sources, "; ")
		if c.Inference != "" {
			src += "; **inference**: " + c.Inference
		}
		fmt.Fprintf(&b, "| v%s | `%s` | %s | %s | %s | %s | %s | %s |\n", c.Since, c.ID, c.Effect, cell(c.Title), cell(c.Affects), cell(c.Detect), cell(c.Fix), cell(src))
	}
	return b.String()
}

func flagsMarkdown() string {
	var b strings.Builder
	b.WriteString("| Flag | Refused from | Crossplane prints | Instead | Source |\n|---|---|---|---|---|\n")
	for _, f := range crossplane.RemovedFlags {
		name := "`--" + f.Flag + "`"
		if f.Short != "" {
			name += " / `-" + f.Short + "`"
		}
		if f.WhenTrue {
			name += " (when true)"
		}
		fmt.Fprintf(&b, "| %s | v%s | `crossplane: error: %s` | %s | %s |\n", name, f.Since, cell(f.Message), cell(f.Instead), cell(f.Source))
	}
	return b.String()
}
