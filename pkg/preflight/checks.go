package preflight

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// packageChecks are the checks every package gets: its image under the
// target generation, its Crossplane constraint and its dependencies.
func (sc *scope) packageChecks(p cluster.Package) []Check {
	img := sc.imageCheck(p)
	out := []Check{img}
	if sc.meta(p) == nil {
		// Without package.yaml neither the constraint nor dependsOn is known;
		// the image check already says why.
		return out
	}
	out = append(out, sc.constraintCheck(p))
	return append(out, sc.dependencyChecks(p)...)
}

// genOnly judges the image alone: the Crossplane constraint is the
// constraint check's, which honours ignoreCrossplaneConstraints.
func genOnly(t crossplane.Target) crossplane.Target {
	return crossplane.Target{Generation: t.Generation}
}

// fixedBy names the change that lifts an image failure in a later generation.
var fixedBy = map[findings.Code]string{
	findings.TooManyLayers:        "LayerLimitRemoved",
	findings.MultipleBaseLayers:   "FirstBaseLayerWins",
	findings.PackageYAMLNotAtRoot: "PackageYAMLByBaseName",
}

func (sc *scope) imageCheck(p cluster.Package) Check {
	c := Check{Check: CheckImage}
	r := sc.image(p)
	if r == nil {
		c.Status = Unknown
		c.Message = fmt.Sprintf("the image %s was not read, so its verdict, Crossplane constraint and dependencies for %s are unknown", p.Source(), sc.label())
		c.Fix = "run preflight where the package's registry is reachable with the credentials Crossplane uses"
		return c
	}
	tv := crossplane.Judge(genOnly(sc.targetGen), r, sc.in.Judge)
	tv.Crossplane = sc.label()
	if e := readError(r); e != nil {
		// What xpdoctor could not read says nothing certain about what
		// Crossplane reads (other credentials, network, its cache).
		c.Status, c.Code = Unknown, tv.Reason
		c.Message = fmt.Sprintf("xpdoctor could not read the image %s (%s), so its verdict, Crossplane constraint and dependencies for %s are unknown; if Crossplane cannot either, %s reports: %s", r.Reference, e.Detail, sc.label(), sc.label(), tv.Message)
		c.Fix = "run preflight where the package's registry is reachable with the credentials Crossplane uses"
		if fix := findings.Catalogue[tv.Reason].Fix; fix != "" {
			c.Fix += "; " + fix
		}
		return c
	}
	var rv *crossplane.Verdict
	if sc.runningSet {
		v := crossplane.Judge(genOnly(sc.runningTarget), r, sc.in.Judge)
		v.Crossplane = "v" + sc.running.String()
		rv = &v
	}
	c.Evidence = append(c.Evidence, fmt.Sprintf("%s (%s): %s: %s", tv.Crossplane, sc.targetGen.Name, tv.Outcome, tv.Message))
	if rv != nil {
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s (%s): %s: %s", rv.Crossplane, sc.runningTarget.Name, rv.Outcome, rv.Message))
	}
	switch tv.Outcome {
	case crossplane.OutcomeFail:
		c.Status, c.Code, c.Message = Breaks, tv.Reason, tv.Message
		c.Fix = findings.Catalogue[tv.Reason].Fix
		c.Existing = rv != nil && rv.Outcome == crossplane.OutcomeFail
		if id, ok := fixedBy[tv.Reason]; ok {
			c.Sources = changeByID(id).Sources
		}
		if iv := changeByID("ImageValidated"); (tv.Reason == findings.TooManyLayers || tv.Reason == findings.MultipleBaseLayers) && sc.crosses(iv.since) != crossedNo {
			c.Sources = append(append([]string{}, iv.Sources...), c.Sources...)
		}
	case crossplane.OutcomeUnknown:
		c.Status, c.Message = Unknown, tv.Message
	case crossplane.OutcomeBaseLayer:
		c.Status, c.Message = Safe, tv.Message
		if rv != nil && rv.Outcome == crossplane.OutcomeFail {
			c.Message = fmt.Sprintf("fails on %s (%s); %s reads it: %s", rv.Crossplane, rv.Reason, tv.Crossplane, tv.Message)
			if id, ok := fixedBy[rv.Reason]; ok {
				c.Sources = changeByID(id).Sources
			}
		}
	case crossplane.OutcomeFlatten:
		c.Code, c.Fix = findings.BaseLayerAnnotationMissing, findings.Catalogue[findings.BaseLayerAnnotationMissing].Fix
		c.Status, c.Message = Notice, tv.Message
		if tv.Reason == findings.FlattenPathTooSlow {
			c.Status, c.Code = Degrades, tv.Reason
			c.Existing = rv != nil && rv.Reason == findings.FlattenPathTooSlow
		}
		if rv != nil && rv.Outcome == crossplane.OutcomeFail {
			c.Message = fmt.Sprintf("fails on %s (%s); %s parses it only through the flatten fallback: %s", rv.Crossplane, rv.Reason, tv.Crossplane, tv.Message)
		}
		if !sc.targetGen.ValidateFlatten && (rv == nil || rv.Outcome != crossplane.OutcomeFlatten || sc.runningTarget.ValidateFlatten) {
			c.Sources = changeByID("FlattenInPackageManager").Sources
		}
	}
	return c
}

