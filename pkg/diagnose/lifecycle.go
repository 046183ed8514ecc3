package diagnose

// Lifecycle states: a package can be unhealthy, or look healthy, because of
// where it is in its life rather than because of an error message: an
// upgrade whose new revision fails, a revision waiting for manual
// activation, a pause, a deletion held by a finalizer, revisions nobody
// owns, more old revisions than the history limit. Each is read from the
// snapshot as Crossplane's package manager and revision reconciler act on
// it; the sources are cited where each rule is.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// revisionDeadline is the revision reconciler's timeout
// (revision/reconciler.go@v1.14.9..v2.3.4 reconcileTimeout): a revision
// that has said nothing for longer is not merely in progress, and a
// finalizer Crossplane can remove is gone within one reconcile.
const revisionDeadline = 3 * time.Minute

// pausedMessage is the condition and event text of a paused package or
// revision (manager/reconciler.go, revision/reconciler.go@v1.14.9..v2.3.4
// reconcilePausedMsg, with crossplane-runtime's ReconcilePaused condition:
// Synced=False, reason ReconcilePaused).
const pausedMessage = "Reconciliation (including deletion) is paused via the pause annotation"

// inactiveMessage is the package's Installed=False message while its current
// revision is not active (manager/reconciler.go@v1.14.9..v2.3.4:
// v1.Inactive().WithMessage("Package is inactive")).
const inactiveMessage = "Package is inactive"

// lifecycleCodes say what a cause does to the package, never why.
var lifecycleCodes = []findings.Code{findings.UpgradeStuck, findings.RevisionAwaitingActivation, findings.PackagePaused,
	findings.PackageTerminating, findings.RevisionHistoryExceeded, findings.ImageConfigRewritten}

// hasCause tells whether an error finding names a cause.
func (c *pkgCase) hasCause() bool {
	for _, f := range c.out {
		if f.Severity == findings.Error && !slices.Contains(lifecycleCodes, f.Code) {
			return true
		}
	}
	return false
}

// revisions are the package's revisions as Crossplane's package manager
// finds them (by the label pkg.crossplane.io/package: manager/reconciler.go
// @v2.3.4 MatchingLabels), highest revision number first.
func (c *pkgCase) revisions() []*cluster.Revision {
	var out []*cluster.Revision
	for i := range c.s.Revisions {
		r := &c.s.Revisions[i]
		if r.Kind == cluster.RevisionKind(c.pkg.Kind) && r.Parent == c.pkg.Name {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Revision > out[j].Revision })
	return out
}

// revisionHealth is the revision's health: Healthy up to v1.20, and from
// v2.0 RevisionHealthy and, for packages with a runtime, RuntimeHealthy
// (apis/pkg/v1/conditions.go@v2.3.4 PackageHealth). It returns the first
// condition that is not True, or nil when the revision is healthy; known
// is false when the revision reports no health at all.
func revisionHealth(r *cluster.Revision) (bad *cluster.Condition, known bool) {
	for _, t := range []string{"Healthy", "RevisionHealthy", "RuntimeHealthy"} {
		cd := r.Condition(t)
		if cd == nil {
			continue
		}
		known = true
		if cd.Status != "True" && bad == nil {
			bad = cd
		}
	}
	return bad, known
}

func revisionHealthy(r *cluster.Revision) bool {
	bad, known := revisionHealth(r)
	return known && bad == nil
}

// runtimeOf tells whether a runtime Deployment of the revision runs:
// known is false when the input cannot say (no Deployments read).
func (c *pkgCase) runtimeOf(r *cluster.Revision) (d *cluster.Deployment, runs, known bool) {
	for i := range c.s.Deployments {
		if dp := &c.s.Deployments[i]; dp.Revision == r.Name {
			return dp, dp.Available > 0, true
		}
	}
	for _, dn := range c.s.Denied {
		if dn.Resource == "deployments" {
			return nil, false, false
		}
	}
	return nil, false, !c.s.FromDump || c.s.CrossplaneImage != "" || len(c.s.Deployments) > 0
}

// hasRuntime: Providers and Functions run a Deployment per active
// revision (v1.14+); Configurations have none.
func (c *pkgCase) hasRuntime() bool { return c.pkg.Kind != "Configuration" }

// serves says whether a revision serves: active, healthy and, for a
// package with a runtime, its Deployment available. The text says what the
// input shows, with "" for serves when it cannot tell.
func (c *pkgCase) serves(r *cluster.Revision) (yes bool, why string) {
	if r.DesiredState != "Active" {
		state := r.DesiredState
		if state == "" {
			state = `""`
		}
		why = fmt.Sprintf("%s is not active (desiredState %s)", r.Name, state)
		if d, _, known := c.runtimeOf(r); known && c.hasRuntime() {
			if d == nil {
				why += " and has no runtime Deployment"
			} else {
				why += fmt.Sprintf(" but its Deployment %s/%s still exists (%d of %d available): Crossplane deletes it when it deactivates the revision", d.Namespace, d.Name, d.Available, d.Replicas)
			}
		}
		return false, why
	}
	if bad, known := revisionHealth(r); !known || bad != nil {
		return false, fmt.Sprintf("%s is active but not healthy", r.Name)
	}
	if !c.hasRuntime() {
		return true, fmt.Sprintf("%s is active and healthy", r.Name)
	}
	d, runs, known := c.runtimeOf(r)
	switch {
	case !known:
		return true, fmt.Sprintf("%s is active and healthy (the input has no Deployments to show its runtime)", r.Name)
	case d == nil:
		return false, fmt.Sprintf("%s is active and healthy but has no runtime Deployment", r.Name)
	case !runs:
		return false, fmt.Sprintf("%s is active but its Deployment %s/%s has no available replica", r.Name, d.Namespace, d.Name)
	}
	return true, fmt.Sprintf("%s is active and healthy, its Deployment %s/%s available (%d of %d)", r.Name, d.Namespace, d.Name, d.Available, d.Replicas)
}

