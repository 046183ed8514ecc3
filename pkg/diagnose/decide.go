package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
)

// pkgCase is one package being decided: what the snapshot and the registry
// say about it, and what the steps concluded so far.
type pkgCase struct {
	in     Input
	s      *cluster.Snapshot
	pkg    cluster.Package
	rev    *cluster.Revision
	row    PackageRow
	source string
	// img is the registry's judgement of source, when it was inspected.
	img  *inspect.Image
	pods []cluster.Pod
	deps []cluster.Deployment

	obs          []observation
	groups       []*causeGroup
	unclassified []observation
	out          []findings.Finding

	// paused: the package or its current revision is paused, so what the
	// cluster said before is not current (lifecycle.go).
	paused bool
	// explained: a lifecycle state explains why the package is not healthy
	// without an error (a manual activation, an upgrade in progress).
	explained bool
}

// observation is a message seen in the cluster, with where it was seen.
type observation struct {
	text  string
	where string
	// on is the kind of the object it sat on.
	on string
}

func (o observation) String() string { return o.where + ": " + o.text }

// causeGroup is every observation of one cause.
type causeGroup struct {
	code   findings.Code
	causes []Cause
	obs    []observation
}

func (g *causeGroup) evidence() []string {
	out := make([]string, len(g.obs))
	for i, o := range g.obs {
		out[i] = o.String()
	}
	return out
}