// readError is the registry error that kept xpdoctor from reading the image
// Crossplane reads, or nil.
func readError(r *xpkg.Report) *xpkg.RegistryError {
	if r.Err != nil {
		return r.Err
	}
	if img := r.SelectedImage(); img != nil && img.Err != nil {
		return img.Err
	}
	return nil
}

// label is the target as shown: v2.3.4.
func (sc *scope) label() string { return "v" + sc.target.String() }

func (sc *scope) constraintCheck(p cluster.Package) Check {
	m := sc.meta(p)
	c := Check{Check: CheckConstraint, Status: Safe,
		Sources: []string{"internal/controller/pkg/revision/reconciler.go@v2.3.4", "crossplane-runtime:pkg/xpkg/lint.go@v2.3.3 PackageCrossplaneCompatible"}}
	if strings.TrimSpace(m.Crossplane) == "" {
		c.Message = "package.yaml sets no spec.crossplane.version constraint"
		return c
	}
	ok, msg := crossplane.CrossplaneCompatible(m.Crossplane, sc.target)
	switch {
	case ok:
		c.Message = fmt.Sprintf("spec.crossplane.version %q admits %s", m.Crossplane, sc.label())
	case p.IgnoreCrossplaneConstraints:
		c.Status = Notice
		c.Message = fmt.Sprintf("spec.crossplane.version %q excludes %s; spec.ignoreCrossplaneConstraints is true, so Crossplane installs it anyway", m.Crossplane, sc.label())
	default:
		c.Status, c.Code, c.Message = Breaks, findings.CrossplaneVersionIncompat, msg
		c.Evidence = []string{fmt.Sprintf("package.yaml spec.crossplane.version: %q", m.Crossplane)}
		c.Fix = fmt.Sprintf("install a version of %s whose spec.crossplane.version admits %s, or set spec.ignoreCrossplaneConstraints: true on %s %s", xpkg.RepositoryOf(p.Source()), sc.label(), p.Kind, p.Name)
		if sc.running != nil {
			okToday, _ := crossplane.CrossplaneCompatible(m.Crossplane, sc.running)
			c.Existing = !okToday
		}
	}
	return c
}

// installedPackage is a package a dependency can resolve to.
type installedPackage struct {
	pkg cluster.Package
	// source is what the Lock records (spec.package without tag or digest),
	// as the target will see it; version its tag or digest.
	source, version string
	// inLock is false when the Lock was read and does not hold it.
	inLock bool
}

// installed lists the packages dependencies resolve to under the target:
// the Lock's source of each (revision/dependency.go@v2.3.4 lockRef is
// spec.package without tag or digest); for a v2 target an unqualified
// spec.package is qualified with today's registry, as it must be fixed to.
func (sc *scope) installed() []installedPackage {
	if sc.installedCache == nil {
		sc.installedCache = sc.listInstalled()
	}
	return sc.installedCache
}

func (sc *scope) listInstalled() []installedPackage {
	inLock := map[string]string{}
	if sc.snap.Lock != nil {
		for _, lp := range sc.snap.Lock.Packages {
			inLock[lp.Name] = lp.Version
		}
	}
	reg, _ := sc.defaultRegistryToday()
	var out []installedPackage
	for _, p := range sc.snap.Packages {
		src, ver := splitReference(p.Package)
		if !coreOf(sc.target).LessThan(semver.MustParse("2.0.0")) {
			src = crossplane.Qualify(src, reg)
		}
		ip := installedPackage{pkg: p, source: src, version: ver, inLock: true}
		if sc.snap.Lock != nil {
			v, ok := inLock[p.CurrentRevision]
			ip.inLock = ok
			if ok && v != "" {
				ip.version = v
			}
		}
		out = append(out, ip)
	}
	if out == nil {
		out = []installedPackage{}
	}
	return out
}

