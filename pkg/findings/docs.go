package findings

import (
	"regexp"
	"strings"
	"sync"

	"github.com/xpdoctor/xpdoctor/docs"
)

// Doc is the section of docs/findings.md that explains one code: the one
// source of what a code means, read by the docs test and by the explain
// tool of `kubectl xpdoctor mcp` from the same embedded bytes.
type Doc struct {
	Code Code `json:"code"`
	// Severity is the heading's parenthesis as written: "error", "warning",
	// or a rule ("error up to v2.1, warning otherwise").
	Severity string `json:"severity"`
	// Side is the part of the catalogue the code belongs to: "Registry side
	// (inspect)", "Cluster side (diagnose)" or "Reserved" (not emitted yet).
	Side string `json:"side"`
	// Text is the section's markdown, without its heading.
	Text string `json:"text"`
}

// Reserved reports whether the code is catalogued for work that has not
// landed: xpdoctor does not emit it yet.
func (d Doc) Reserved() bool { return d.Side == reservedSide }

const reservedSide = "Reserved"

var (
	docsOnce sync.Once
	docsList []Doc
	docsBy   map[Code]Doc
	// heading is a code's section: "### Code (severity)".
	heading = regexp.MustCompile(`^### (\w+)(?: \(([^)]*)\))?\s*$`)
)

// Docs are the code sections of docs/findings.md, in the order written. A
// code documented twice appears twice (the docs test refuses that).
func Docs() []Doc {
	docsOnce.Do(func() { docsList, docsBy = parseDocs(docs.Findings) })
	return docsList
}

// Documentation is the section of docs/findings.md for code.
func Documentation(code Code) (Doc, bool) {
	Docs()
	d, ok := docsBy[code]
	return d, ok
}

func parseDocs(md string) ([]Doc, map[Code]Doc) {
	var out []Doc
	by := map[Code]Doc{}
	side := ""
	var cur *Doc
	var body []string
	flush := func() {
		if cur != nil {
			cur.Text = strings.TrimSpace(strings.Join(body, "\n"))
			out = append(out, *cur)
			if _, dup := by[cur.Code]; !dup {
				by[cur.Code] = *cur
			}
		}
		cur, body = nil, nil
	}
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			flush()
			side = strings.TrimSpace(strings.TrimPrefix(line, "## "))
		case strings.HasPrefix(line, "### "):
			flush()
			if m := heading.FindStringSubmatch(line); m != nil {
				cur = &Doc{Code: Code(m[1]), Severity: m[2], Side: side}
			}
		case strings.HasPrefix(line, "# "):
			flush()
		default:
			if cur != nil {
				body = append(body, line)
			}
		}
	}
	flush()
	return out, by
}