// since is how long ago t was, as "3h" ("" when unknown).
func (c *pkgCase) since(t time.Time) string {
	if t.IsZero() || c.in.Now.IsZero() {
		return ""
	}
	return humanAge(c.in.Now.Sub(t))
}

func (c *pkgCase) ageNote(t time.Time) string {
	if a := c.since(t); a != "" {
		return " for " + a
	}
	return ""
}

// causeSummary names the error causes found so far, for a lifecycle finding
// that is about what they do rather than about why. A message no rule
// knows is a failure too: PackageUnhealthy (added later) quotes it.
func (c *pkgCase) causeSummary() (summary string, codes string) {
	var parts, cs []string
	for _, f := range c.out {
		if f.Severity == findings.Error {
			parts = append(parts, fmt.Sprintf("%s: %s", f.Code, f.Message))
			cs = append(cs, string(f.Code))
		}
	}
	if len(parts) == 0 && len(c.unclassified) > 0 {
		return "no known cause: " + c.unclassified[0].String(), string(findings.PackageUnhealthy)
	}
	return strings.Join(parts, "; "), strings.Join(cs, ", ")
}

func fixCause(codes string) string {
	if codes == "" {
		return "once the new revision says why it fails, fix that"
	}
	return "fix the cause (the fix of " + codes + ")"
}

func (c *pkgCase) patchPackage(ref string) string {
	return fmt.Sprintf(`kubectl patch %s %s --type merge -p '{"spec":{"package":"%s"}}'`, lower(c.pkg.Kind), c.pkg.Name, ref)
}

// upgrade: spec.package changed and the new version is not healthy. Where
// it fails decides what still serves, and that differs between versions:
//   - the package manager makes a revision only once it has resolved
//     spec.package, and sets status.currentRevision and
//     status.currentIdentifier (= spec.package) only then
//     (manager/reconciler.go@v1.14.9..v2.3.4); up to v2.1 resolving is a
//     digest HEAD (manager/revisioner.go@v1.20.0, @v2.1.3), from v2.2 it
//     fetches and parses the package (xpkg.Client Get in
//     manager/reconciler.go@v2.3.4). A failure there leaves the old revision
//     current, active and serving;
//   - once the new revision exists, the package manager sets every other
//     revision Inactive, whatever the activation policy
//     (manager/reconciler.go@v1.14.9..v2.3.4), and deactivating a revision
//     deletes its runtime Deployment (revision/runtime_provider.go@v1.20.0,
//     runtime/runtime_provider.go@v2.3.4 Deactivate) and releases control of
//     its objects: nothing serves until the new revision is healthy.
func (c *pkgCase) upgrade() {
	if c.pkg.Paused || c.pkg.Terminating() {
		return
	}
	if id := c.pkg.CurrentIdentifier; id != "" && id != c.pkg.Package {
		c.upgradeUnresolved(id)
		return
	}
	revs := c.revisions()
	if c.rev == nil || len(revs) < 2 || c.rev.DesiredState != "Active" || revisionHealthy(c.rev) {
		return
	}
	var prev *cluster.Revision
	for _, r := range revs {
		if r.Name != c.rev.Name {
			prev = r
			break
		}
	}
	bad, _ := revisionHealth(c.rev)
	var started time.Time
	if bad != nil {
		started = bad.LastTransitionTime
	}
	cause, codes := c.causeSummary()
	f := findings.Finding{Code: findings.UpgradeStuck, Image: c.rev.Image, Digest: c.row.Digest}
	prevServes, prevWhy := c.serves(prev)
	serving := "nothing serves: Crossplane deactivated " + prev.Name + " (" + prev.Image + ") when it created " + c.rev.Name + ": " + prevWhy
	if prevServes {
		serving = prev.Image + " still serves: " + prevWhy + " (Crossplane deactivates it on its next reconcile of the package)"
	}
	if cause == "" {
		c.explained = true
		f.Severity = c.inFlight(started)
		f.Message = fmt.Sprintf("upgrade of %s %s from %s to %s in progress%s: revision %s has not reported its health yet; %s", c.pkg.Kind, c.pkg.Name, prev.Image, c.rev.Image, c.ageNote(started), c.rev.Name, serving)
	} else {
		f.Message = fmt.Sprintf("upgrade of %s %s from %s to %s is stuck%s: revision %s fails (%s); %s", c.pkg.Kind, c.pkg.Name, prev.Image, c.rev.Image, c.ageNote(started), c.rev.Name, cause, serving)
	}
	f.Evidence = []string{
		c.revisionLine(c.rev) + " (status.currentRevision)",
		c.revisionLine(prev) + " (the revision before it)",
	}
	f.Remediation = fmt.Sprintf("roll back: %s\n  (Crossplane makes %s current and active again: revisionHistoryLimit kept it)\nor roll forward: %s, or set spec.package to a version that works: %s",
		c.patchPackage(prev.Image), prev.Name, fixCause(codes), c.patchPackage("REGISTRY/REPOSITORY:TAG"))
	c.add(f)
}