// splitReference splits a package reference into its source and its tag or
// digest, as Crossplane does (internal/xpkg/name.go@v2.3.4
// ParsePackageSourceFromReference). A reference without either has version "latest"
// in v1.x (go-containerregistry's default tag).
func splitReference(ref string) (source, version string) {
	r, err := name.ParseReference(ref, name.WithDefaultRegistry(""))
	if err != nil {
		return xpkg.RepositoryOf(ref), ""
	}
	id := r.Identifier()
	src := strings.TrimSuffix(ref, id)
	return strings.TrimRight(src, ":@"), id
}

func (sc *scope) dependencyChecks(p cluster.Package) []Check {
	m := sc.meta(p)
	if len(m.DependsOn) == 0 {
		return nil
	}
	src := []string{"internal/controller/pkg/revision/dependency.go@v2.3.4", "internal/controller/pkg/resolver/reconciler.go@v2.3.4"}
	if p.SkipDependencyResolution {
		return []Check{{Check: CheckDependency, Status: Safe, Sources: src,
			Message: fmt.Sprintf("spec.skipDependencyResolution is true: Crossplane does not resolve its %d dependencies", len(m.DependsOn))}}
	}
	v2 := !coreOf(sc.target).LessThan(semver.MustParse("2.0.0"))
	installed := sc.installed()
	var out []Check
	for _, d := range m.DependsOn {
		if v2 && !crossplane.DependencyQualified(d.Package) {
			continue // PackageSourceUnqualified reports it, with the fix
		}
		c := Check{Check: CheckDependency, Sources: src}
		constraint := d.Version
		desc := d.Package
		if constraint != "" {
			desc += " (" + constraint + ")"
		}
		// Crossplane's DAG knows the packages of the Lock: with several
		// packages from the same source (one whose tag does not exist has
		// no revision), the one in the Lock is what the dependency is.
		var found *installedPackage
		for i := range installed {
			if installed[i].source == d.Package && (found == nil || !found.inLock && installed[i].inLock) {
				found = &installed[i]
			}
		}
		if found != nil {
			ok, msg := crossplane.DependencySatisfied(found.source, found.version, constraint)
			c.Evidence = []string{fmt.Sprintf("installed as %s %s at %s", found.pkg.Kind, found.pkg.Name, found.version)}
			switch {
			case !found.inLock:
				c.Status, c.Code, c.Existing = Breaks, findings.DependencyNotInLock, true
				c.Message = fmt.Sprintf("%s is installed as %s %s, but the Lock does not hold it, so Crossplane reports it missing", desc, found.pkg.Kind, found.pkg.Name)
				c.Fix = findings.Catalogue[findings.DependencyNotInLock].Fix
			case ok:
				c.Status = Safe
				c.Message = fmt.Sprintf("%s resolves to the installed %s %s (%s)", desc, found.pkg.Kind, found.pkg.Name, found.version)
			default:
				c.Status, c.Code, c.Existing = Breaks, findings.DependencyVersionConflict, true
				if crossplane.IsDigest(constraint) {
					c.Code = findings.DependencyDigestMismatch
				}
				c.Message = "cannot resolve package dependencies: " + msg
				c.Fix = fmt.Sprintf("install a version of %s that satisfies %q, or a version of %s %s whose dependsOn accepts %s", found.source, constraint, p.Kind, p.Name, found.version)
			}
			out = append(out, c)
			continue
		}
		where, via := sc.lookedUpAt(d.Package)
		if via != "" {
			c.Evidence = append(c.Evidence, fmt.Sprintf("ImageConfig %s rewrites it to %s", via, where))
		}
		if other := sameRepository(installed, d.Package); other != nil {
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s is installed from %s, another source than dependsOn names", other.pkg.Kind, other.pkg.Name, other.source))
		}
		tags, listed := sc.in.Tags[where]
		switch {
		case !listed:
			c.Status = Unknown
			c.Message = fmt.Sprintf("%s is not installed; Crossplane would install it from %s, whose tags preflight did not list", desc, where)
		default:
			tag, err := crossplane.ResolveDependency(constraint, tags)
			if err != nil {
				c.Status, c.Code, c.Existing = Breaks, findings.DependencyUnresolvable, true
				c.Message = fmt.Sprintf("%s is not installed and %s has no version for it: %v", desc, where, err)
				c.Fix = findings.Catalogue[findings.DependencyUnresolvable].Fix
			} else {
				c.Status = Safe
				c.Message = fmt.Sprintf("%s is not installed; Crossplane would install %s:%s", desc, where, tag)
				if crossplane.IsDigest(tag) {
					c.Message = fmt.Sprintf("%s is not installed; Crossplane would install %s@%s", desc, where, tag)
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// lookedUpAt is where the target looks a dependency up: rewritten by an
// ImageConfig on v1.20+ (PR #6421), else as dependsOn names it.
func (sc *scope) lookedUpAt(dep string) (where, imageConfig string) {
	if coreOf(sc.target).LessThan(semver.MustParse("1.20.0")) {
		return dep, ""
	}
	return sc.snap.RewriteImage(dep)
}

// sameRepository finds an installed package with the same repository path
// under another registry: dependsOn names the upstream, the cluster runs a mirror.
func sameRepository(installed []installedPackage, source string) *installedPackage {
	path := func(s string) string {
		if reg := crossplane.RegistryOf(s); reg != "" {
			return strings.TrimPrefix(s, reg+"/")
		}
		return s
	}
	for i := range installed {
		if path(installed[i].source) == path(source) {
			return &installed[i]
		}
	}
	return nil
}

// DependenciesToList are the sources whose tags Run needs: dependencies of
// the images read that no installed package provides, as Crossplane looks
// them up (after an ImageConfig rewrite on v1.20+). Put their tags in Input.Tags.
func DependenciesToList(in Input) ([]string, error) {
	target, err := crossplane.ParseVersion(in.Target)
	if err != nil {
		return nil, err
	}
	sc := newScope(in)
	sc.target = target
	installed := sc.installed()
	seen := map[string]bool{}
	var out []string
	for _, p := range sc.snap.Packages {
		m := sc.meta(p)
		if m == nil || p.SkipDependencyResolution {
			continue
		}
	deps:
		for _, d := range m.DependsOn {
			for _, ip := range installed {
				if ip.source == d.Package {
					continue deps
				}
			}
			where, _ := sc.lookedUpAt(d.Package)
			if !seen[where] {
				seen[where] = true
				out = append(out, where)
			}
		}
	}
	return out, nil
}

// minorsAfter1 is the last v1 minor: v2.0 follows v1.20 (docs
// content/master/guides/upgrade-to-crossplane-v2.md: "the final v1.x release").
const lastV1Minor = 20

// upgradePath checks the documented one-minor-at-a-time rule
// (crossplane/docs content/master/guides/upgrade-crossplane.md).
func (sc *scope) upgradePath() Check {
	c := Check{Check: CheckUpgrade, Status: Safe, Sources: []string{
		"https://docs.crossplane.io/latest/guides/upgrade-crossplane/ (crossplane/docs content/master/guides/upgrade-crossplane.md)",
		"https://docs.crossplane.io/latest/guides/upgrade-to-crossplane-v2/ (\"Only upgrade to Crossplane v2 from Crossplane v1.20\")",
	}}
	if sc.running == nil {
		c.Status, c.Message, c.Evidence = Unknown, sc.runningNote+": preflight cannot check the upgrade path or which changes the upgrade crosses", sc.runningEvidence()
		c.Fix = "pass the running version (--crossplane-version) or let preflight read Crossplane's Deployment"
		return c
	}
	r, t := coreOf(sc.running), coreOf(sc.target)
	switch {
	case t.LessThan(r):
		c.Status = Unknown
		c.Message = fmt.Sprintf("%s is older than the running v%s: preflight judges upgrades, not downgrades", sc.label(), sc.running)
		return c
	case r.Major() == t.Major() && r.Minor() == t.Minor():
		c.Message = fmt.Sprintf("v%s to %s is a patch upgrade", sc.running, sc.label())
		return c
	case t.Major() > 2 || r.Major() < 1:
		c.Status = Unknown
		c.Message = fmt.Sprintf("preflight does not know the minor releases between v%s and %s", sc.running, sc.label())
		return c
	}
	var skipped []string
	for major, minor := r.Major(), r.Minor()+1; ; minor++ {
		if major == 1 && minor > lastV1Minor {
			major, minor = 2, 0
		}
		if major == t.Major() && minor == t.Minor() {
			break
		}
		skipped = append(skipped, "v"+strconv.FormatUint(major, 10)+"."+strconv.FormatUint(minor, 10))
	}
	if len(skipped) == 0 {
		c.Message = fmt.Sprintf("v%s to %s is the next minor release", sc.running, sc.label())
		return c
	}
	c.Status = Degrades
	c.Message = fmt.Sprintf("v%s to %s skips %s: Crossplane supports upgrading one minor version at a time (and to v2 only from v1.20)", sc.running, sc.label(), strings.Join(skipped, ", "))
	c.Fix = "upgrade through each minor release in turn, to its latest patch: " + strings.Join(append(skipped, sc.label()), " -> ") + "; run preflight for each step"
	return c
}
