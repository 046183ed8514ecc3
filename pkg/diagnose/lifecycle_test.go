package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

var lifeNow = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return lifeNow.Add(-d) }

func cond(typ, status, reason, msg string, at time.Time) cluster.Condition {
	return cluster.Condition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: at}
}

func rev(name, parent, image, state string, n int64, conds ...cluster.Condition) cluster.Revision {
	return cluster.Revision{Kind: "ProviderRevision", Name: name, Parent: parent, Image: image, DesiredState: state, Revision: n, Conditions: conds}
}

func available(revision string) cluster.Deployment {
	return cluster.Deployment{Namespace: "crossplane-system", Name: revision + "-x", Revision: revision, Replicas: 1, Available: 1}
}

// lifecycle runs Diagnose as of lifeNow on v2.3.4 and returns the findings
// by code and the rows by name.
func lifecycle(t *testing.T, s *cluster.Snapshot, version string) (map[findings.Code][]findings.Finding, map[string]PackageRow) {
	t.Helper()
	if s.CrossplaneNamespace == "" {
		s.CrossplaneNamespace = "crossplane-system"
	}
	if version == "" {
		version = "v2.3.4"
	}
	rep := Diagnose(Input{Snapshot: s, Targets: target(t, version), VersionKnown: true, Now: lifeNow})
	by := map[findings.Code][]findings.Finding{}
	for _, f := range rep.Findings {
		by[f.Code] = append(by[f.Code], f)
	}
	rows := map[string]PackageRow{}
	for _, r := range rep.Packages {
		rows[r.Name] = r
	}
	return by, rows
}

func has(t *testing.T, what, text string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(text, s) {
			t.Errorf("%s lacks %q:\n%s", what, s, text)
		}
	}
}

func one(t *testing.T, by map[findings.Code][]findings.Finding, code findings.Code, sev findings.Severity) findings.Finding {
	t.Helper()
	fs := by[code]
	if len(fs) != 1 {
		t.Fatalf("%d %s findings, want 1: %+v", len(fs), code, by)
	}
	if fs[0].Severity != sev {
		t.Errorf("%s is %s, want %s: %s", code, fs[0].Severity, sev, fs[0].Message)
	}
	return fs[0]
}

// Up to v2.1 the package manager only resolves the new tag's digest, so it
// makes the new revision, deactivates the old one (deleting its
// Deployment), and the new one fails to parse: nothing serves. The cause is
// the classifier's, not repeated.
func TestUpgradeStuckNothingServes(t *testing.T) {
	// imageback.go@v2.1.3 errFmtNoPackageFileFound, wrapped by revision/reconciler.go errInitParserBackend.
	msg := `cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: false): EOF`
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v2", CurrentRevision: "p-222222222222", CurrentIdentifier: "r.io/p:v2",
			Conditions: []cluster.Condition{cond("Installed", "True", "ActivePackageRevision", "", ago(2*time.Hour)), cond("Healthy", "False", "UnhealthyPackageRevision", msg, ago(time.Hour))}}},
		Revisions: []cluster.Revision{
			rev("p-111111111111", "p", "r.io/p:v1", "Inactive", 1, cond("Healthy", "True", "HealthyPackageRevision", "", ago(5*time.Hour))),
			rev("p-222222222222", "p", "r.io/p:v2", "Active", 2, cond("Healthy", "False", "UnhealthyPackageRevision", msg, ago(time.Hour))),
		},
	}
	by, rows := lifecycle(t, s, "v1.20.0")
	f := one(t, by, findings.UpgradeStuck, findings.Error)
	has(t, "message", f.Message, "from r.io/p:v1 to r.io/p:v2 is stuck for 1h", "revision p-222222222222 fails (PackageYAMLNotFound:",
		"nothing serves: Crossplane deactivated p-111111111111 (r.io/p:v1)", "has no runtime Deployment")
	has(t, "fix", f.Remediation, `kubectl patch provider p --type merge -p '{"spec":{"package":"r.io/p:v1"}}'`, "roll forward")
	one(t, by, findings.PackageYAMLNotFound, findings.Error)
	if rows["p"].Finding != findings.PackageYAMLNotFound {
		t.Errorf("row names %s, want the cause", rows["p"].Finding)
	}
	if rows["p"].UnhealthyFor != "1h" || !rows["p"].UnhealthySince.Equal(ago(time.Hour)) {
		t.Errorf("row since %v / %q, want the Healthy condition's 1h", rows["p"].UnhealthySince, rows["p"].UnhealthyFor)
	}
}