// upgradeUnresolved: status.currentIdentifier is not spec.package, so the
// package manager has made no revision of spec.package yet; the current
// revision is the old one.
func (c *pkgCase) upgradeUnresolved(old string) {
	inst := c.pkg.Condition("Installed")
	var started time.Time
	if inst != nil && inst.Status != "True" {
		started = inst.LastTransitionTime
	}
	f := findings.Finding{Code: findings.UpgradeStuck, Image: c.source, Digest: c.row.Digest,
		Evidence: []string{fmt.Sprintf("spec.package %s, status.currentIdentifier %s: Crossplane sets currentIdentifier to spec.package once it has made a revision of it", c.pkg.Package, old)}}
	if inst != nil {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s condition Installed=%s (%s)%s", c.pkg.Kind, c.pkg.Name, inst.Status, inst.Reason, c.ageNote(inst.LastTransitionTime)))
	}
	serving := "no revision of " + old + " is left"
	if c.rev != nil {
		f.Evidence = append(f.Evidence, c.revisionLine(c.rev)+" (status.currentRevision)")
		if ok, why := c.serves(c.rev); ok {
			serving = old + " still serves: " + why
		} else {
			serving = "and nothing serves: " + why
		}
	}
	cause, codes := c.causeSummary()
	if cause == "" {
		c.explained = true
		f.Severity = c.inFlight(started)
		f.Message = fmt.Sprintf("upgrade of %s %s from %s to %s in progress%s: Crossplane has not made a revision of %s yet; %s", c.pkg.Kind, c.pkg.Name, old, c.pkg.Package, c.ageNote(started), c.pkg.Package, serving)
	} else {
		f.Message = fmt.Sprintf("upgrade of %s %s from %s to %s is stuck%s before a revision of it exists: Crossplane cannot resolve or unpack it (%s); %s", c.pkg.Kind, c.pkg.Name, old, c.pkg.Package, c.ageNote(started), cause, serving)
	}
	f.Remediation = fmt.Sprintf("roll back: %s\nor roll forward: %s, or set spec.package to a version that works: %s", c.patchPackage(old), fixCause(codes), c.patchPackage("REGISTRY/REPOSITORY:TAG"))
	c.add(f)
}

// inFlight is the severity of a change that has not failed: information
// within the revision deadline, a warning after it.
func (c *pkgCase) inFlight(started time.Time) findings.Severity {
	if !started.IsZero() && !c.in.Now.IsZero() && c.in.Now.Sub(started) < revisionDeadline {
		return findings.Info
	}
	return findings.Warning
}

func (c *pkgCase) revisionLine(r *cluster.Revision) string {
	state := r.DesiredState
	if state == "" {
		state = `""`
	}
	health := "no health condition"
	if bad, known := revisionHealth(r); known && bad == nil {
		health = "healthy"
	} else if bad != nil {
		health = fmt.Sprintf("%s=%s (%s)%s", bad.Type, bad.Status, bad.Reason, c.ageNote(bad.LastTransitionTime))
	}
	return fmt.Sprintf("%s %s: revision %d, image %s, desiredState %s, %s", r.Kind, r.Name, r.Revision, r.Image, state, health)
}

// explainActivation: the package's current revision is not active. With
// revisionActivationPolicy: Manual the package manager leaves a new
// revision's desiredState alone (manager/reconciler.go@v1.14.9..v2.3.4), so
// a new revision waits with desiredState "" until someone activates it.
// Until then its runtime hooks do nothing (revision/runtime_provider.go
// @v1.14.9, @v1.20.0; runtime/runtime_provider.go@v2.3.4 Pre and Post return
// when the revision is not Active: no Deployment, Service or TLS secrets),
// and the establisher creates none of its missing objects, takes control of
// none and injects no webhook CA bundle (revision/establisher.go@v2.3.4
// validate, establish).
func explainActivation(c *pkgCase, g *causeGroup, f *findings.Finding) {
	f.Severity = findings.Warning
	f.Alternatives = nil
	r := c.rev
	if r == nil {
		f.Message = fmt.Sprintf("%s %s is inactive, and the input has none of its revisions", c.pkg.Kind, c.pkg.Name)
		f.Remediation = fmt.Sprintf("find its current revision (status.currentRevision): kubectl get %s %s -o yaml", lower(c.pkg.Kind), c.pkg.Name)
		return
	}
	if r.DesiredState == "Active" {
		// Transient: the package's status is from before the activation.
		f.Severity = findings.Info
		f.Message = fmt.Sprintf("%s %s reports its revision inactive, but %s is now active: Crossplane updates the package on its next reconcile", c.pkg.Kind, c.pkg.Name, r.Name)
		f.Remediation = "nothing to do"
		return
	}
	c.explained = true
	state := r.DesiredState
	if state == "" {
		state = `""`
	}
	manual := c.pkg.RevisionActivationPolicy == "Manual"
	if !manual {
		f.Severity = c.inFlight(conditionTime(c.pkg.Condition("Installed")))
		f.Message = fmt.Sprintf("%s %s's current revision %s is not active (desiredState %s) with revisionActivationPolicy Automatic: Crossplane activates it on its next reconcile of the package", c.pkg.Kind, c.pkg.Name, r.Name, state)
		f.Remediation = fmt.Sprintf("if it stays inactive, Crossplane's log says why: kubectl -n %s logs deploy/crossplane | grep %s", c.s.CrossplaneNamespace, c.pkg.Name)
		return
	}
	blocks := "Crossplane runs nothing of it: no runtime Deployment, Service or TLS secrets, "
	if !c.hasRuntime() {
		blocks = "Crossplane "
	}
	blocks += "creates none of its objects that do not exist yet (CRDs), takes control of none that do, and injects no webhook CA bundle"
	if c.group(findings.WebhookTLSNotReady) != nil {
		blocks += " (the missing webhook TLS secret WebhookTLSNotReady reports is one of these)"
	}
	f.Message = fmt.Sprintf("revision %s (%s) of %s %s waits for manual activation%s (revisionActivationPolicy: Manual, desiredState %s): until it is active, %s",
		r.Name, r.Image, c.pkg.Kind, c.pkg.Name, c.ageNote(conditionTime(c.pkg.Condition("Installed"))), state, blocks)
	for _, o := range c.revisions() {
		if o.Name == r.Name {
			continue
		}
		ok, why := c.serves(o)
		if ok {
			f.Message += fmt.Sprintf("; %s (%s) still serves", o.Name, o.Image)
		} else {
			f.Message += fmt.Sprintf("; nothing serves: Crossplane deactivates every revision but the current one whatever the activation policy, and %s", why)
		}
		f.Evidence = append(f.Evidence, c.revisionLine(o))
		break
	}
	f.Evidence = append([]string{c.revisionLine(r) + " (status.currentRevision)"}, f.Evidence...)
	f.Remediation = fmt.Sprintf("activate it when it should take over:\n  kubectl patch %srevision %s --type merge -p '{\"spec\":{\"desiredState\":\"Active\"}}'\n(only the current revision can be activated: Crossplane sets every other one Inactive again)", lower(c.pkg.Kind), r.Name)
}

