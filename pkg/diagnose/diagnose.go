package diagnose

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
)

// APIVersion versions DiagnoseReport.
const APIVersion = inspect.APIVersion

// Input is everything Diagnose decides from.
type Input struct {
	Snapshot *cluster.Snapshot
	// Images are inspect judgements keyed by the reference inspected.
	Images map[string]inspect.Image
	// Target is the Crossplane version (or generation) of the cluster.
	Target crossplane.Target
	// Now dates event ages.
	Now time.Time
	// Only narrows the report to these package names; Kind to one kind.
	Only []string
	Kind string
}

// Subject names a package.
type Subject struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Finding is a diagnosed problem, tied to a package and an image.
type Finding struct {
	Code        findings.Code     `json:"code"`
	Severity    findings.Severity `json:"severity"`
	Subject     Subject           `json:"subject"`
	Image       string            `json:"image,omitempty"`
	Digest      string            `json:"digest,omitempty"`
	Message     string            `json:"message"`
	Evidence    []string          `json:"evidence,omitempty"`
	Remediation string            `json:"remediation,omitempty"`
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
	// Finding is the root cause's code ("" when healthy).
	Finding findings.Code `json:"finding,omitempty"`
}

// Report is the result of diagnose.
type Report struct {
	APIVersion        string           `json:"apiVersion"`
	Kind              string           `json:"kind"`
	Source            string           `json:"source,omitempty"`
	CrossplaneVersion string           `json:"crossplaneVersion"`
	Packages          []PackageRow     `json:"packages"`
	Findings          []Finding        `json:"findings"`
	Denied            []cluster.Denial `json:"denied,omitempty"`
}

// Diagnose decides. It is a pure function of its input.
func Diagnose(in Input) *Report {
	s := in.Snapshot
	rep := &Report{APIVersion: APIVersion, Kind: "DiagnoseReport", Source: s.Source, CrossplaneVersion: in.Target.Label(), Packages: []PackageRow{}, Findings: []Finding{}, Denied: s.Denied}
	only := map[string]bool{}
	for _, n := range in.Only {
		only[n] = true
	}
	for _, p := range s.Packages {
		if (len(only) > 0 && !only[p.Name]) || (in.Kind != "" && !strings.EqualFold(in.Kind, p.Kind)) {
			continue
		}
		row, fs := diagnosePackage(in, p)
		rep.Packages = append(rep.Packages, row)
		rep.Findings = append(rep.Findings, fs...)
	}
	for _, f := range familyFindings(in) {
		if (len(only) == 0 || only[f.Subject.Name]) && (in.Kind == "" || strings.EqualFold(in.Kind, f.Subject.Kind)) {
			rep.Findings = append(rep.Findings, f)
		}
	}
	for _, d := range s.Denied {
		ns := ""
		if d.Namespace != "" {
			ns = " in namespace " + d.Namespace
		}
		res := d.Resource
		if d.Group != "" {
			res += "." + d.Group
		}
		rep.Findings = append(rep.Findings, Finding{Code: findings.PermissionDenied, Severity: findings.Error,
			Message:     fmt.Sprintf("not allowed to %s %s%s: the report is missing what they would show", d.Verb, res, ns),
			Evidence:    []string{d.Message},
			Remediation: fmt.Sprintf("grant %q on %s%s (docs/rbac.yaml has the whole read-only role)", d.Verb, res, ns)})
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if a.Subject != b.Subject {
			return a.Subject.Kind+"/"+a.Subject.Name < b.Subject.Kind+"/"+b.Subject.Name
		}
		return a.Code < b.Code
	})
	return rep
}

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

// observation is a message seen in the cluster, with where it was seen.
type observation struct {
	text  string
	where string
}

