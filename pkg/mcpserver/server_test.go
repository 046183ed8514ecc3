package mcpserver_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/mcpserver"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

// connect serves New(o) on one of the SDK's in-memory transports and
// returns the SDK's client on the other.
func connect(t *testing.T, o mcpserver.Options) *mcp.ClientSession {
	t.Helper()
	st, ct := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := mcpserver.New(o).Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	return res.Content[0].(*mcp.TextContent).Text, res.IsError
}

// report is a diagnose report of n packages; every third is healthy, the
// others have a root finding and a warning.
func report(n int) *diagnose.Report {
	rep := &diagnose.Report{APIVersion: diagnose.APIVersion, Kind: "DiagnoseReport", CrossplaneVersion: "v2.1.3", Packages: []diagnose.PackageRow{}, Findings: []findings.Finding{}}
	for i := 0; i < n; i++ {
		row := diagnose.PackageRow{Kind: "Provider", Name: fmt.Sprintf("provider-%03d", i), Installed: "True", Healthy: "True"}
		if i%3 != 0 {
			row.Healthy, row.Finding = "False", findings.PackageYAMLNotFound
			subject := findings.Subject{Kind: "Provider", Name: row.Name}
			rep.Findings = append(rep.Findings,
				findings.Finding{Code: findings.PackageYAMLNotFound, Severity: findings.Error, Subject: subject, Message: strings.Repeat("m", 400), Evidence: []string{strings.Repeat("e", 2000)}},
				findings.Finding{Code: findings.BaseLayerAnnotationMissing, Severity: findings.Warning, Subject: subject, Message: "no annotation"},
				findings.Finding{Code: findings.BaseLayerAnnotationMissing, Severity: findings.Warning, Subject: subject, Message: "listed once"})
		}
		rep.Packages = append(rep.Packages, row)
	}
	rep.Findings = append(rep.Findings, findings.Finding{Code: findings.PermissionDenied, Severity: findings.Error, Message: "forbidden"})
	return rep
}

func TestSummarize(t *testing.T) {
	sum := mcpserver.Summarize(report(mcpserver.MaxSummaryPackages + 6))
	if sum.Counts.Packages != 306 || sum.Counts.Unhealthy != 204 || sum.Counts.Findings[findings.Error] != 205 || sum.Counts.Findings[findings.Warning] != 408 {
		t.Errorf("counts %+v", sum.Counts)
	}
	if len(sum.Packages) != mcpserver.MaxSummaryPackages || sum.Omitted != 6 {
		t.Fatalf("%d listed, %d omitted", len(sum.Packages), sum.Omitted)
	}
	// Packages with findings first: all 204 of them are listed.
	for i, p := range sum.Packages {
		if (i < 204) != (p.Finding != "") {
			t.Fatalf("package %d (%s) out of order: %+v", i, p.Name, p)
		}
	}
	p := sum.Packages[0]
	if p.Name != "provider-001" || strings.Join(codes(p.Codes[findings.Error]), ",") != "PackageYAMLNotFound" || strings.Join(codes(p.Codes[findings.Warning]), ",") != "BaseLayerAnnotationMissing" {
		t.Errorf("first package %+v", p)
	}
	if len(sum.Cluster) != 1 || sum.Cluster[0] != findings.PermissionDenied {
		t.Errorf("cluster findings %v", sum.Cluster)
	}
}