func conditionTime(cd *cluster.Condition) time.Time {
	if cd == nil {
		return time.Time{}
	}
	return cd.LastTransitionTime
}

// activation: a Manual package whose current revision is not active says
// so in its Installed condition ("Package is inactive"); when the input has
// not got that message, desiredState alone says it.
func (c *pkgCase) activation() {
	if c.pkg.RevisionActivationPolicy != "Manual" || c.rev == nil || c.rev.DesiredState == "Active" || hasAny(c.out, findings.RevisionAwaitingActivation) || c.pkg.Terminating() {
		return
	}
	f := findings.Finding{Code: findings.RevisionAwaitingActivation, Image: c.rev.Image}
	explainActivation(c, &causeGroup{code: findings.RevisionAwaitingActivation}, &f)
	c.add(f)
}

// explainPaused: the package or its current revision carries
// crossplane.io/paused: "true". Its reconciler returns before doing
// anything, deletion included (manager/reconciler.go,
// revision/reconciler.go@v1.14.9..v2.3.4 meta.IsPaused); the package
// manager only writes Synced=False ReconcilePaused.
func explainPaused(c *pkgCase, g *causeGroup, f *findings.Finding) {
	f.Severity = findings.Warning
	f.Alternatives = nil
	obj := fmt.Sprintf("%s %s", c.pkg.Kind, c.pkg.Name)
	what := "Crossplane does not reconcile it, not even to delete it: nothing about the package changes until it is unpaused (its revisions keep running as they are)"
	fix := fmt.Sprintf("unpause it when Crossplane should act again:\n  kubectl annotate %s %s %s-", lower(c.pkg.Kind), c.pkg.Name, cluster.AnnotationPaused)
	if !c.pkg.Paused && c.rev != nil && c.rev.Paused {
		obj = fmt.Sprintf("%s %s (the current revision of %s %s)", c.rev.Kind, c.rev.Name, c.pkg.Kind, c.pkg.Name)
		what = "Crossplane does not reconcile the revision, not even to delete it: its objects, runtime and health stay as they are until it is unpaused"
		fix = fmt.Sprintf("unpause it when Crossplane should act again:\n  kubectl annotate %srevision %s %s-", lower(c.pkg.Kind), c.rev.Name, cluster.AnnotationPaused)
	} else if !c.pkg.Paused {
		// The condition without the annotation: unpaused, and Crossplane has
		// not reconciled since (it clears the condition when it does).
		f.Severity = findings.Info
		f.Message = fmt.Sprintf("%s %s was paused and the annotation is gone: Crossplane clears Synced=False (ReconcilePaused) on its next reconcile", c.pkg.Kind, c.pkg.Name)
		f.Remediation = "nothing to do"
		return
	}
	c.paused = true
	sync := c.pkg.Condition("Synced")
	if c.rev != nil && !c.pkg.Paused {
		sync = c.rev.Condition("Synced")
	}
	f.Message = fmt.Sprintf("%s is paused (%s: \"true\")%s: %s; its other conditions and events are from before the pause and are not current", obj, cluster.AnnotationPaused, c.ageNote(conditionTime(sync)), what)
	ev := []string{fmt.Sprintf("%s carries the annotation %s: \"true\"", obj, cluster.AnnotationPaused)}
	switch {
	case sync == nil || sync.Reason != "ReconcilePaused":
		ev = append(ev, "no Synced=False (ReconcilePaused) condition yet: Crossplane has not reconciled it since the annotation was set")
	case len(f.Evidence) == 0:
		ev = append(ev, fmt.Sprintf("condition Synced=%s (ReconcilePaused)%s", sync.Status, c.ageNote(sync.LastTransitionTime)))
	}
	if id := c.pkg.CurrentIdentifier; c.pkg.Paused && id != "" && id != c.pkg.Package {
		f.Message += fmt.Sprintf("; spec.package was changed to %s while paused (Crossplane last installed %s): it installs it only when unpaused", c.pkg.Package, id)
	}
	f.Evidence = append(ev, f.Evidence...)
	f.Remediation = fix
}

