package diagnose

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// APIVersion versions DiagnoseReport.
const APIVersion = inspect.APIVersion

// VersionUnknown is the report's Crossplane version when the input does not tell it.
const VersionUnknown = "unknown"

// Input is everything Diagnose decides from.
type Input struct {
	Snapshot *cluster.Snapshot
	// Images are inspect judgements keyed by the reference inspected; their
	// verdicts are for Targets, in that order.
	Images map[string]inspect.Image
	// PackageImages, keyed by Kind/Name, replace Images for a package whose
	// image was read with other credentials than another package's that
	// pulls the same reference (Crossplane resolves credentials per package).
	PackageImages map[string]inspect.Image
	// Targets is the Crossplane version of the cluster: one target when it
	// is known, every generation when it is not.
	Targets []crossplane.Target
	// VersionKnown is false when Targets are every generation because the
	// input does not tell the version.
	VersionKnown bool
	// Upstreams map the mirrors the cluster pulls from to their upstreams
	// (--upstream-registry), when the user gave them.
	Upstreams []xpkg.Mapping
	// Dependencies are what the registry says about the dependencies that
	// messages name as missing, keyed by their source (as dependsOn names
	// it), when they were looked up where Crossplane looks.
	Dependencies map[string]DependencyLookup
	// Now dates event ages.
	Now time.Time
	// Select narrows the report.
	Select Selector
	// Notes are said once, above the findings.
	Notes []string
	// Credentials are what Crossplane's keychain has for each package's
	// image, keyed by Kind/Name (pkg/doctor collects them from the cluster).
	Credentials map[string]Credentials
	// RegistryCredentials says whose credentials images were read with:
	// CredentialsCrossplane or CredentialsLocal ("" when none were read).
	RegistryCredentials string
}

// DependencyLookup is what xpdoctor read of a dependency's repository, from
// where it runs: the tags, or the error.
type DependencyLookup struct {
	// Repository is where it looked (after ImageConfig rewrites).
	Repository string
	Tags       []string
	Err        *xpkg.RegistryError
	// ResolverCredentials is true when the tags were listed with exactly
	// the credentials Crossplane's dependency resolver sends.
	ResolverCredentials bool
}

// Selector narrows a report to some packages: by name, and by kind.
type Selector struct {
	Names []string
	// Kinds are Provider, Function or Configuration (none for all).
	Kinds []string
}

// Selects tells whether the package kind/name is selected. Cluster-wide
// findings (name "") are always selected.
func (s Selector) Selects(kind, name string) bool {
	if name == "" {
		return true
	}
	if !s.selectsKind(kind) {
		return false
	}
	if len(s.Names) == 0 {
		return true
	}
	for _, n := range s.Names {
		if n == name {
			return true
		}
	}
	return false
}

func (s Selector) selectsKind(kind string) bool {
	return len(s.Kinds) == 0 || slices.ContainsFunc(s.Kinds, func(k string) bool { return strings.EqualFold(k, kind) })
}

// PackageRow is one line of the table.
type PackageRow struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Installed string `json:"installed"`
	Healthy   string `json:"healthy"`
	Package   string `json:"package"`
	Digest    string `json:"digest,omitempty"`
	Revision  string `json:"revision,omitempty"`
	// UnhealthySince is when a package that is not healthy entered the
	// state it is in (its conditions' lastTransitionTime); UnhealthyFor is
	// how long ago that was, as kubectl prints ages ("3h").
	UnhealthySince *time.Time `json:"unhealthySince,omitempty"`
	UnhealthyFor   string     `json:"unhealthyFor,omitempty"`
	// Finding is the root cause's code ("" when healthy).
	Finding findings.Code `json:"finding,omitempty"`
	// Credentials say which pull secret Crossplane uses for the image, or
	// that none matches (names only, never content).
	Credentials *Credentials `json:"credentials,omitempty"`
}

// Report is the result of diagnose.
type Report struct {
	APIVersion        string `json:"apiVersion"`
	Kind              string `json:"kind"`
	Source            string `json:"source,omitempty"`
	CrossplaneVersion string `json:"crossplaneVersion"`
	// Notes say how the report was made where that matters to its reader
	// (an unknown or unmodelled Crossplane version, images not inspected).
	Notes []string `json:"notes,omitempty"`
	// RegistryCredentials says whose credentials package images were read
	// with: crossplane (the pull secrets Crossplane uses for each package),
	// local (the user's docker config), or mixed (packages[].credentials
	// says which, and why).
	RegistryCredentials string             `json:"registryCredentials,omitempty"`
	Packages            []PackageRow       `json:"packages"`
	Findings            []findings.Finding `json:"findings"`
	Denied              []cluster.Denial   `json:"denied,omitempty"`
}