// also is what the messages alone cannot rule out.
func (g *causeGroup) also() []findings.Code {
	var out []findings.Code
	for _, c := range g.causes {
		for _, a := range c.Also {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// inners are the classified messages without their wrappers.
func (g *causeGroup) inners() []string {
	out := make([]string, len(g.causes))
	for i, c := range g.causes {
		out[i] = c.Inner
	}
	return out
}

// step is one named part of the per-package decision. Adding a cause is a
// classifier rule (classify.go), a catalogue entry and, when the cluster or
// the registry says more than the message, an explainer (explain.go).
type step struct {
	name string
	run  func(*pkgCase)
}

var steps = []step{
	{"observe", (*pkgCase).observe},
	{"classify", (*pkgCase).classify},
	{"runtime", (*pkgCase).runtime},
	{"explain", (*pkgCase).explain},
	{"crossplane-pod", (*pkgCase).crossplanePod},
	// Lifecycle states (lifecycle.go): they say what the causes above do
	// to the package, and what is current.
	{"dependency-counts", (*pkgCase).dependencyCounts},
	{"stale-owner", (*pkgCase).staleOwners},
	{"upgrade", (*pkgCase).upgrade},
	{"activation", (*pkgCase).activation},
	{"pause", (*pkgCase).pause},
	{"registry-verdict", (*pkgCase).registryVerdict},
	// After the registry verdict, which may be the refusal it explains.
	{"credentials", (*pkgCase).credentials},
	{"mirror-damage", (*pkgCase).mirrorDamage},
	{"unclassified", (*pkgCase).unclassifiedStep},
	{"terminating", (*pkgCase).terminating},
	{"history", (*pkgCase).history},
	{"imageconfig-rewrite", (*pkgCase).imageConfigRewrite},
	{"root-cause", (*pkgCase).rootCause},
}

func decidePackage(in Input, p cluster.Package) (PackageRow, []findings.Finding) {
	c := &pkgCase{in: in, s: in.Snapshot, pkg: p, source: p.Source(),
		row: PackageRow{Kind: p.Kind, Name: p.Name, Installed: status(p.Condition("Installed")), Healthy: status(p.Condition("Healthy")), Package: p.Package}}
	c.rev = currentRevision(c.s, p)
	if c.rev != nil {
		c.row.Revision = c.rev.Name
		for _, d := range c.s.Deployments {
			if d.Revision == c.rev.Name {
				c.deps = append(c.deps, d)
			}
		}
		for _, pd := range c.s.Pods {
			if pd.Revision == c.rev.Name {
				c.pods = append(c.pods, pd)
			}
		}
	}
	if img, ok := in.Images[c.source]; ok {
		c.img = &img
		c.row.Digest = img.Digest
	}
	if img, ok := in.PackageImages[p.Kind+"/"+p.Name]; ok {
		c.img = &img
		c.row.Digest = img.Digest
	}
	if t := unhealthySince(p); !t.IsZero() {
		c.row.UnhealthySince = &t
		c.row.UnhealthyFor = c.since(t)
	}
	for _, st := range steps {
		st.run(c)
	}
	return c.row, c.out
}

func (c *pkgCase) healthy() bool { return c.pkg.Healthy() }

// add completes a finding with the package, the image and the fix.
func (c *pkgCase) add(f findings.Finding) {
	f.Subject = findings.Subject{Kind: c.pkg.Kind, Name: c.pkg.Name}
	if f.Severity == "" {
		f.Severity = findings.Error
	}
	if f.Remediation == "" {
		f.Remediation = findings.Catalogue[f.Code].Fix
	}
	if f.Message == "" {
		f.Message = fmt.Sprintf("%s: %s", findings.Catalogue[f.Code].Title, c.pkg.Name)
	}
	c.out = append(c.out, f)
}

// observe collects the failing conditions and Warning events of the
// package and its revision. Conditions are the current state, events
// history: a package that is installed and healthy now has no cause to
// report, whatever its old events say.
func (c *pkgCase) observe() {
	if c.healthy() {
		return
	}
	c.obs = c.observeObject(c.pkg.Kind, c.pkg.Name, c.pkg.Conditions)
	// A revision that is healthy now (the one that still serves while a new
	// spec.package fails to unpack) has only history to tell.
	if c.rev != nil && !revisionHealthy(c.rev) {
		c.obs = append(c.obs, c.observeObject(c.rev.Kind, c.rev.Name, c.rev.Conditions)...)
	}
}

func (c *pkgCase) observeObject(kind, name string, conds []cluster.Condition) []observation {
	var out []observation
	for _, cd := range conds {
		if cd.Status != "True" && cd.Message != "" {
			out = append(out, observation{cd.Message, fmt.Sprintf("%s %s condition %s=%s (%s)", kind, name, cd.Type, cd.Status, cd.Reason), kind})
		}
	}
	for _, e := range c.s.EventsFor(kind, name) {
		if e.Type == "Warning" {
			out = append(out, observation{e.Message, eventWhere(e, c.in.Now), kind})
		}
	}
	return out
}

// classify groups the observations by the cause the classifier names.
func (c *pkgCase) classify() {
	for _, o := range c.obs {
		cause, ok := Classify(o.text)
		if !ok {
			c.unclassified = append(c.unclassified, o)
			continue
		}
		g := c.group(cause.Code)
		if g == nil {
			g = &causeGroup{code: cause.Code}
			c.groups = append(c.groups, g)
		}
		g.causes = append(g.causes, cause)
		g.obs = append(g.obs, o)
	}
}

func (c *pkgCase) group(code findings.Code) *causeGroup {
	for _, g := range c.groups {
		if g.code == code {
			return g
		}
	}
	return nil
}

func (c *pkgCase) dropGroup(code findings.Code) {
	c.groups = slices.DeleteFunc(c.groups, func(g *causeGroup) bool { return g.code == code })
}

// runtime: a runtime message is about pods, and pod states name the real
// cause (ImagePullBackOff, CrashLoopBackOff).
func (c *pkgCase) runtime() {
	rf := runtimeFindings(c.s, c.in.Now, c.pods, c.deps)
	if len(rf) == 0 {
		return
	}
	if g := c.group(findings.RuntimeNotAvailable); g != nil {
		for _, f := range rf {
			f.Evidence = append(f.Evidence, g.evidence()...)
			c.add(f)
		}
		c.dropGroup(findings.RuntimeNotAvailable)
		return
	}
	if c.row.Healthy != "True" {
		for _, f := range rf {
			c.add(f)
		}
	}
}

// explain turns each classified cause into a finding, with what the
// snapshot and the registry add.
func (c *pkgCase) explain() {
	for _, g := range c.groups {
		f := findings.Finding{Code: g.code, Image: c.source, Digest: c.row.Digest, Evidence: g.evidence(), Alternatives: g.also()}
		if ex, ok := explainers[g.code]; ok {
			ex(c, g, &f)
		}
		if registryStage(g) {
			if v := c.verdictEvidence(g.evidence()); v != "" {
				f.Evidence = append(f.Evidence, v)
			}
			// The registry says more precisely what the cluster said: an
			// annotated layer with package.yaml below the root is
			// "couldn't find" on v1.x but a different fix.
			if v := c.verdict(g.evidence()); v != nil && f.Code == findings.PackageYAMLNotFound && v.Reason == findings.PackageYAMLNotAtRoot {
				f.Code, f.Message, f.Remediation = findings.PackageYAMLNotAtRoot, "", ""
			}
		}
		c.add(f)
	}
}

// registryStage: causes met while reading the image, which the registry
// verdict can confirm.
func registryStage(g *causeGroup) bool {
	return slices.Contains(parseCodes, g.code)
}

var parseCodes = []findings.Code{findings.PackageYAMLNotFound, findings.PackageYAMLNotAtRoot, findings.PackageYAMLInvalid, findings.PackageYAMLTooLarge,
	findings.MultipleBaseLayers, findings.TooManyLayers, findings.NoPlatformMatch, findings.ManifestNotFound, findings.RegistryUnauthorized,
	findings.RegistryTLSUntrusted, findings.RegistryUnreachable, findings.LayerInvalid, findings.ManifestInvalid, findings.CrossplaneVersionIncompat,
	findings.FlattenPathTooSlow, findings.PullPolicyNeverNotCached, findings.SignatureVerificationFailed, findings.RegistryProtocolError,
	findings.RegistryRateLimited, findings.PackageKindMismatch}

// crossplanePod: a Crossplane pod evicted for its package cache stops
// every package that has no other cause (corpus xp-2877, xp-3988).
func (c *pkgCase) crossplanePod() {
	if c.healthy() || hasSeverity(c.out, findings.Error) {
		return
	}
	for _, p := range c.s.CrossplanePods {
		obs := c.observeObject("Pod", p.Name, nil)
		if p.Message != "" {
			obs = append(obs, observation{p.Message, fmt.Sprintf("Crossplane pod %s/%s status (%s, %s)", p.Namespace, p.Name, p.Phase, p.Reason), "Pod"})
		}
		for _, o := range obs {
			if cause, ok := Classify(o.text); ok && cause.Code == findings.PackageCacheUnusable {
				g := &causeGroup{code: cause.Code, causes: []Cause{cause}, obs: []observation{o}}
				f := findings.Finding{Code: cause.Code, Evidence: g.evidence()}
				explainCache(c, g, &f)
				c.add(f)
				return
			}
		}
	}
}

// registryVerdict: what the registry says, when the cluster gave no cause
// met while reading the image.
func (c *pkgCase) registryVerdict() {
	if c.img == nil || hasAny(c.out, parseCodes...) {
		return
	}
	if v := c.verdict(nil); v != nil {
		if v.Outcome == crossplane.OutcomeFail {
			c.add(findings.Finding{Code: v.Reason, Image: c.source, Digest: c.row.Digest,
				Message:  fmt.Sprintf("Crossplane %s cannot parse %s", v.Crossplane, c.source),
				Evidence: []string{"xpdoctor predicts: " + v.Message}})
		}
		// A package Crossplane installs without a word, but not the one meant
		// (several annotated layers on v2.2+): the registry is the only witness.
		if v.Installs != nil && !hasAny(c.out, v.Reason) {
			c.add(findings.Finding{Code: v.Reason, Severity: findings.Error, Image: c.source, Digest: c.row.Digest, Message: v.Message})
		}
		if v.Reason == findings.FlattenPathTooSlow && !hasAny(c.out, findings.FlattenPathTooSlow) {
			c.add(findings.Finding{Code: findings.FlattenPathTooSlow, Image: c.source, Digest: c.row.Digest, Message: v.Message})
		}
		return
	}
	// The version is unknown and the generations disagree: say it per generation.
	var failing, parsing []string
	var reason findings.Code
	for _, v := range c.img.Verdicts {
		if v.Outcome == crossplane.OutcomeFail {
			failing = append(failing, v.Crossplane)
			reason = v.Reason
		} else {
			parsing = append(parsing, v.Crossplane+" ("+string(v.Outcome)+")")
		}
	}
	if len(failing) == 0 {
		return
	}
	sev := findings.Error
	if c.healthy() {
		sev = findings.Warning
	}
	ev := make([]string, 0, len(c.img.Verdicts))
	for _, v := range c.img.Verdicts {
		ev = append(ev, fmt.Sprintf("%s: %s: %s", v.Crossplane, v.Outcome, v.Message))
	}
	c.add(findings.Finding{Code: reason, Severity: sev, Image: c.source, Digest: c.row.Digest, Evidence: ev,
		Message: fmt.Sprintf("the Crossplane version is unknown, and the verdict depends on it: Crossplane %s cannot parse %s; %s can",
			strings.Join(failing, ", "), c.source, strings.Join(parsing, ", "))})
}

// mirrorDamage: damage Crossplane survives is a warning, never the cause
// of an unrelated failure.
func (c *pkgCase) mirrorDamage() {
	if c.img == nil {
		return
	}
	for _, f := range c.img.Findings {
		if f.Severity == findings.Error || hasAny(c.out, f.Code) {
			continue
		}
		c.add(findings.Finding{Code: f.Code, Severity: findings.Warning, Image: c.source, Digest: c.row.Digest, Message: f.Message, Evidence: f.Evidence, Remediation: f.Remediation})
	}
}

// unclassifiedStep: nothing matched. Say so, with the verbatim messages, the
// objects they sat on and the checks to run next.
func (c *pkgCase) unclassifiedStep() {
	if c.hasCause() || c.healthy() || c.paused || c.explained {
		return
	}
	if c.row.Healthy != "False" && c.row.Installed != "False" && len(c.unclassified) == 0 {
		return
	}
	ev := make([]string, len(c.unclassified))
	for i, o := range c.unclassified {
		ev[i] = o.String()
	}
	msg := fmt.Sprintf("%s %s is not healthy and no known cause matched its messages (quoted verbatim in the evidence)", c.pkg.Kind, c.pkg.Name)
	if len(ev) == 0 {
		msg = fmt.Sprintf("%s %s is not healthy, and neither it nor its revision carries a message that says why", c.pkg.Kind, c.pkg.Name)
	}
	c.add(findings.Finding{Code: findings.PackageUnhealthy, Image: c.source, Digest: c.row.Digest, Message: msg, Evidence: ev, Remediation: c.nextChecks()})
}

// nextChecks are the commands a person runs when xpdoctor does not know.
func (c *pkgCase) nextChecks() string {
	kind := strings.ToLower(c.pkg.Kind)
	var b strings.Builder
	b.WriteString("read the conditions and events of the package and its revisions, and Crossplane's log:\n")
	fmt.Fprintf(&b, "  kubectl get %s %s -o yaml\n", kind, c.pkg.Name)
	fmt.Fprintf(&b, "  kubectl get %srevisions -l %s=%s -o yaml\n", kind, cluster.LabelParent, c.pkg.Name)
	if c.rev != nil {
		fmt.Fprintf(&b, "  kubectl get events -A --field-selector involvedObject.name=%s\n", c.rev.Name)
	}
	fmt.Fprintf(&b, "  kubectl -n %s logs deploy/crossplane | grep %s\n", c.s.CrossplaneNamespace, c.pkg.Name)
	b.WriteString("and please report the message so xpdoctor can learn it")
	return b.String()
}

// rootCause is the first error finding that names a cause, else the first
// error (a lifecycle state), else the first warning: information (a
// rewrite by an ImageConfig, what is not current) is no cause.
func (c *pkgCase) rootCause() {
	pick := func(ok func(findings.Finding) bool) {
		for _, f := range c.out {
			if c.row.Finding == "" && ok(f) {
				c.row.Finding = f.Code
			}
		}
	}
	pick(func(f findings.Finding) bool {
		return f.Severity == findings.Error && !slices.Contains(lifecycleCodes, f.Code)
	})
	pick(func(f findings.Finding) bool { return f.Severity == findings.Error })
	pick(func(f findings.Finding) bool { return f.Severity == findings.Warning })
	if c.row.Digest == "" {
		c.row.Digest = runningDigest(c.pods)
	}
}

// verdict is the registry verdict for the cluster's Crossplane: the one
// target's when the version is known; otherwise the generation whose
// message the cluster shows verbatim, or the one every generation agrees
// on; nil when there is none or the generations disagree.
func (c *pkgCase) verdict(observed []string) *crossplane.Verdict {
	if c.img == nil || len(c.img.Verdicts) == 0 {
		return nil
	}
	if c.in.VersionKnown {
		return &c.img.Verdicts[0]
	}
	for i, v := range c.img.Verdicts {
		for _, o := range observed {
			if v.Outcome == crossplane.OutcomeFail && strings.Contains(o, v.Message) {
				return &c.img.Verdicts[i]
			}
		}
	}
	first := c.img.Verdicts[0]
	for _, v := range c.img.Verdicts[1:] {
		if v.Outcome != first.Outcome || v.Reason != first.Reason {
			return nil
		}
	}
	return &c.img.Verdicts[0]
}

// verdictEvidence says what the registry verdict says about what the
// cluster shows. It states observations only: that xpdoctor reads the
// image today is not a claim that the failure was transient.
func (c *pkgCase) verdictEvidence(observed []string) string {
	if c.img == nil {
		return ""
	}
	v := c.verdict(observed)
	if v == nil {
		var parts []string
		for _, v := range c.img.Verdicts {
			parts = append(parts, fmt.Sprintf("%s: %s", v.Crossplane, v.Outcome))
		}
		return "xpdoctor's registry verdicts, per generation (the Crossplane version is unknown): " + strings.Join(parts, "; ")
	}
	for _, o := range observed {
		if v.Outcome == crossplane.OutcomeFail && strings.Contains(o, v.Message) {
			return fmt.Sprintf("xpdoctor's registry verdict for %s predicts exactly this message: %s", v.Crossplane, v.Message)
		}
	}
	if v.Outcome == crossplane.OutcomeFail {
		return fmt.Sprintf("xpdoctor's registry verdict for %s: %s", v.Crossplane, v.Message)
	}
	return fmt.Sprintf("xpdoctor reads the image today, with the credentials it found, as Crossplane %s would (%s): what Crossplane met when it failed (the image, the registry, its credentials or its network path) differs from what xpdoctor meets now", v.Crossplane, v.Outcome)
}

// crossplaneBefore tells whether the cluster's Crossplane is older than v
// (yes), not older (no), or unknown (neither).
func (c *pkgCase) crossplaneBefore(v string) (yes, no bool) {
	ver := semver.MustParse(v)
	if !c.in.VersionKnown || len(c.in.Targets) == 0 {
		return false, false
	}
	t := c.in.Targets[0]
	if t.Version != nil {
		core, _ := t.Version.SetPrerelease("")
		return core.LessThan(ver), !core.LessThan(ver)
	}
	if t.Until != nil && !t.Until.GreaterThan(ver) {
		return true, false
	}
	if t.From != nil && !t.From.LessThan(ver) {
		return false, true
	}
	return false, false
}

func runningDigest(pods []cluster.Pod) string {
	for _, p := range pods {
		for _, ct := range p.Containers {
			if d := digestOf(ct.ImageID); d != "" {
				return d
			}
		}
	}
	return ""
}
