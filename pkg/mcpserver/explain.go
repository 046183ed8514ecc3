package mcpserver

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// ExplainInput is the explain tool's input.
type ExplainInput struct {
	Code string `json:"code" jsonschema:"a finding code, e.g. PackageYAMLNotFound"`
}

// Explanation is a finding code's catalogue entry: its section of
// docs/findings.md (embedded in the binary: the one source the docs test
// reads too), its title and generic fix from the catalogue, and the
// messages diagnose recognises it by, each with the source of its text.
type Explanation struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Code       findings.Code `json:"code"`
	// Severity is as docs/findings.md states it ("error", or a rule).
	Severity string `json:"severity"`
	// Side is where the code comes from: the registry side (inspect), the
	// cluster side (diagnose), or Reserved (not emitted yet).
	Side     string `json:"side"`
	Reserved bool   `json:"reserved,omitempty"`
	// Title is the code's one-line meaning.
	Title string `json:"title"`
	// Meaning is the code's section of docs/findings.md (markdown): what it
	// means, the Crossplane versions and messages involved, and its fix.
	Meaning string `json:"meaning"`
	// Remediation is the catalogue's fix; each finding's own fix names the
	// objects, versions and commands of its case.
	Remediation string `json:"remediation"`
	// Evidence are the messages diagnose names this code from.
	Evidence []RecognisedMessage `json:"evidence,omitempty"`
	// RefinedFrom are the codes a message names that diagnose turns into
	// this one with what the cluster and the registry say; RefinesTo the
	// reverse.
	RefinedFrom []findings.Code `json:"refinedFrom,omitempty"`
	RefinesTo   []findings.Code `json:"refinesTo,omitempty"`
	// Documentation is where the section is published.
	Documentation string `json:"documentation"`
}

// RecognisedMessage is one rule of diagnose's table (pkg/diagnose classify.go).
type RecognisedMessage struct {
	Rule string `json:"rule"`
	// Contains are texts any of which in the message's inner cause matches.
	Contains []string `json:"contains,omitempty"`
	// Pattern is a regular expression the inner cause matches.
	Pattern string `json:"pattern,omitempty"`
	// Stages limits the rule to messages that surfaced there.
	Stages []string `json:"stages,omitempty"`
	// AlsoPossible are the causes such a message alone cannot rule out.
	AlsoPossible []findings.Code `json:"alsoPossible,omitempty"`
	// Source is where the text is written (Crossplane file@tag, a library, a public report).
	Source string `json:"source"`
}

// ExplanationKind is the kind of the explain result.
const ExplanationKind = "FindingExplanation"

func (s *server) explainTool() tool {
	def := &mcp.Tool{
		Name:        "explain",
		Annotations: readOnly("Explain a finding code", false),
		Description: `Explain a finding code (the codes diagnose and inspect report, e.g. PackageYAMLNotFound): its meaning and the Crossplane versions and messages involved (its section of docs/findings.md, built into the binary), its severity, the evidence it rests on (the messages diagnose recognises it by, each with the source of its text), and the remediation. Reads nothing outside the binary; results are a few KB.`,
	}
	return newTool(s, def, func(p map[string]*jsonSchema) { p["code"].MaxLength = maxLen(100) }, s.explain)
}

func (s *server) explain(_ context.Context, in ExplainInput) (*mcp.CallToolResult, error) {
	e, err := Explain(findings.Code(strings.TrimSpace(in.Code)))
	if err != nil {
		return nil, err
	}
	return s.compact(e, "")
}

// Explain is the catalogue entry of code (its case does not matter).
func Explain(code findings.Code) (*Explanation, error) {
	var spec findings.Spec
	found := false
	for c, sp := range findings.Catalogue {
		if strings.EqualFold(string(c), string(code)) {
			spec, found = sp, true
		}
	}
	if !found {
		return nil, fmt.Errorf("%q is not a finding code; the codes are: %s", code, strings.Join(codeNames(), ", "))
	}
	doc, _ := findings.Documentation(spec.Code) // the docs test keeps every code documented
	e := &Explanation{APIVersion: "xpdoctor.io/v1alpha2", Kind: ExplanationKind, Code: spec.Code, Severity: doc.Severity, Side: doc.Side, Reserved: doc.Reserved(),
		Title: spec.Title, Meaning: doc.Text, Remediation: spec.Fix, RefinesTo: diagnose.Refinements(spec.Code),
		Documentation: "docs/findings.md#" + anchor(string(spec.Code)+" ("+doc.Severity+")")}
	for _, r := range diagnose.Rules {
		if r.Code != spec.Code {
			continue
		}
		m := RecognisedMessage{Rule: r.Name, Contains: r.Any, AlsoPossible: r.Also, Source: r.Source}
		if r.Re != nil {
			m.Pattern = r.Re.String()
		}
		for _, st := range r.Stages {
			m.Stages = append(m.Stages, string(st))
		}
		e.Evidence = append(e.Evidence, m)
	}
	for _, c := range codeNames() {
		if contains(diagnose.Refinements(findings.Code(c)), spec.Code) {
			e.RefinedFrom = append(e.RefinedFrom, findings.Code(c))
		}
	}
	return e, nil
}

func codeNames() []string {
	out := make([]string, 0, len(findings.Catalogue))
	for c := range findings.Catalogue {
		out = append(out, string(c))
	}
	sort.Strings(out)
	return out
}

// anchor is the id GitHub gives a markdown heading: lower case, punctuation
// but hyphens and underscores dropped, spaces as hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