// From v2.2 the package manager fetches and parses the new package before
// it makes a revision: a failure leaves the old revision current, active
// and serving, and currentIdentifier at the old source.
func TestUpgradeStuckOldServes(t *testing.T) {
	// manager/reconciler.go@v2.3.4 errUnpack; crossplane-runtime pkg/xpkg/client.go@v2.3.3.
	msg := "cannot unpack package: cannot extract package content from r.io/p:v2: package.yaml not found in package"
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v2", CurrentRevision: "p-111111111111", CurrentIdentifier: "r.io/p:v1",
			Conditions: []cluster.Condition{cond("Installed", "False", "UnpackingPackage", msg, ago(10*time.Minute)), cond("Healthy", "False", "UnhealthyPackageRevision", msg, ago(10*time.Minute))}}},
		Revisions: []cluster.Revision{rev("p-111111111111", "p", "r.io/p:v1", "Active", 1,
			cond("RevisionHealthy", "True", "HealthyPackageRevision", "", ago(5*time.Hour)), cond("RuntimeHealthy", "True", "HealthyPackageRevision", "", ago(5*time.Hour)))},
		Deployments: []cluster.Deployment{available("p-111111111111")},
	}
	by, _ := lifecycle(t, s, "")
	f := one(t, by, findings.UpgradeStuck, findings.Error)
	has(t, "message", f.Message, "from r.io/p:v1 to r.io/p:v2 is stuck for 10m before a revision of it exists", "PackageYAMLNotFound",
		"r.io/p:v1 still serves: p-111111111111 is active and healthy, its Deployment crossplane-system/p-111111111111-x available (1 of 1)")
	has(t, "evidence", strings.Join(f.Evidence, "\n"), "spec.package r.io/p:v2, status.currentIdentifier r.io/p:v1")
	has(t, "fix", f.Remediation, `{"spec":{"package":"r.io/p:v1"}}`)

	// The same, with the old runtime gone: the statement follows the cluster.
	s.Deployments = nil
	s.CrossplaneImage = "xpkg.crossplane.io/crossplane/crossplane:v2.3.4"
	by, _ = lifecycle(t, s, "")
	has(t, "message", by[findings.UpgradeStuck][0].Message, "and nothing serves: p-111111111111 is active and healthy but has no runtime Deployment")
}

// A new revision that has not reported yet is an upgrade in progress:
// information within the revision deadline, a warning after it; never
// PackageUnhealthy.
func TestUpgradeInProgress(t *testing.T) {
	for _, tc := range []struct {
		age  time.Duration
		want findings.Severity
	}{{time.Minute, findings.Info}, {20 * time.Minute, findings.Warning}} {
		s := &cluster.Snapshot{
			Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v2", CurrentRevision: "p-222222222222", CurrentIdentifier: "r.io/p:v2",
				Conditions: []cluster.Condition{cond("Installed", "True", "ActivePackageRevision", "", ago(tc.age)), cond("Healthy", "Unknown", "UnknownPackageRevisionHealth", "", ago(tc.age))}}},
			Revisions: []cluster.Revision{
				rev("p-111111111111", "p", "r.io/p:v1", "Inactive", 1, cond("Healthy", "True", "", "", ago(5*time.Hour))),
				rev("p-222222222222", "p", "r.io/p:v2", "Active", 2, cond("Healthy", "Unknown", "", "", ago(tc.age))),
			},
		}
		by, _ := lifecycle(t, s, "v1.20.0")
		f := one(t, by, findings.UpgradeStuck, tc.want)
		has(t, "message", f.Message, "in progress", "has not reported its health yet")
		if len(by[findings.PackageUnhealthy]) > 0 {
			t.Errorf("an upgrade in progress is not an unknown failure: %+v", by)
		}
	}
}

