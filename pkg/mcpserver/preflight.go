package mcpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

// PreflightInput is the preflight tool's input.
type PreflightInput struct {
	TargetVersion     string `json:"targetVersion" jsonschema:"the Crossplane version to upgrade to, e.g. v2.0.0"`
	CrossplaneVersion string `json:"crossplaneVersion,omitempty" jsonschema:"the running Crossplane version (default: the tag of Crossplane's image)"`
	Detail            bool   `json:"detail,omitempty" jsonschema:"false (default): a summary, the status of each package and the checks that are not Safe; true: the full PreflightReport with messages, evidence, fixes and sources"`
	// Names narrow the detail; the judgement is always of the whole cluster.
	Names []string `json:"names,omitempty" jsonschema:"with detail: only these packages' results (metadata.name); Crossplane's own checks and the changes crossed are always included"`
}

// PreflightSummary is the preflight tool's default result.
type PreflightSummary struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Source     string           `json:"source,omitempty"`
	Running    string           `json:"runningVersion"`
	Target     string           `json:"targetVersion"`
	Generation string           `json:"targetGeneration"`
	Status     preflight.Status `json:"status"`
	// Packages counts the packages by status.
	Packages map[preflight.Status]int `json:"packages"`
	// Checks are the checks that are not Safe: Crossplane's own, then each
	// package's (at most MaxSummaryPackages packages' worth).
	Checks []CheckSummary `json:"checks"`
	// Omitted counts the checks not listed.
	Omitted int `json:"omitted,omitempty"`
	// Changes are the IDs of the changes between the two versions that touch this cluster.
	Changes []string `json:"changes,omitempty"`
	Detail  string   `json:"detail"`
}

// CheckSummary is one check of a summary.
type CheckSummary struct {
	// Subject is KIND/NAME, or Crossplane.
	Subject string           `json:"subject"`
	Check   string           `json:"check"`
	Status  preflight.Status `json:"status"`
	Code    findings.Code    `json:"code,omitempty"`
}

// PreflightSummaryKind is the kind of the preflight summary.
const PreflightSummaryKind = "PreflightSummary"

func (s *server) preflightTool() tool {
	def := &mcp.Tool{
		Name:        "preflight",
		Annotations: readOnly("Preflight a Crossplane upgrade", true),
		Description: fmt.Sprintf(`Answer "will Crossplane targetVersion accept what this cluster runs?" before an upgrade: each installed package's image judged under the target version, its Crossplane constraint, its dependencies, and the package-side changes between the running and the target version (each with its sources), per package and overall (Safe, Notice, Unknown, Degrades, Breaks). Reads the cluster (with Compositions) and the package images; writes nothing.

By default it returns a compact summary (kind %s): the overall status, packages by status and the checks that are not Safe (at most %d). With detail: true it returns the PreflightReport (apiVersion %s) with messages, evidence, fixes and sources, a few KB per package, narrowed to names when given. Every result is at most %d bytes; a larger one is refused, never cut, with what to narrow.`, PreflightSummaryKind, MaxSummaryPackages, preflight.APIVersion, MaxResultBytes),
	}
	return newTool(s, def, func(p map[string]*jsonSchema) {
		p["names"].MaxItems = maxLen(maxNames)
		p["names"].Items.MaxLength = maxLen(maxNameLength)
		p["targetVersion"].MaxLength = maxLen(maxVersionLength)
		p["crossplaneVersion"].MaxLength = maxLen(maxVersionLength)
	}, s.preflight)
}

func (s *server) preflight(ctx context.Context, in PreflightInput) (*mcp.CallToolResult, error) {
	if s.o.Backend.Preflight == nil {
		return nil, errors.New("preflight is not available in this server")
	}
	rep, err := s.o.Backend.Preflight(ctx, in)
	if err != nil {
		return nil, err
	}
	if in.Detail {
		rep = onlyPackages(rep, in.Names)
		return s.exact(func(p report.Printer, w *bytes.Buffer) error { return p.Structured(w, rep) },
			"call preflight with detail and the names of fewer packages (the summary lists the packages whose checks are not Safe)")
	}
	return s.compact(SummarizePreflight(rep), "")
}

// onlyPackages is rep with only the named packages' results (all without names).
func onlyPackages(rep *preflight.Report, names []string) *preflight.Report {
	if len(names) == 0 {
		return rep
	}
	out := *rep
	out.Packages = []preflight.PackageResult{}
	for _, p := range rep.Packages {
		if slices.Contains(names, p.Name) {
			out.Packages = append(out.Packages, p)
		}
	}
	return &out
}

// SummarizePreflight is the summary of a preflight report.
func SummarizePreflight(rep *preflight.Report) *PreflightSummary {
	sum := &PreflightSummary{APIVersion: rep.APIVersion, Kind: PreflightSummaryKind, Source: rep.Source, Running: rep.Running, Target: rep.Target,
		Generation: rep.Generation, Status: rep.Status, Packages: map[preflight.Status]int{}, Checks: []CheckSummary{},
		Detail: "call preflight with detail: true for each check's message, evidence, fix and sources"}
	add := func(subject string, c preflight.Check) {
		if c.Status == preflight.Safe {
			return
		}
		if len(sum.Checks) == MaxSummaryPackages {
			sum.Omitted++
			return
		}
		sum.Checks = append(sum.Checks, CheckSummary{Subject: subject, Check: c.Check, Status: c.Status, Code: c.Code})
	}
	for _, c := range rep.Crossplane {
		add("Crossplane", c)
	}
	for _, p := range rep.Packages {
		sum.Packages[p.Status]++
		for _, c := range p.Checks {
			add(p.Kind+"/"+p.Name, c)
		}
	}
	for _, c := range rep.Changes {
		if c.Affected > 0 {
			sum.Changes = append(sum.Changes, c.ID)
		}
	}
	return sum
}