// Diagnose decides. It is a pure function of its input.
func Diagnose(in Input) *Report {
	s := in.Snapshot
	if len(in.Targets) == 0 {
		in.Targets, _ = crossplane.Select(nil)
		in.VersionKnown = false
	}
	rep := &Report{APIVersion: APIVersion, Kind: "DiagnoseReport", Source: s.Source, CrossplaneVersion: versionLabel(in),
		Notes: in.Notes, RegistryCredentials: in.RegistryCredentials, Packages: []PackageRow{}, Findings: []findings.Finding{}, Denied: s.Denied}
	for _, p := range s.Packages {
		if !in.Select.Selects(p.Kind, p.Name) {
			continue
		}
		row, fs := decidePackage(in, p)
		rep.Packages = append(rep.Packages, row)
		rep.Findings = append(rep.Findings, fs...)
	}
	for _, f := range familyFindings(in) {
		if in.Select.Selects(f.Subject.Kind, f.Subject.Name) {
			rep.Findings = append(rep.Findings, f)
		}
	}
	rep.Findings = append(rep.Findings, orphanFindings(in)...)
	rep.Findings = append(rep.Findings, deniedFindings(s)...)
	findings.Sort(rep.Findings)
	return rep
}

func versionLabel(in Input) string {
	if !in.VersionKnown {
		return VersionUnknown
	}
	return in.Targets[0].Label()
}

// deniedFindings are one PermissionDenied per verb, API group and
// namespace that was refused: a user without rights is refused a dozen
// resources of a few groups, and one line per group says it.
func deniedFindings(s *cluster.Snapshot) []findings.Finding {
	type group struct {
		verb, group, namespace string
		resources, messages    []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, d := range s.Denied {
		key := d.Verb + "\x00" + d.Group + "\x00" + d.Namespace
		g, ok := byKey[key]
		if !ok {
			g = &group{verb: d.Verb, group: d.Group, namespace: d.Namespace}
			byKey[key] = g
			groups = append(groups, g)
		}
		if !slices.Contains(g.resources, d.Resource) {
			g.resources = append(g.resources, d.Resource)
		}
		g.messages = append(g.messages, d.Message)
	}
	var out []findings.Finding
	for _, g := range groups {
		what := strings.Join(g.resources, ", ")
		if g.group != "" {
			what = g.group + ": " + what
		}
		if g.namespace != "" {
			what += " in namespace " + g.namespace
		}
		who := ""
		if m := reForbiddenUser.FindStringSubmatch(g.messages[0]); m != nil {
			who = fmt.Sprintf(" (forbidden for user %q)", m[1])
		}
		evidence := []string{g.messages[0]}
		if n := len(g.messages) - 1; n > 0 {
			evidence = append(evidence, fmt.Sprintf("and %d more answer(s) like it, one per resource", n))
		}
		out = append(out, findings.Finding{Code: findings.PermissionDenied, Severity: findings.Error,
			Message:     fmt.Sprintf("not allowed to %s %s%s: the report is missing what they would show", g.verb, what, who),
			Evidence:    evidence,
			Remediation: fmt.Sprintf("grant %q on %s (docs/rbac.yaml has the whole read-only role: kubectl apply -f docs/rbac.yaml, then bind ClusterRole xpdoctor-diagnose to the user)", g.verb, what)})
	}
	return out
}

// reForbiddenUser is the user the API server names in a Forbidden answer
// (k8s.io/apiserver@v0.37.2 pkg/endpoints/handlers/responsewriters/errors.go
// forbiddenMessage: `User "alice" cannot list resource ...`).
var reForbiddenUser = regexp.MustCompile(`User "([^"]*)" cannot`)

// currentRevision is status.currentRevision, else the highest-numbered
// revision of the package.
func currentRevision(s *cluster.Snapshot, p cluster.Package) *cluster.Revision {
	var best *cluster.Revision
	for i := range s.Revisions {
		r := &s.Revisions[i]
		if r.Kind != cluster.RevisionKind(p.Kind) || r.Parent != p.Name {
			continue
		}
		if r.Name == p.CurrentRevision {
			return r
		}
		if best == nil || r.Revision > best.Revision {
			best = r
		}
	}
	return best
}

func digestOf(imageID string) string {
	if i := strings.Index(imageID, "@"); i >= 0 {
		return imageID[i+1:]
	}
	if strings.HasPrefix(imageID, "sha256:") {
		return imageID
	}
	return ""
}

func status(c *cluster.Condition) string {
	if c == nil {
		return "Unknown"
	}
	return c.Status
}

func eventWhere(e cluster.Event, now time.Time) string {
	age := ""
	if !e.Last.IsZero() && !now.IsZero() {
		age = ", last " + humanAge(now.Sub(e.Last)) + " ago"
	}
	return fmt.Sprintf("event %s %s on %s %s (x%d%s)", e.Type, e.Reason, e.Kind, e.Name, e.Count, age)
}

func humanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func hasAny(fs []findings.Finding, codes ...findings.Code) bool {
	for _, f := range fs {
		for _, c := range codes {
			if f.Code == c {
				return true
			}
		}
	}
	return false
}

func hasSeverity(fs []findings.Finding, s findings.Severity) bool {
	for _, f := range fs {
		if f.Severity == s {
			return true
		}
	}
	return false
}