// revisionActivationPolicy: Manual: the new revision waits with
// desiredState "", the package says "Package is inactive"; the previous
// revision was deactivated anyway. The fix activates the current revision.
func TestRevisionAwaitingActivation(t *testing.T) {
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v2", CurrentRevision: "p-222222222222", CurrentIdentifier: "r.io/p:v2", RevisionActivationPolicy: "Manual",
			Conditions: []cluster.Condition{cond("Installed", "False", "InactivePackageRevision", inactiveMessage, ago(30*time.Minute)), cond("Healthy", "True", "HealthyPackageRevision", "", ago(time.Hour))}}},
		Revisions: []cluster.Revision{
			rev("p-111111111111", "p", "r.io/p:v1", "Inactive", 1, cond("RevisionHealthy", "True", "", "", ago(5*time.Hour))),
			rev("p-222222222222", "p", "r.io/p:v2", "", 2, cond("RevisionHealthy", "True", "", "", ago(30*time.Minute))),
		},
		CrossplaneImage: "xpkg.crossplane.io/crossplane/crossplane:v2.3.4",
	}
	by, rows := lifecycle(t, s, "")
	f := one(t, by, findings.RevisionAwaitingActivation, findings.Warning)
	has(t, "message", f.Message, "revision p-222222222222 (r.io/p:v2) of Provider p waits for manual activation for 30m", `desiredState ""`,
		"no runtime Deployment, Service or TLS secrets", "nothing serves: Crossplane deactivates every revision but the current one")
	has(t, "fix", f.Remediation, `kubectl patch providerrevision p-222222222222 --type merge -p '{"spec":{"desiredState":"Active"}}'`)
	if len(by) != 1 || rows["p"].Finding != findings.RevisionAwaitingActivation {
		t.Errorf("only the activation should be reported: %+v, row %s", by, rows["p"].Finding)
	}
	// Without the package's message, desiredState alone says it.
	s.Packages[0].Conditions[0].Message = ""
	by, _ = lifecycle(t, s, "")
	one(t, by, findings.RevisionAwaitingActivation, findings.Warning)

	// A webhook TLS failure caused by the wait is named as what it blocks.
	s.Revisions[1].Conditions = []cluster.Condition{cond("RevisionHealthy", "False", "UnhealthyPackageRevision",
		// revision/establisher.go@v2.3.4 errGetWebhookTLSSecret.
		`cannot establish control of object: cannot get webhook tls secret: secrets "p-tls-server" not found`, ago(time.Minute))}
	by, _ = lifecycle(t, s, "")
	has(t, "message", one(t, by, findings.RevisionAwaitingActivation, findings.Warning).Message, "WebhookTLSNotReady")
}

// A paused package: nothing changes until it is unpaused, and its old
// errors are kept as information, not diagnosed as current.
func TestPackagePaused(t *testing.T) {
	// manager/reconciler.go@v2.3.4 errUnpack around a 404 (corpus form).
	msg := "cannot unpack package: cannot resolve r.io/p:v9 to digest: failed to fetch package descriptor with a GET request after a previous HEAD request failure: HEAD https://r.io/v2/p/manifests/v9: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details): GET https://r.io/v2/p/manifests/v9: MANIFEST_UNKNOWN: manifest unknown"
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v1", CurrentIdentifier: "", Lifecycle: cluster.Lifecycle{Paused: true},
			Conditions: []cluster.Condition{cond("Installed", "False", "UnpackingPackage", msg, ago(3*time.Hour)), cond("Healthy", "False", "UnhealthyPackageRevision", msg, ago(3*time.Hour)),
				cond("Synced", "False", "ReconcilePaused", pausedMessage, ago(2*time.Hour))}}},
	}
	by, rows := lifecycle(t, s, "")
	f := one(t, by, findings.PackagePaused, findings.Warning)
	has(t, "message", f.Message, `Provider p is paused (crossplane.io/paused: "true") for 2h`, "nothing about the package changes until it is unpaused", "not current")
	has(t, "fix", f.Remediation, "kubectl annotate provider p crossplane.io/paused-")
	stale := one(t, by, findings.ManifestNotFound, findings.Info)
	has(t, "stale", stale.Message, "not current (recorded before the pause")
	for code, fs := range by {
		for _, g := range fs {
			if g.Severity == findings.Error {
				t.Errorf("%s is an error on a paused package: %s", code, g.Message)
			}
		}
	}
	if rows["p"].Finding != findings.PackagePaused || rows["p"].UnhealthyFor != "3h" {
		t.Errorf("row %+v", rows["p"])
	}
	// The annotation before Crossplane has seen it: still paused.
	s.Packages[0].Conditions = s.Packages[0].Conditions[:2]
	by, _ = lifecycle(t, s, "")
	has(t, "evidence", strings.Join(one(t, by, findings.PackagePaused, findings.Warning).Evidence, "\n"), "Crossplane has not reconciled it since")
}