func diagnosePackage(in Input, p cluster.Package) (PackageRow, []Finding) {
	s := in.Snapshot
	subj := Subject{Kind: p.Kind, Name: p.Name}
	row := PackageRow{Kind: p.Kind, Name: p.Name, Installed: status(p.Condition("Installed")), Healthy: status(p.Condition("Healthy")), Package: p.Package}
	rev := currentRevision(s, p)
	obs := observe(s, in.Now, p.Kind, p.Name, p.Conditions)
	var pods []cluster.Pod
	var deps []cluster.Deployment
	if rev != nil {
		row.Revision = rev.Name
		obs = append(obs, observe(s, in.Now, rev.Kind, rev.Name, rev.Conditions)...)
		for _, d := range s.Deployments {
			if d.Revision == rev.Name {
				deps = append(deps, d)
			}
		}
		for _, pd := range s.Pods {
			if pd.Revision == rev.Name {
				pods = append(pods, pd)
			}
		}
	}
	source := p.Source()
	img, inspected := in.Images[source]
	var verdict *crossplane.Verdict
	if inspected {
		row.Digest = img.Digest
		for i := range img.Verdicts {
			verdict = &img.Verdicts[i]
		}
	}
	var out []Finding
	add := func(f Finding) {
		f.Subject = subj
		if f.Remediation == "" {
			f.Remediation = findings.Catalogue[f.Code].Fix
		}
		out = append(out, f)
	}

	// 1. What the package's and revision's own messages say. Conditions are
	// the current state; events are history: a package that is installed
	// and healthy now has no cause to report, whatever its old events say.
	causes := map[findings.Code][]string{}
	var order []findings.Code
	var unclassified []string
	if row.Installed == "True" && row.Healthy == "True" {
		obs = nil
	}
	for _, o := range obs {
		c, ok := Classify(o.text)
		ev := fmt.Sprintf("%s: %s", o.where, o.text)
		if !ok {
			unclassified = append(unclassified, ev)
			continue
		}
		if _, seen := causes[c.Code]; !seen {
			order = append(order, c.Code)
		}
		causes[c.Code] = append(causes[c.Code], ev)
	}
	// A runtime message is about pods; pod states name the real cause.
	if _, ok := causes[findings.RuntimeNotAvailable]; ok {
		if rf := runtimeFindings(s, in.Now, pods, deps); len(rf) > 0 {
			for _, f := range rf {
				f.Evidence = append(f.Evidence, causes[findings.RuntimeNotAvailable]...)
				add(f)
			}
			delete(causes, findings.RuntimeNotAvailable)
		}
	} else if rf := runtimeFindings(s, in.Now, pods, deps); len(rf) > 0 && row.Healthy != "True" {
		for _, f := range rf {
			add(f)
		}
	}
	for _, code := range order {
		evidence, ok := causes[code]
		if !ok {
			continue
		}
		f := Finding{Code: code, Severity: findings.Error, Image: source, Digest: row.Digest, Evidence: evidence,
			Message: fmt.Sprintf("%s: %s", findings.Catalogue[code].Title, p.Name)}
		if verdict != nil {
			f.Evidence = append(f.Evidence, predictionEvidence(verdict, evidence))
			// The registry says more precisely what the cluster said: an
			// annotated layer with package.yaml below the root is
			// "couldn't find" on v1.x but a different fix.
			if code == findings.PackageYAMLNotFound && verdict.Reason == findings.PackageYAMLNotAtRoot {
				f.Code = findings.PackageYAMLNotAtRoot
			}
		}
		if code == findings.DependencyUnresolvable {
			f.Message, f.Remediation = dependencyAdvice(in, p, evidence)
		}
		if code == findings.ManifestNotFound || code == findings.RegistryUnauthorized {
			f.Message = fmt.Sprintf("%s: %s", findings.Catalogue[code].Title, source)
		}
		add(f)
	}
	// 2. What the registry says, when the cluster gave no parse cause.
	if verdict != nil && verdict.Outcome == crossplane.OutcomeFail && !hasAny(out, parseCodes) {
		add(Finding{Code: verdict.Reason, Severity: findings.Error, Image: source, Digest: row.Digest,
			Message:  fmt.Sprintf("Crossplane %s cannot parse %s", in.Target.Label(), source),
			Evidence: []string{"xpdoctor predicts: " + verdict.Message}})
	}
	// A package Crossplane installs without a word, but not the one meant
	// (several annotated layers on v2.2+): the registry is the only witness.
	if verdict != nil && verdict.Installs != nil && !hasAny(out, []findings.Code{verdict.Reason}) {
		add(Finding{Code: verdict.Reason, Severity: findings.Error, Image: source, Digest: row.Digest, Message: verdict.Message})
	}
	if verdict != nil && verdict.Reason == findings.FlattenPathTooSlow && !hasAny(out, []findings.Code{findings.FlattenPathTooSlow}) {
		add(Finding{Code: findings.FlattenPathTooSlow, Severity: findings.Error, Image: source, Digest: row.Digest, Message: verdict.Message})
	}
	// 3. Mirror damage Crossplane survives: warnings, never the cause of an
	// unrelated failure.
	if inspected {
		for _, f := range img.Findings {
			if f.Severity == findings.Error || hasAny(out, []findings.Code{f.Code}) {
				continue
			}
			add(Finding{Code: f.Code, Severity: findings.Warning, Image: source, Digest: row.Digest, Message: f.Message, Evidence: f.Evidence, Remediation: f.Remediation})
		}
	}
	if !hasSeverity(out, findings.Error) && (row.Healthy == "False" || row.Installed == "False") {
		add(Finding{Code: findings.PackageUnhealthy, Severity: findings.Error, Image: source, Digest: row.Digest,
			Message: fmt.Sprintf("%s %s is not healthy and no known cause matched", p.Kind, p.Name), Evidence: unclassified})
	}
	if len(out) > 0 {
		sorted := append([]Finding(nil), out...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Severity.Rank() > sorted[j].Severity.Rank() })
		row.Finding = sorted[0].Code
	}
	if row.Digest == "" {
		row.Digest = runningDigest(pods)
	}
	return row, out
}