// pause: a paused package's errors were recorded before the pause and
// nothing re-checks them: they are kept, as not current information, under
// the pause. The registry verdicts that follow are read now and stay.
func (c *pkgCase) pause() {
	if !c.pkg.Paused && (c.rev == nil || !c.rev.Paused) && !c.paused {
		return
	}
	if !hasAny(c.out, findings.PackagePaused) {
		f := findings.Finding{Code: findings.PackagePaused}
		explainPaused(c, &causeGroup{code: findings.PackagePaused}, &f)
		c.add(f)
	}
	if !c.paused {
		return
	}
	for i := range c.out {
		f := &c.out[i]
		if f.Code == findings.PackagePaused || f.Severity == findings.Info {
			continue
		}
		f.Severity = findings.Info
		f.Message = "not current (recorded before the pause, and not re-checked until the package is unpaused): " + f.Message
	}
}

// finalizerHolder says who removes a finalizer and what usually keeps it.
type finalizerHolder struct {
	remover, holds, source string
}

// finalizers are the finalizers a package or revision carries, with who
// removes each. Crossplane's packages themselves get none; their revisions
// get revision.pkg.crossplane.io.
var finalizers = map[string]finalizerHolder{
	"revision.pkg.crossplane.io": {
		remover: "Crossplane's revision reconciler removes it after taking the revision out of the Lock (v1.x also deletes its package cache file)",
		holds:   "Crossplane is not running, the revision is paused (crossplane.io/paused: deletion is paused too), or the Lock cannot be updated (a Warning event \"cannot remove package revision from Lock\" on the revision)",
		source:  "internal/controller/pkg/revision/reconciler.go@v1.14.9..v2.3.4 finalizer, WasDeleted",
	},
	"foregroundDeletion": {
		remover: "Kubernetes' garbage collector removes it once every dependent whose owner reference blocks owner deletion is gone",
		holds:   "a dependent that is not deleted: a package waits for its revisions (Crossplane marks them blockOwnerDeletion), a revision for the CRDs it controls, and a CRD for its custom resources, whose finalizers need the provider's controller",
		source:  "k8s.io/apimachinery pkg/apis/meta/v1/types.go FinalizerDeleteDependents; manager/reconciler.go@v1.20.0, @v2.3.4 BlockOwnerDeletion; crossplane-runtime meta.AsController",
	},
	"orphan": {
		remover: "Kubernetes' garbage collector removes it after taking the object out of its dependents' owner references (kubectl delete --cascade=orphan)",
		holds:   "the garbage collector (kube-controller-manager) is not running",
		source:  "k8s.io/apimachinery pkg/apis/meta/v1/types.go FinalizerOrphanDependents",
	},
}

// terminating: the package or one of its revisions has a deletionTimestamp
// and finalizers that keep it.
func (c *pkgCase) terminating() {
	if c.pkg.Terminating() {
		c.add(c.terminationFinding(c.pkg.Kind, c.pkg.Name, c.pkg.Lifecycle, c.pkg.Paused))
	}
	for _, r := range c.revisions() {
		if r.Terminating() {
			c.add(c.terminationFinding(r.Kind, r.Name, r.Lifecycle, r.Paused))
		}
	}
}

func (c *pkgCase) terminationFinding(kind, name string, l cluster.Lifecycle, paused bool) findings.Finding {
	f := findings.Finding{Code: findings.PackageTerminating, Severity: findings.Error}
	age := c.since(l.Deleted)
	if !l.Deleted.IsZero() && !c.in.Now.IsZero() && c.in.Now.Sub(l.Deleted) < revisionDeadline {
		f.Severity = findings.Info
	}
	held := "no finalizer (it is about to go)"
	if len(l.Finalizers) > 0 {
		held = "held by finalizer " + strings.Join(l.Finalizers, ", ")
	}
	f.Message = fmt.Sprintf("%s %s is being deleted", kind, name)
	if age != "" {
		f.Message += " for " + age
	}
	f.Message += ", " + held
	f.Evidence = []string{fmt.Sprintf("%s %s metadata.deletionTimestamp %s", kind, name, l.Deleted.Format(time.RFC3339))}
	var fixes []string
	res := lower(kind)
	for _, fin := range l.Finalizers {
		h, ok := finalizers[fin]
		if !ok {
			f.Evidence = append(f.Evidence, fmt.Sprintf("finalizer %s: neither Crossplane nor Kubernetes' garbage collector sets it: the controller that added it must remove it", fin))
			fixes = append(fixes, fmt.Sprintf("find who added %s (kubectl get %s %s --show-managed-fields -o yaml) and make it finish", fin, res, name))
			continue
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("finalizer %s: %s; it stays when %s (%s)", fin, h.remover, h.holds, h.source))
		switch fin {
		case "revision.pkg.crossplane.io":
			if paused {
				f.Message += "; the revision is paused, so Crossplane will not finish its deletion"
				fixes = append(fixes, fmt.Sprintf("unpause it: kubectl annotate %s %s %s-", res, name, cluster.AnnotationPaused))
			}
			for _, e := range c.s.EventsFor(kind, name) {
				if e.Type == "Warning" {
					f.Evidence = append(f.Evidence, eventWhere(e, c.in.Now)+": "+e.Message)
				}
			}
			fixes = append(fixes, fmt.Sprintf("check that Crossplane runs and what it says: kubectl -n %s get pods -l app=crossplane; kubectl -n %s logs deploy/crossplane | grep %s\nonly when Crossplane is gone for good: kubectl patch %s %s --type merge -p '{\"metadata\":{\"finalizers\":null}}' and remove %s from the Lock (kubectl edit lock lock)",
				c.s.CrossplaneNamespace, c.s.CrossplaneNamespace, name, res, name, name))
		case "foregroundDeletion":
			if kind == c.pkg.Kind {
				var left []string
				for _, r := range c.revisions() {
					l := r.Name
					if r.Terminating() {
						l += " (itself being deleted, held by " + strings.Join(r.Finalizers, ", ") + ")"
					}
					left = append(left, l)
				}
				if len(left) > 0 {
					f.Message += "; it waits for its revisions " + strings.Join(left, ", ")
				}
			}
			fixes = append(fixes, fmt.Sprintf("find the dependents it waits for (objects whose ownerReferences name %s with blockOwnerDeletion), and why they stay", name))
		case "orphan":
			fixes = append(fixes, "check that the cluster's garbage collector runs (kube-controller-manager)")
		}
	}
	if f.Severity == findings.Info {
		f.Message += " (within the time Crossplane needs to finish a deletion)"
	}
	f.Remediation = strings.Join(fixes, "\n")
	if f.Remediation == "" {
		f.Remediation = "nothing holds it: it goes once the API server finishes the deletion"
	}
	return f
}