// A deletion: who holds each finalizer, for how long, and what to do.
func TestPackageTerminating(t *testing.T) {
	r := rev("p-111111111111", "p", "r.io/p:v1", "Active", 1, cond("Healthy", "True", "", "", ago(5*time.Hour)))
	r.Lifecycle = cluster.Lifecycle{Deleted: ago(time.Hour), Finalizers: []string{"revision.pkg.crossplane.io"}, Paused: true}
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v1", CurrentRevision: r.Name,
			Conditions: []cluster.Condition{cond("Installed", "True", "", "", ago(5*time.Hour)), cond("Healthy", "True", "", "", ago(5*time.Hour))},
			Lifecycle:  cluster.Lifecycle{Deleted: ago(2 * time.Hour), Finalizers: []string{"foregroundDeletion"}}}},
		Revisions: []cluster.Revision{r},
	}
	by, _ := lifecycle(t, s, "")
	fs := by[findings.PackageTerminating]
	if len(fs) != 2 {
		t.Fatalf("%d PackageTerminating, want the package's and the revision's: %+v", len(fs), by)
	}
	for _, f := range fs {
		if f.Severity != findings.Error {
			t.Errorf("a deletion held for hours is an error: %+v", f)
		}
		switch {
		case strings.HasPrefix(f.Message, "Provider p "):
			has(t, "package", f.Message, "being deleted for 2h, held by finalizer foregroundDeletion", "it waits for its revisions p-111111111111 (itself being deleted, held by revision.pkg.crossplane.io)")
		default:
			has(t, "revision", f.Message, "ProviderRevision p-111111111111 is being deleted for 1h", "the revision is paused")
			has(t, "revision fix", f.Remediation, "kubectl annotate providerrevision p-111111111111 crossplane.io/paused-", `"finalizers":null`, "kubectl edit lock lock")
		}
	}
	// Within the revision deadline it is information; an unknown finalizer is named.
	s.Revisions[0].Lifecycle = cluster.Lifecycle{Deleted: ago(time.Minute), Finalizers: []string{"example.com/hold"}}
	s.Packages[0].Lifecycle = cluster.Lifecycle{}
	by, _ = lifecycle(t, s, "")
	f := one(t, by, findings.PackageTerminating, findings.Info)
	has(t, "unknown finalizer", strings.Join(f.Evidence, "\n"), "finalizer example.com/hold: neither Crossplane nor Kubernetes' garbage collector sets it")
}

