package findings

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Every code in the catalogue has a section in docs/findings.md, and every
// section documents a code of the catalogue: scripts match on the codes and
// the docs are where they are explained.
func TestEveryCodeIsDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "findings.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Docs parses the embedded copy of the same file: every code heading
	// must parse, with its severity and a text.
	headings := regexp.MustCompile(`(?m)^### `).FindAllString(string(raw), -1)
	if len(Docs()) != len(headings) {
		t.Errorf("docs/findings.md has %d code headings, Docs parses %d: write them as \"### Code (severity)\"", len(headings), len(Docs()))
	}
	documented := map[Code]bool{}
	for _, d := range Docs() {
		if documented[d.Code] {
			t.Errorf("docs/findings.md documents %s twice", d.Code)
		}
		documented[d.Code] = true
		if d.Severity == "" || d.Text == "" || d.Side == "" {
			t.Errorf("%s: section without severity, text or side: %+v", d.Code, d)
		}
	}
	var missing, extra []string
	for c, spec := range Catalogue {
		if spec.Code != c {
			t.Errorf("catalogue entry %s says it is %s", c, spec.Code)
		}
		if spec.Title == "" || spec.Fix == "" {
			t.Errorf("%s has no title or fix", c)
		}
		if !documented[c] {
			missing = append(missing, string(c))
		}
	}
	for c := range documented {
		if _, ok := Catalogue[c]; !ok {
			extra = append(extra, string(c))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("codes without a section in docs/findings.md: %s", strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		t.Errorf("sections in docs/findings.md for codes not in the catalogue: %s", strings.Join(extra, ", "))
	}
}

// Every Code constant is in the catalogue (so the test above covers it).
func TestEveryCodeIsCatalogued(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "findings.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, v := range vs.Values {
				lit := v.(*ast.BasicLit)
				code := Code(strings.Trim(lit.Value, `"`))
				n++
				if _, ok := Catalogue[code]; !ok {
					t.Errorf("%s has no catalogue entry", code)
				}
			}
		}
	}
	if n != len(Catalogue) {
		t.Errorf("%d Code constants, %d catalogue entries", n, len(Catalogue))
	}
}