// history: Crossplane keeps revisionHistoryLimit inactive revisions (1 by
// default, 0 keeps all: apis/pkg/v1/package_types.go@v2.3.4) and deletes the
// oldest one per reconcile of the package while there are more
// (manager/reconciler.go@v1.14.9..v2.3.4: len(revisions) > limit+1). More
// than that left over means the package is not reconciled (paused), or a
// deletion does not finish, or the garbage collection fails.
func (c *pkgCase) history() {
	limit := int64(1)
	if c.pkg.RevisionHistoryLimit != nil {
		limit = *c.pkg.RevisionHistoryLimit
	}
	revs := c.revisions()
	if limit <= 0 || int64(len(revs)) <= limit+1 {
		return
	}
	var inactive []string
	var ev []string
	for _, r := range revs {
		if r.DesiredState != "Active" && (c.rev == nil || r.Name != c.rev.Name) {
			inactive = append(inactive, r.Name)
			ev = append(ev, c.revisionLine(r))
		}
	}
	if int64(len(inactive)) <= limit {
		return
	}
	why := fmt.Sprintf("Crossplane deletes the oldest one on each reconcile of the package; if they stay, its log says why (kubectl -n %s logs deploy/crossplane | grep %s)", c.s.CrossplaneNamespace, c.pkg.Name)
	switch {
	case c.pkg.Paused:
		why = "the package is paused, and Crossplane collects old revisions only when it reconciles the package"
	case slices.ContainsFunc(revs, func(r *cluster.Revision) bool { return r.Terminating() }):
		why = "a revision's deletion does not finish (see PackageTerminating)"
	}
	for _, e := range c.s.EventsFor(c.pkg.Kind, c.pkg.Name) {
		if e.Type == "Warning" && strings.Contains(e.Message, "cannot garbage collect old package revision") {
			ev = append(ev, eventWhere(e, c.in.Now)+": "+e.Message)
			why = "Crossplane fails to delete them (the event says why)"
		}
	}
	oldest := inactive[limit:] // highest revision first: the oldest are last
	c.add(findings.Finding{Code: findings.RevisionHistoryExceeded, Severity: findings.Warning,
		Message:     fmt.Sprintf("%s %s has %d inactive revisions and revisionHistoryLimit %d: %s", c.pkg.Kind, c.pkg.Name, len(inactive), limit, why),
		Evidence:    ev,
		Remediation: fmt.Sprintf("delete the oldest ones (the package also owns what they installed, so their objects stay):\n  kubectl delete %srevision %s", lower(c.pkg.Kind), strings.Join(oldest, " "))})
}

// imageConfigRewrite: status.resolvedPackage differs from spec.package
// because an ImageConfig rewrote it (v1.20+: manager/reconciler.go@v1.20.0
// RewritePath, appliedImageConfigRefs reason RewriteImage). That is not a
// defect: Crossplane pulls the rewritten reference, which is the one
// xpdoctor judges (Package.Source).
func (c *pkgCase) imageConfigRewrite() {
	if c.source == "" || c.source == c.pkg.Package {
		return
	}
	name := ""
	if !c.pkg.ResolvedStale() {
		for _, a := range c.pkg.AppliedImageConfigs {
			if n, ok := strings.CutSuffix(a, " (RewriteImage)"); ok {
				name = n
			}
		}
	}
	now, nowName := c.s.RewriteImage(c.pkg.Package)
	if name == "" {
		name = nowName
	}
	f := findings.Finding{Code: findings.ImageConfigRewritten, Severity: findings.Info, Image: c.source, Digest: c.row.Digest,
		Remediation: "nothing to fix: the rewritten image is the one Crossplane pulls and the one judged"}
	if c.pkg.ResolvedPackage == c.source {
		f.Evidence = append(f.Evidence, fmt.Sprintf("spec.package %s, status.resolvedPackage %s", c.pkg.Package, c.pkg.ResolvedPackage))
	} else if c.pkg.ResolvedPackage != "" {
		f.Evidence = append(f.Evidence, fmt.Sprintf("status.resolvedPackage %s is from before spec.package changed (status.currentIdentifier %s): Crossplane pulls %s", c.pkg.ResolvedPackage, c.pkg.CurrentIdentifier, c.source))
	}
	if name == "" {
		f.Message = fmt.Sprintf("Crossplane pulls %s for spec.package %s: an ImageConfig rewrote it, and none in the input names itself in status.appliedImageConfigRefs or matches it now", c.source, c.pkg.Package)
	} else {
		f.Message = fmt.Sprintf("ImageConfig %s rewrites spec.package %s to %s, which Crossplane pulls", name, c.pkg.Package, c.source)
		for _, ic := range c.s.ImageConfigs {
			if ic.Name == name {
				f.Evidence = append(f.Evidence, fmt.Sprintf("ImageConfig %s: matchImages %s, rewriteImage.prefix %s", ic.Name, strings.Join(ic.Prefixes, ", "), ic.RewritePrefix))
			}
		}
	}
	if nowName != "" && now != c.source {
		f.Evidence = append(f.Evidence, fmt.Sprintf("the ImageConfigs now rewrite it to %s (ImageConfig %s): Crossplane resolves it again on its next reconcile of the package", now, nowName))
	}
	if c.img != nil {
		f.Message += "; xpdoctor judged that image"
		f.Evidence = append(f.Evidence, fmt.Sprintf("xpdoctor inspected %s", c.img.Reference))
	}
	c.add(f)
}