// Revisions that belong to no package, and a revision of a package that was
// recreated while the old revision stayed.
func TestRevisionOrphaned(t *testing.T) {
	orphan := rev("gone-111111111111", "gone", "r.io/gone:v1", "Active", 1, cond("Healthy", "True", "", "", ago(time.Hour)))
	orphan.Objects = 3
	orphan.Owners = []cluster.Owner{{Kind: "Provider", Name: "gone", UID: "uid-gone", Controller: true}}
	kept := rev("p-111111111111", "p", "r.io/p:v1", "Active", 1, cond("Healthy", "True", "", "", ago(time.Hour)))
	kept.Owners = []cluster.Owner{{Kind: "Provider", Name: "p", UID: "uid-p", Controller: true}}
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v1", CurrentRevision: kept.Name, Lifecycle: cluster.Lifecycle{UID: "uid-p"},
			Conditions: []cluster.Condition{cond("Installed", "True", "", "", ago(time.Hour)), cond("Healthy", "True", "", "", ago(time.Hour))}}},
		Revisions: []cluster.Revision{orphan, kept},
	}
	by, _ := lifecycle(t, s, "")
	f := one(t, by, findings.RevisionOrphaned, findings.Warning)
	if f.Subject != (findings.Subject{Kind: "ProviderRevision", Name: "gone-111111111111"}) {
		t.Errorf("subject %v", f.Subject)
	}
	has(t, "message", f.Message, "belongs to no Provider: its label pkg.crossplane.io/package names gone, which does not exist", "controller Provider gone (UID uid-gone) does not exist either", "still controls the 3 object(s)")
	has(t, "fix", f.Remediation, "kubectl delete providerrevision gone-111111111111 --cascade=orphan")

	// A dump without Providers says nothing about them.
	s.FromDump = true
	s.Packages = nil
	if by, _ := lifecycle(t, s, ""); len(by[findings.RevisionOrphaned]) != 0 {
		t.Errorf("a dump without packages cannot orphan revisions: %+v", by)
	}

	// The package was recreated (new UID); the package manager cannot apply
	// the revision another UID controls.
	// crossplane-runtime pkg/resource/resource.go@v1.20.0 MustBeControllableBy via manager/reconciler.go errApplyPackageRevision.
	msg := `cannot apply package revision: existing object is not controlled by UID "uid-p2"`
	s = &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v1", CurrentRevision: kept.Name, Lifecycle: cluster.Lifecycle{UID: "uid-p2"},
			Conditions: []cluster.Condition{cond("Installed", "True", "", "", ago(time.Hour)), cond("Healthy", "Unknown", "", "", ago(time.Hour))}}},
		Revisions: []cluster.Revision{kept},
		Events:    []cluster.Event{{Kind: "Provider", Name: "p", Type: "Warning", Reason: "InstallPackageRevision", Message: msg, Count: 5, Last: ago(time.Minute)}},
	}
	by, rows := lifecycle(t, s, "")
	f = one(t, by, findings.RevisionOrphaned, findings.Error)
	has(t, "message", f.Message, "revision p-111111111111 is controlled by a previous Provider p (UID uid-p), not by this one (UID uid-p2)")
	has(t, "fix", f.Remediation, `kubectl patch providerrevision p-111111111111 --type json -p '[{"op":"remove","path":"/metadata/ownerReferences"}]'`)
	if rows["p"].Finding != findings.RevisionOrphaned {
		t.Errorf("row %s", rows["p"].Finding)
	}
	// Without the event, the snapshot alone shows it.
	s.Events = nil
	by, _ = lifecycle(t, s, "")
	one(t, by, findings.RevisionOrphaned, findings.Error)
}