func codes(cs []findings.Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// A result over MaxResultBytes is refused whole, with what to ask instead;
// the summary of the same report and the detail of fewer packages fit.
func TestResultsAreBounded(t *testing.T) {
	var gotNames []string
	cs := connect(t, mcpserver.Options{Backend: mcpserver.Backend{Diagnose: func(_ context.Context, in mcpserver.DiagnoseInput) (*diagnose.Report, error) {
		gotNames = in.Names
		if len(in.Names) > 0 {
			return report(6), nil
		}
		return report(90), nil
	}}})
	text, isErr := call(t, cs, "diagnose", map[string]any{"detail": true})
	if !isErr || !strings.Contains(text, fmt.Sprintf("more than the %d bytes", mcpserver.MaxResultBytes)) || !strings.Contains(text, "fewer names") || len(text) > 1000 {
		t.Fatalf("an oversized report is not refused: %.500s", text)
	}
	if text, isErr := call(t, cs, "diagnose", nil); isErr || len(text) > mcpserver.MaxResultBytes {
		t.Errorf("summary: error %v, %d bytes", isErr, len(text))
	}
	text, isErr = call(t, cs, "diagnose", map[string]any{"detail": true, "names": []string{"provider-001", "provider-002"}})
	if isErr || !strings.Contains(text, `"kind": "DiagnoseReport"`) || strings.Join(gotNames, ",") != "provider-001,provider-002" {
		t.Errorf("detail of two packages: %v %.300s", isErr, text)
	}
}

// Backend errors come back as tool errors the way the CLI prints errors:
// credentials redacted, control characters escaped.
func TestErrorsAreRedactedAndEscaped(t *testing.T) {
	r := redact.New()
	r.Add("xpd-PULL-SECRET-4d21c0")
	fail := errors.New("registry said \x1b[2J\x1b]52;c;eA==\x07 credentials xpd-PULL-SECRET-4d21c0 \u202erefused")
	cs := connect(t, mcpserver.Options{Redactor: r, Backend: mcpserver.Backend{
		Diagnose:  func(context.Context, mcpserver.DiagnoseInput) (*diagnose.Report, error) { return nil, fail },
		Inspect:   func(context.Context, mcpserver.InspectInput) (*inspect.Report, error) { return nil, fail },
		Preflight: func(context.Context, mcpserver.PreflightInput) (*preflight.Report, error) { return nil, fail },
	}})
	for tool, args := range map[string]map[string]any{"diagnose": nil, "inspect": {"references": []string{"r.example/a:v1"}}, "preflight": {"targetVersion": "v2.0.0"}} {
		text, isErr := call(t, cs, tool, args)
		if !isErr || strings.ContainsAny(text, "\x1b\x07\u202e") || strings.Contains(text, "xpd-PULL-SECRET") ||
			!strings.Contains(text, `\x1b[2J\x1b]52;c;eA==\x07`) || !strings.Contains(text, "<redacted>") || !strings.Contains(text, `\u202erefused`) {
			t.Errorf("%s: %q", tool, text)
		}
	}
	// A tool whose backend is missing says so.
	cs = connect(t, mcpserver.Options{})
	if text, isErr := call(t, cs, "inspect", map[string]any{"references": []string{"r.example/a:v1"}}); !isErr || !strings.Contains(text, "not available") {
		t.Errorf("no backend: %q", text)
	}
}

// Every catalogued code is explained from its section of docs/findings.md,
// with the diagnose rules that name it; an unknown code is an error that
// lists the codes.
func TestExplainEveryCode(t *testing.T) {
	for code, spec := range findings.Catalogue {
		e, err := mcpserver.Explain(findings.Code(strings.ToLower(string(code))))
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		doc, _ := findings.Documentation(code)
		if e.Code != code || e.Title != spec.Title || e.Remediation != spec.Fix || e.Meaning == "" || e.Meaning != doc.Text || e.Severity == "" ||
			e.Reserved != (e.Side == "Reserved") || !strings.HasPrefix(e.Documentation, "docs/findings.md#"+strings.ToLower(string(code))+"-") {
			t.Errorf("%s: %+v", code, e)
		}
		for _, r := range diagnose.Rules {
			if r.Code == code && !hasRule(e.Evidence, r.Name) {
				t.Errorf("%s: the rule %s is not in its evidence", code, r.Name)
			}
		}
	}
	e, _ := mcpserver.Explain(findings.DependencyNameMismatch)
	if len(e.RefinedFrom) == 0 || e.RefinedFrom[0] != findings.DependencyUnresolvable {
		t.Errorf("DependencyNameMismatch is refined from DependencyUnresolvable: %v", e.RefinedFrom)
	}
	e, _ = mcpserver.Explain(findings.RegistryUnauthorized)
	if !hasRule(e.Evidence, "registry-unauthorized") || e.Evidence[0].Source == "" {
		t.Errorf("RegistryUnauthorized's evidence: %+v", e.Evidence)
	}
	if _, err := mcpserver.Explain("NoSuchCode"); err == nil || !strings.Contains(err.Error(), "PackageYAMLInvalid, PackageYAMLNotAtRoot, PackageYAMLNotFound") {
		t.Errorf("unknown code: %v", err)
	}
}

func hasRule(ev []mcpserver.RecognisedMessage, name string) bool {
	for _, m := range ev {
		if m.Rule == name {
			return true
		}
	}
	return false
}

func TestSummarizePreflight(t *testing.T) {
	rep := &preflight.Report{APIVersion: preflight.APIVersion, Kind: preflight.Kind, Running: "v1.20.0", Target: "v2.0.0", Generation: "v2.0-v2.1", Status: preflight.Breaks,
		Crossplane: []preflight.Check{{Check: preflight.CheckUpgrade, Status: preflight.Safe}, {Check: "CoreFlagRemoved", Status: preflight.Breaks}},
		Packages: []preflight.PackageResult{
			{Kind: "Provider", Name: "ok", Status: preflight.Safe, Checks: []preflight.Check{{Check: preflight.CheckImage, Status: preflight.Safe}}},
			{Kind: "Provider", Name: "old", Status: preflight.Breaks, Checks: []preflight.Check{{Check: preflight.CheckConstraint, Status: preflight.Breaks, Code: findings.CrossplaneVersionIncompat}}},
		},
		Changes: []preflight.CrossedChange{{ID: "CoreFlagRemoved", Affected: 1}, {ID: "Untouched"}}}
	sum := mcpserver.SummarizePreflight(rep)
	if sum.Status != preflight.Breaks || sum.Packages[preflight.Safe] != 1 || sum.Packages[preflight.Breaks] != 1 || len(sum.Checks) != 2 ||
		sum.Checks[0].Subject != "Crossplane" || sum.Checks[1].Subject != "Provider/old" || sum.Checks[1].Code != findings.CrossplaneVersionIncompat ||
		strings.Join(sum.Changes, ",") != "CoreFlagRemoved" {
		t.Errorf("%+v", sum)
	}
	// The detail narrowed to names keeps Crossplane's checks and the changes.
	cs := connect(t, mcpserver.Options{Backend: mcpserver.Backend{Preflight: func(_ context.Context, in mcpserver.PreflightInput) (*preflight.Report, error) {
		if in.TargetVersion != "v2.0.0" {
			t.Errorf("target %q", in.TargetVersion)
		}
		return rep, nil
	}}})
	text, isErr := call(t, cs, "preflight", map[string]any{"targetVersion": "v2.0.0", "detail": true, "names": []string{"old"}})
	if isErr || !strings.Contains(text, `"name": "old"`) || strings.Contains(text, `"name": "ok"`) || !strings.Contains(text, "CoreFlagRemoved") {
		t.Errorf("detail for old: %s", text)
	}
	if len(rep.Packages) != 2 {
		t.Error("narrowing changed the backend's report")
	}
}