// dependencyCounts: the revision's status counts what the dependency
// manager found (revision/dependency.go@v1.14.9..v2.3.4 Resolve,
// SetDependencyStatus): they back a dependency finding, and name a
// dependency problem when no message in the input does.
func (c *pkgCase) dependencyCounts() {
	if c.rev == nil || c.rev.Dependencies == nil || c.healthy() {
		return
	}
	d := *c.rev.Dependencies
	if d.Missing() == 0 && d.Invalid == 0 {
		return
	}
	line := fmt.Sprintf("%s %s status: foundDependencies %d, installedDependencies %d, invalidDependencies %d", c.rev.Kind, c.rev.Name, d.Found, d.Installed, d.Invalid)
	var says []string
	if d.Missing() > 0 {
		says = append(says, fmt.Sprintf("%d of %d not installed", d.Missing(), d.Found))
	}
	if d.Invalid > 0 {
		says = append(says, fmt.Sprintf("%d installed at a version their constraint excludes", d.Invalid))
	}
	line += ": " + strings.Join(says, ", ")
	dep := append([]findings.Code{findings.DependencyUnresolvable}, dependencyFamily...)
	found := false
	for i := range c.out {
		if slices.Contains(dep, c.out[i].Code) {
			c.out[i].Evidence = append(c.out[i].Evidence, line)
			found = true
		}
	}
	if found || hasSeverity(c.out, findings.Error) {
		return
	}
	code := findings.DependencyUnresolvable
	msg := fmt.Sprintf("%s counts %d of its %d dependencies as not installed, and no message in the input says which", c.rev.Name, d.Missing(), d.Found)
	if d.Missing() == 0 {
		code = findings.DependencyVersionConflict
		msg = fmt.Sprintf("%s counts %d installed dependencies at a version their constraint excludes, and no message in the input says which", c.rev.Name, d.Invalid)
	}
	c.add(findings.Finding{Code: code, Image: c.rev.Image, Message: msg, Evidence: []string{line},
		Remediation: fmt.Sprintf("see which: the Lock (kubectl get lock lock -o yaml) against the package's dependsOn (kubectl xpdoctor inspect %s), and the revision's events (kubectl get events -A --field-selector involvedObject.name=%s)", orRef(c.source), c.rev.Name)})
}

// explainStaleOwner: the package manager cannot apply a revision that
// another controller owns (crossplane-runtime pkg/resource/resource.go
// @v1.20.0 MustBeControllableBy: "existing object is not controlled by UID",
// through manager/reconciler.go errApplyPackageRevision and
// errUpdateInactivePackageRevision). A revision of this package's name is
// controlled by a package of the same name that no longer exists: the
// package was deleted and created again before the garbage collector
// removed the old revision.
func explainStaleOwner(c *pkgCase, g *causeGroup, f *findings.Finding) {
	stale := c.staleRevisions()
	if len(stale) == 0 {
		f.Message = fmt.Sprintf("a revision of %s %s is controlled by another object than this package (UID %s), so Crossplane will not change it", c.pkg.Kind, c.pkg.Name, orUnknown(c.pkg.UID))
		f.Remediation = fmt.Sprintf("find it: kubectl get %srevisions -l %s=%s -o yaml (metadata.ownerReferences)", lower(c.pkg.Kind), cluster.LabelParent, c.pkg.Name)
		return
	}
	r := stale[0]
	o := r.Controller()
	f.Image = r.Image
	f.Message = fmt.Sprintf("revision %s is controlled by a previous %s %s (UID %s), not by this one (UID %s): the package was deleted and created again while the old revision stayed, and Crossplane will not take over a revision another object controls",
		r.Name, o.Kind, o.Name, o.UID, orUnknown(c.pkg.UID))
	f.Evidence = append(f.Evidence, c.revisionLine(r)+fmt.Sprintf(", controller ownerReference %s %s UID %s", o.Kind, o.Name, o.UID))
	f.Remediation = fmt.Sprintf("let this package adopt it (Crossplane takes over a revision without a controller; nothing it installed is touched):\n  kubectl patch %srevision %s --type json -p '[{\"op\":\"remove\",\"path\":\"/metadata/ownerReferences\"}]'", lower(c.pkg.Kind), r.Name)
}

// staleRevisions are the package's revisions (by label) whose controller is
// a package of its kind and name with another UID.
func (c *pkgCase) staleRevisions() []*cluster.Revision {
	var out []*cluster.Revision
	if c.pkg.UID == "" {
		return nil
	}
	for _, r := range c.revisions() {
		if o := r.Controller(); o != nil && o.Kind == c.pkg.Kind && o.Name == c.pkg.Name && o.UID != "" && o.UID != c.pkg.UID {
			out = append(out, r)
		}
	}
	return out
}

// staleOwners: the snapshot shows a stale controller even when no message
// about it is in the input. It blocks the package when the revision is the
// current or an active one (the package manager applies those); an
// inactive one is only left behind.
func (c *pkgCase) staleOwners() {
	if hasAny(c.out, findings.RevisionOrphaned) {
		return
	}
	for _, r := range c.staleRevisions() {
		f := findings.Finding{Code: findings.RevisionOrphaned, Severity: findings.Warning}
		explainStaleOwner(c, &causeGroup{code: findings.RevisionOrphaned}, &f)
		if r.DesiredState == "Active" || c.rev != nil && r.Name == c.rev.Name {
			f.Severity = findings.Error
		}
		c.add(f)
		return
	}
}