// More inactive revisions than revisionHistoryLimit: the oldest are named,
// and the reason Crossplane did not collect them when the input has it.
func TestRevisionHistoryExceeded(t *testing.T) {
	var revs []cluster.Revision
	for i, n := range []string{"p-111111111111", "p-222222222222", "p-333333333333"} {
		revs = append(revs, rev(n, "p", "r.io/p:v"+string(rune('1'+i)), "Inactive", int64(i+1), cond("Healthy", "True", "", "", ago(time.Hour))))
	}
	revs = append(revs, rev("p-444444444444", "p", "r.io/p:v4", "Active", 4, cond("Healthy", "True", "", "", ago(time.Hour))))
	p := cluster.Package{Kind: "Provider", Name: "p", Package: "r.io/p:v4", CurrentRevision: "p-444444444444", Lifecycle: cluster.Lifecycle{Paused: true},
		Conditions: []cluster.Condition{cond("Installed", "True", "", "", ago(time.Hour)), cond("Healthy", "True", "", "", ago(time.Hour))}}
	by, _ := lifecycle(t, &cluster.Snapshot{Packages: []cluster.Package{p}, Revisions: revs}, "")
	f := one(t, by, findings.RevisionHistoryExceeded, findings.Warning)
	has(t, "message", f.Message, "has 3 inactive revisions and revisionHistoryLimit 1: the package is paused")
	has(t, "fix", f.Remediation, "kubectl delete providerrevision p-222222222222 p-111111111111")

	two := int64(3)
	p.RevisionHistoryLimit = &two
	if by, _ := lifecycle(t, &cluster.Snapshot{Packages: []cluster.Package{p}, Revisions: revs}, ""); len(by[findings.RevisionHistoryExceeded]) != 0 {
		t.Errorf("3 inactive revisions fit a limit of 3")
	}
	zero := int64(0)
	p.RevisionHistoryLimit = &zero
	if by, _ := lifecycle(t, &cluster.Snapshot{Packages: []cluster.Package{p}, Revisions: revs}, ""); len(by[findings.RevisionHistoryExceeded]) != 0 {
		t.Errorf("revisionHistoryLimit 0 keeps every revision")
	}
}

// A rewrite by an ImageConfig is information naming the ImageConfig, and
// no cause: a healthy package keeps an empty FINDING.
func TestImageConfigRewritten(t *testing.T) {
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "xpkg.upbound.io/upbound/p:v1", ResolvedPackage: "mirror.io/upbound/p:v1",
			AppliedImageConfigs: []string{"mirror (RewriteImage)"},
			Conditions:          []cluster.Condition{cond("Installed", "True", "", "", ago(time.Hour)), cond("Healthy", "True", "", "", ago(time.Hour))}}},
		ImageConfigs: []cluster.ImageConfig{{Name: "mirror", Prefixes: []string{"xpkg.upbound.io/"}, RewritePrefix: "mirror.io/"}},
	}
	by, rows := lifecycle(t, s, "")
	f := one(t, by, findings.ImageConfigRewritten, findings.Info)
	has(t, "message", f.Message, "ImageConfig mirror rewrites spec.package xpkg.upbound.io/upbound/p:v1 to mirror.io/upbound/p:v1")
	has(t, "evidence", strings.Join(f.Evidence, "\n"), "matchImages xpkg.upbound.io/, rewriteImage.prefix mirror.io/")
	if rows["p"].Finding != "" || f.Image != "mirror.io/upbound/p:v1" {
		t.Errorf("row %q, image %q", rows["p"].Finding, f.Image)
	}
}

// The revision's dependency counts back a dependency finding and name one
// when no message does.
func TestDependencyCounts(t *testing.T) {
	r := rev("p-111111111111", "p", "r.io/p:v1", "Active", 1, cond("Healthy", "Unknown", "", "", ago(time.Hour)))
	r.Dependencies = &cluster.DependencyStatus{Found: 3, Installed: 1}
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v1", CurrentRevision: r.Name,
			Conditions: []cluster.Condition{cond("Installed", "True", "", "", ago(time.Hour)), cond("Healthy", "Unknown", "", "", ago(time.Hour))}}},
		Revisions: []cluster.Revision{r},
	}
	by, _ := lifecycle(t, s, "")
	f := one(t, by, findings.DependencyUnresolvable, findings.Error)
	has(t, "message", f.Message, "counts 2 of its 3 dependencies as not installed")
	has(t, "evidence", f.Evidence[0], "foundDependencies 3, installedDependencies 1, invalidDependencies 0: 2 of 3 not installed")

	// revision/dependency.go@v1.20.0 errFmtMissingDependencies, under errResolveDeps.
	s.Revisions[0].Conditions[0].Message = "cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/upbound/provider-family-aws]"
	by, _ = lifecycle(t, s, "v1.20.0")
	f = one(t, by, findings.DependencyUnresolvable, findings.Error)
	has(t, "evidence", strings.Join(f.Evidence, "\n"), "installedDependencies 1")
}

