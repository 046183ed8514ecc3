package mcpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

// DiagnoseInput is the diagnose tool's input: the arguments and flags of
// `kubectl xpdoctor diagnose [NAMES] --kind K --crossplane-version V --inspect M`.
type DiagnoseInput struct {
	Names             []string `json:"names,omitempty" jsonschema:"package names (metadata.name) to diagnose; default: every package"`
	Kind              string   `json:"kind,omitempty" jsonschema:"only packages of this kind"`
	CrossplaneVersion string   `json:"crossplaneVersion,omitempty" jsonschema:"judge as this Crossplane version, e.g. v2.1.3 (default: the tag of Crossplane's image)"`
	Inspect           string   `json:"inspect,omitempty" jsonschema:"which package images to read from their registry: problems (default: the unhealthy packages' images), all, or none"`
	Detail            bool     `json:"detail,omitempty" jsonschema:"false (default): a summary, per package its root finding and its codes by severity; true: the full versioned report with evidence and the exact fix, as kubectl xpdoctor -o json prints it"`
}

// DiagnoseSummary is the diagnose tool's default result: what the report
// holds, without evidence and fixes, in a size that grows by one short
// row per package.
type DiagnoseSummary struct {
	APIVersion        string   `json:"apiVersion"`
	Kind              string   `json:"kind"`
	Source            string   `json:"source,omitempty"`
	CrossplaneVersion string   `json:"crossplaneVersion"`
	Notes             []string `json:"notes,omitempty"`
	// Counts are the report's: packages, those not healthy, and findings by severity.
	Counts DiagnoseCounts `json:"counts"`
	// Packages are the packages diagnosed, those with findings first.
	Packages []PackageSummary `json:"packages"`
	// Omitted counts packages beyond MaxSummaryPackages, not listed.
	Omitted int `json:"omitted,omitempty"`
	// Cluster lists the codes of findings about no package (PermissionDenied).
	Cluster []findings.Code `json:"cluster,omitempty"`
	// Detail says how to get the evidence and the fixes.
	Detail string `json:"detail"`
}

// DiagnoseCounts counts a report.
type DiagnoseCounts struct {
	Packages  int                       `json:"packages"`
	Unhealthy int                       `json:"unhealthy"`
	Findings  map[findings.Severity]int `json:"findings"`
}

// PackageSummary is one package of a summary.
type PackageSummary struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Installed string `json:"installed"`
	Healthy   string `json:"healthy"`
	// Finding is the root cause's code.
	Finding findings.Code `json:"finding,omitempty"`
	// Codes are the package's finding codes by severity.
	Codes map[findings.Severity][]findings.Code `json:"codes,omitempty"`
}

// SummaryKind is the kind of the diagnose summary.
const SummaryKind = "DiagnoseSummary"

var kinds = []string{"Provider", "Function", "Configuration"}

func (s *server) diagnoseTool() tool {
	def := &mcp.Tool{
		Name:        "diagnose",
		Annotations: readOnly("Diagnose Crossplane packages", true),
		Description: fmt.Sprintf(`Find why Crossplane packages are not healthy: reads the packages, revisions, Lock, ImageConfigs, runtime Deployments and Pods and their Events, inspects the images involved in their registry with the credentials Crossplane uses, and names the root cause per package with a stable finding code, evidence and the exact fix. The same decision code and report as kubectl xpdoctor diagnose. Read-only.

By default it returns a compact summary (kind %s): counts, and per package (at most %d, those with findings first) its root finding and its codes by severity; under 64 KB for 300 packages that all fail. With detail: true it returns the full versioned report (apiVersion xpdoctor.io/v1alpha2, kind DiagnoseReport), byte for byte what kubectl xpdoctor [NAMES] -o json prints, about 3.5 KB per failing package: pass the names of the packages to explain (about 25 failing packages fit). Every result is at most %d bytes; a larger one is refused, never cut, with what to narrow.`, SummaryKind, MaxSummaryPackages, MaxResultBytes),
	}
	return newTool(s, def, func(p map[string]*jsonSchema) {
		p["names"].MaxItems = maxLen(maxNames)
		p["names"].Items.MaxLength = maxLen(maxNameLength)
		p["kind"].Enum = enum(kinds...)
		p["crossplaneVersion"].MaxLength = maxLen(maxVersionLength)
		p["inspect"].Enum = enum("problems", "all", "none")
	}, s.diagnose)
}

func (s *server) diagnose(ctx context.Context, in DiagnoseInput) (*mcp.CallToolResult, error) {
	if s.o.Backend.Diagnose == nil {
		return nil, errors.New("diagnose is not available in this server")
	}
	rep, err := s.o.Backend.Diagnose(ctx, in)
	if err != nil {
		return nil, err
	}
	if in.Detail {
		return s.exact(func(p report.Printer, w *bytes.Buffer) error { return p.Diagnose(w, rep) },
			"call diagnose with detail and fewer names (the summary lists the packages with findings), or with a kind")
	}
	return s.compact(Summarize(rep), "call diagnose with a kind, or with names")
}

// Summarize is the summary of a diagnose report.
func Summarize(rep *diagnose.Report) *DiagnoseSummary {
	sum := &DiagnoseSummary{APIVersion: rep.APIVersion, Kind: SummaryKind, Source: rep.Source, CrossplaneVersion: rep.CrossplaneVersion, Notes: rep.Notes,
		Counts:   DiagnoseCounts{Packages: len(rep.Packages), Findings: map[findings.Severity]int{}},
		Packages: []PackageSummary{},
		Detail:   "call diagnose with detail: true and the names of the packages to explain for evidence and the exact fix; explain tells what a code means"}
	codes := map[string]map[findings.Severity][]findings.Code{}
	for _, f := range rep.Findings {
		sum.Counts.Findings[f.Severity]++
		if f.Subject.Name == "" {
			sum.Cluster = append(sum.Cluster, f.Code)
			continue
		}
		k := f.Subject.String()
		if codes[k] == nil {
			codes[k] = map[findings.Severity][]findings.Code{}
		}
		if !contains(codes[k][f.Severity], f.Code) {
			codes[k][f.Severity] = append(codes[k][f.Severity], f.Code)
		}
	}
	var with, without []PackageSummary
	for _, p := range rep.Packages {
		if p.Healthy != "True" {
			sum.Counts.Unhealthy++
		}
		ps := PackageSummary{Kind: p.Kind, Name: p.Name, Installed: p.Installed, Healthy: p.Healthy, Finding: p.Finding,
			Codes: codes[findings.Subject{Kind: p.Kind, Name: p.Name}.String()]}
		if len(ps.Codes) > 0 || ps.Finding != "" {
			with = append(with, ps)
		} else {
			without = append(without, ps)
		}
	}
	for _, ps := range append(with, without...) {
		if len(sum.Packages) == MaxSummaryPackages {
			sum.Omitted++
			continue
		}
		sum.Packages = append(sum.Packages, ps)
	}
	return sum
}

func contains(cs []findings.Code, c findings.Code) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}