// observe collects an object's failing conditions and Warning events.
func observe(s *cluster.Snapshot, now time.Time, kind, name string, conds []cluster.Condition) []observation {
	var out []observation
	for _, c := range conds {
		if c.Status != "True" && c.Message != "" {
			out = append(out, observation{c.Message, fmt.Sprintf("%s %s condition %s=%s (%s)", kind, name, c.Type, c.Status, c.Reason)})
		}
	}
	for _, e := range s.EventsFor(kind, name) {
		if e.Type == "Warning" {
			out = append(out, observation{e.Message, eventWhere(e, now)})
		}
	}
	return out
}

var parseCodes = []findings.Code{findings.PackageYAMLNotFound, findings.PackageYAMLNotAtRoot, findings.PackageYAMLInvalid, findings.PackageYAMLTooLarge,
	findings.MultipleBaseLayers, findings.TooManyLayers, findings.NoPlatformMatch, findings.ManifestNotFound, findings.RegistryUnauthorized,
	findings.RegistryTLSUntrusted, findings.RegistryUnreachable, findings.LayerInvalid, findings.ManifestInvalid, findings.CrossplaneVersionIncompat,
	findings.FlattenPathTooSlow, findings.PullPolicyNeverNotCached, findings.SignatureVerificationFailed}

// predictionEvidence says whether the registry verdict predicted what the cluster shows.
func predictionEvidence(v *crossplane.Verdict, observed []string) string {
	for _, o := range observed {
		if v.Outcome == crossplane.OutcomeFail && strings.Contains(o, v.Message) {
			return fmt.Sprintf("xpdoctor's registry verdict for %s predicts exactly this message: %s", v.Crossplane, v.Message)
		}
	}
	switch v.Outcome {
	case crossplane.OutcomeFail:
		return fmt.Sprintf("xpdoctor's registry verdict for %s: %s", v.Crossplane, v.Message)
	default:
		return fmt.Sprintf("the registry image parses for %s today (%s): the failure was transient or the image has changed since", v.Crossplane, v.Outcome)
	}
}

func runtimeFindings(s *cluster.Snapshot, now time.Time, pods []cluster.Pod, deps []cluster.Deployment) []Finding {
	var out []Finding
	for _, pd := range pods {
		var podEvents []string
		for _, e := range s.EventsFor("Pod", pd.Name) {
			if e.Type == "Warning" {
				podEvents = append(podEvents, eventWhere(e, now)+": "+e.Message)
			}
		}
		start := len(out)
		for _, c := range pd.Containers {
			switch c.Waiting {
			case "ImagePullBackOff", "ErrImagePull", "InvalidImageName":
				out = append(out, Finding{Code: findings.RuntimeImagePullFailed, Severity: findings.Error, Image: c.Image,
					Message:  fmt.Sprintf("pod %s/%s cannot pull %s (%s)", pd.Namespace, pd.Name, c.Image, c.Waiting),
					Evidence: []string{fmt.Sprintf("container %s waiting: %s: %s", c.Name, c.Waiting, c.WaitingMessage)}})
			case "CrashLoopBackOff":
				out = append(out, Finding{Code: findings.RuntimeCrashLooping, Severity: findings.Error, Image: c.Image, Digest: digestOf(c.ImageID),
					Message:  fmt.Sprintf("pod %s/%s container %s restarts (%d restarts)", pd.Namespace, pd.Name, c.Name, c.RestartCount),
					Evidence: []string{fmt.Sprintf("last termination: %s (exit code %d)", c.LastTermination, c.ExitCode)}})
			}
		}
		for i := start; i < len(out); i++ {
			out[i].Evidence = append(out[i].Evidence, podEvents...)
		}
	}
	if len(out) == 0 {
		for _, d := range deps {
			if d.Replicas > 0 && d.Available < d.Replicas || d.Available == 0 {
				out = append(out, Finding{Code: findings.RuntimeNotAvailable, Severity: findings.Error,
					Message: fmt.Sprintf("deployment %s/%s has %d of %d replicas available", d.Namespace, d.Name, d.Available, d.Replicas)})
			}
		}
	}
	return out
}

func runningDigest(pods []cluster.Pod) string {
	for _, p := range pods {
		for _, c := range p.Containers {
			if d := digestOf(c.ImageID); d != "" {
				return d
			}
		}
	}
	return ""
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

func hasAny(fs []Finding, codes []findings.Code) bool {
	for _, f := range fs {
		for _, c := range codes {
			if f.Code == c {
				return true
			}
		}
	}
	return false
}

func hasSeverity(fs []Finding, s findings.Severity) bool {
	for _, f := range fs {
		if f.Severity == s {
			return true
		}
	}
	return false
}