// While a new spec.package fails to unpack on v2.2+, status.resolvedPackage
// still names the previous image and the serving revision has old Warning
// events: xpdoctor judges the new image and ignores the healthy revision's
// history (seen on real v2.3.4 in test/e2e TestCrossplaneLifecycle).
func TestUpgradeJudgesTheNewImage(t *testing.T) {
	msg := "cannot unpack package: cannot extract package content from r.io/p:v2: package.yaml not found in package"
	s := &cluster.Snapshot{CrossplaneNamespace: "crossplane-system",
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v2", ResolvedPackage: "r.io/p:v1", CurrentRevision: "p-111111111111", CurrentIdentifier: "r.io/p:v1",
			Conditions: []cluster.Condition{cond("Installed", "False", "UnpackingPackage", msg, ago(time.Minute)), cond("Healthy", "False", "UnhealthyPackageRevision", msg, ago(time.Minute))}}},
		Revisions: []cluster.Revision{rev("p-111111111111", "p", "r.io/p:v1", "Active", 1,
			cond("RevisionHealthy", "True", "", "", ago(time.Hour)), cond("RuntimeHealthy", "True", "", "", ago(time.Hour)))},
		Deployments: []cluster.Deployment{available("p-111111111111")},
		// revision/reconciler.go@v2.3.4 errEstablishControl around establisher.go errWebhookSecretNotPresent, from the first install.
		Events: []cluster.Event{{Kind: "ProviderRevision", Name: "p-111111111111", Type: "Warning", Reason: "SyncPackage", Count: 1, Last: ago(time.Hour),
			Message: "cannot establish control of object: waiting for package runtime controller to set revision's webhook TLS secret"}},
	}
	s.Finish()
	if src := s.Packages[0].Source(); src != "r.io/p:v2" {
		t.Fatalf("Crossplane pulls r.io/p:v2, not the stale resolvedPackage: %s", src)
	}
	by, _ := lifecycle(t, s, "")
	if len(by[findings.WebhookTLSNotReady]) != 0 {
		t.Errorf("a healthy revision's old event is no cause: %+v", by[findings.WebhookTLSNotReady])
	}
	has(t, "cause", one(t, by, findings.PackageYAMLNotFound, findings.Error).Message, "r.io/p:v2")
	if len(by[findings.ImageConfigRewritten]) != 0 {
		t.Errorf("a stale resolvedPackage is no rewrite: %+v", by[findings.ImageConfigRewritten])
	}
}

// A new revision that failed with a message no rule knows is stuck, not in
// progress, and the message is still quoted as PackageUnhealthy.
func TestUpgradeStuckUnknownCause(t *testing.T) {
	s := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Provider", Name: "p", Package: "r.io/p:v2", CurrentRevision: "p-222222222222", CurrentIdentifier: "r.io/p:v2",
			Conditions: []cluster.Condition{cond("Installed", "True", "", "", ago(time.Hour)), cond("Healthy", "False", "", "", ago(time.Hour))}}},
		Revisions: []cluster.Revision{
			rev("p-111111111111", "p", "r.io/p:v1", "Inactive", 1, cond("Healthy", "True", "", "", ago(5*time.Hour))),
			// The wrapper is revision/reconciler.go@v2.1.3 errInitParserBackend; the inner text is one no rule knows.
			rev("p-222222222222", "p", "r.io/p:v2", "Active", 2, cond("Healthy", "False", "UnhealthyPackageRevision", "cannot initialize parser backend: a new failure", ago(time.Hour))),
		},
	}
	by, rows := lifecycle(t, s, "v2.1.3")
	has(t, "message", one(t, by, findings.UpgradeStuck, findings.Error).Message, "is stuck for 1h", "no known cause: ProviderRevision p-222222222222 condition Healthy=False")
	one(t, by, findings.PackageUnhealthy, findings.Error)
	if rows["p"].Finding != findings.PackageUnhealthy {
		t.Errorf("the row names %s, want the unknown cause", rows["p"].Finding)
	}
}