// orphanFindings are the revisions that belong to no package: their label
// pkg.crossplane.io/package names no package of their kind, and no package
// has the UID their controller reference names. Kubernetes' garbage
// collector deletes a revision whose owner is gone; one is left when it was
// orphaned (kubectl delete --cascade=orphan strips the owner reference) or
// the garbage collector does not run. In a dump, only kinds of which the
// dump has packages are judged: a dump without them says nothing.
func orphanFindings(in Input) []findings.Finding {
	s := in.Snapshot
	var out []findings.Finding
	byKind := map[string][]cluster.Package{}
	for _, p := range s.Packages {
		byKind[p.Kind] = append(byKind[p.Kind], p)
	}
	read := func(kind string) bool {
		if s.FromDump {
			return len(byKind[kind]) > 0
		}
		for _, d := range s.Denied {
			if d.Resource == strings.ToLower(kind)+"s" {
				return false
			}
		}
		return true
	}
	for _, r := range s.Revisions {
		kind := strings.TrimSuffix(r.Kind, "Revision")
		if !read(kind) || !in.Select.selectsRevision(kind, r) {
			continue
		}
		labelled, owned := false, false
		for _, p := range byKind[kind] {
			labelled = labelled || p.Name == r.Parent
			for _, o := range r.Owners {
				owned = owned || o.Kind == kind && o.Name == p.Name && (o.UID == "" || p.UID == "" || o.UID == p.UID)
			}
		}
		if labelled || owned {
			continue
		}
		f := findings.Finding{Code: findings.RevisionOrphaned, Severity: findings.Warning, Subject: findings.Subject{Kind: r.Kind, Name: r.Name}, Image: r.Image}
		label := fmt.Sprintf("its label %s names %s, which does not exist", cluster.LabelParent, orUnknown(r.Parent))
		if r.Parent == "" {
			label = "it has no label " + cluster.LabelParent
		}
		owner := "it has no owner reference (it was orphaned: kubectl delete --cascade=orphan of its package)"
		if o := r.Controller(); o != nil {
			owner = fmt.Sprintf("its controller %s %s (UID %s) does not exist either (Kubernetes' garbage collector deletes such a revision; it stays when the collector does not run)", o.Kind, o.Name, orUnknown(o.UID))
		}
		state := r.DesiredState
		if state == "" {
			state = `""`
		}
		f.Message = fmt.Sprintf("%s %s (%s, desiredState %s) belongs to no %s: %s, and %s", r.Kind, r.Name, r.Image, state, kind, label, owner)
		if r.DesiredState == "Active" && r.Objects > 0 {
			f.Message += fmt.Sprintf("; it still controls the %d object(s) it installed, so a package that installs them under another name fails with OwnershipConflict", r.Objects)
		}
		if r.Terminating() {
			f.Message += "; it is being deleted, held by " + strings.Join(r.Finalizers, ", ")
		}
		f.Evidence = []string{fmt.Sprintf("%s %s: label %s=%q, ownerReferences %s, %d object(s) in status.objectRefs", r.Kind, r.Name, cluster.LabelParent, r.Parent, ownersLine(r.Owners), r.Objects)}
		res := strings.ToLower(r.Kind)
		f.Remediation = fmt.Sprintf("install its package again to adopt it (a %s named %s with spec.package %s: Crossplane takes over a revision of that label without a controller), or delete it:\n  kubectl delete %s %s", kind, orUnknown(r.Parent), r.Image, res, r.Name)
		if r.Objects > 0 {
			f.Remediation += " --cascade=orphan\n(--cascade=orphan keeps the CRDs it installed: a plain delete lets the garbage collector delete them, and with them every custom resource of their kinds)"
		}
		out = append(out, f)
	}
	return out
}

func ownersLine(os []cluster.Owner) string {
	if len(os) == 0 {
		return "none"
	}
	parts := make([]string, len(os))
	for i, o := range os {
		parts[i] = fmt.Sprintf("%s %s (UID %s, controller %v)", o.Kind, o.Name, orUnknown(o.UID), o.Controller)
	}
	return strings.Join(parts, ", ")
}

// selectsRevision: an orphaned revision is shown for its kind, and for
// the names of itself and the package its label names.
func (s Selector) selectsRevision(kind string, r cluster.Revision) bool {
	if !s.selectsKind(kind) {
		return false
	}
	return len(s.Names) == 0 || slices.Contains(s.Names, r.Name) || slices.Contains(s.Names, r.Parent)
}

// unhealthySince is when the package entered the state it is in, for a
// package that is not healthy: the earliest lastTransitionTime of its
// Installed, Healthy and Synced conditions that are not True (Crossplane
// sets lastTransitionTime when a condition's status, reason or message
// changes: crossplane-runtime apis/common/v1/condition.go@v1.20.0
// SetConditions).
func unhealthySince(p cluster.Package) time.Time {
	if p.Healthy() {
		return time.Time{}
	}
	var t time.Time
	for _, typ := range []string{"Installed", "Healthy", "Synced"} {
		cd := p.Condition(typ)
		if cd == nil || cd.Status == "True" || cd.LastTransitionTime.IsZero() {
			continue
		}
		if t.IsZero() || cd.LastTransitionTime.Before(t) {
			t = cd.LastTransitionTime
		}
	}
	return t
}
