package diagnose

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/imageconfig"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Dependency is one dependency a message names, with its constraint when
// the message or the Lock gives it.
type Dependency struct {
	Package    string
	Constraint string
}

var (
	// v1.5-v1.19 print the missing sources as a Go slice: "missing
	// dependencies: [a b]" (revision/dependency.go@v1.16.0).
	reMissingList = regexp.MustCompile(`missing dependencies: \[([^\]]*)\]`)
	// v1.20+ quote each with its constraint, or the version the Lock has
	// for an implied one: `missing dependencies: "REF" (>=v0.1.0), "REF2"`
	// (NDependenciesAndSomeMore, revision/dependency.go@v1.20.0, @v2.3.4).
	reMissingQuoted = regexp.MustCompile(`"([^"]+)"(?: \(([^)]*)\))?`)
	// v1.16+: "existing package SOURCE@VERSION is incompatible with
	// constraint C" (revision/dependency.go@v1.16.0); before, only the sources.
	reIncompatibleDep  = regexp.MustCompile(`existing package (\S+)@(\S+?)(?: is incompatible with constraint ([^;]+?))?(?:;|$)`)
	reIncompatibleList = regexp.MustCompile(`incompatible dependencies: \[([^\]]*)\]`)
	reNodeExists       = regexp.MustCompile(`node (\S+) already exists`)
)

// MissingDependencies lists the dependencies a message names as missing,
// in any of the three formats Crossplane has printed.
func MissingDependencies(msg string) []Dependency {
	inner, _ := Unwrap(msg)
	_, rest, ok := strings.Cut(inner, "missing dependencies:")
	if !ok {
		return nil
	}
	if m := reMissingList.FindStringSubmatch("missing dependencies:" + rest); m != nil {
		var out []Dependency
		for _, f := range strings.Fields(strings.ReplaceAll(m[1], ",", " ")) {
			out = append(out, Dependency{Package: f})
		}
		return out
	}
	var out []Dependency
	for _, m := range reMissingQuoted.FindAllStringSubmatch(rest, -1) {
		out = append(out, Dependency{Package: m[1], Constraint: strings.TrimSpace(m[2])})
	}
	return out
}

// depVerdict is what the cluster says about one dependency.
type depVerdict struct {
	dep  Dependency
	code findings.Code
	// why is one sentence, note an explanation shared by dependencies of
	// the same cause; fix the commands, alsoFix an alternative said once.
	why, note, fix, alsoFix string
	alternatives            []findings.Code
	// mirror is true when the evidence says Crossplane cannot reach the
	// dependency where it looks: only then is mirroring the fix.
	mirror bool
}

// explainMissingDependencies reads the Lock and the installed packages to
// tell apart why each missing dependency is missing.
func explainMissingDependencies(c *pkgCase, g *causeGroup, f *findings.Finding) {
	var deps []Dependency
	seen := map[string]bool{}
	for _, o := range g.obs {
		for _, d := range MissingDependencies(o.text) {
			if !seen[d.Package] {
				seen[d.Package] = true
				deps = append(deps, d)
			}
		}
	}
	if len(deps) == 0 {
		f.Message = fmt.Sprintf("%s %s has dependencies that are not installed; the message does not name them", c.pkg.Kind, c.pkg.Name)
		f.Remediation = c.dependencyChecks("")
		return
	}
	var vs []depVerdict
	for _, d := range deps {
		if d.Constraint == "" {
			d.Constraint = c.constraintOf(d.Package)
		}
		vs = append(vs, c.judgeDependency(d))
	}
	// The finding takes the first dependency's cause; the others follow
	// with theirs.
	f.Code = vs[0].code
	f.Alternatives = vs[0].alternatives
	var whys, notes, fixes, alsoFixes []string
	var mirror []Dependency
	for _, v := range vs {
		whys = append(whys, v.why)
		if v.note != "" {
			notes = append(notes, v.note)
		}
		if v.alsoFix != "" {
			alsoFixes = append(alsoFixes, v.alsoFix)
		}
		if v.mirror {
			mirror = append(mirror, v.dep)
		} else if v.fix != "" {
			fixes = append(fixes, v.fix)
		}
	}
	f.Message = fmt.Sprintf("%s %s depends on packages the cluster does not have: %s", c.pkg.Kind, c.pkg.Name, strings.Join(whys, "; "))
	if notes = uniqStrings(notes); len(notes) > 0 {
		f.Message += ". " + strings.Join(notes, "; ")
	}
	if len(mirror) > 0 {
		fixes = append(fixes, c.mirrorAdvice(mirror))
	}
	f.Remediation = strings.Join(append(uniqStrings(fixes), uniqStrings(alsoFixes)...), "\n")
}

// constraintOf is the dependency's constraint as the Lock records it for
// this revision, else as the inspected package.yaml says.
func (c *pkgCase) constraintOf(dep string) string {
	if c.rev != nil {
		if lp := c.s.Lock.Find(c.rev.Name); lp != nil {
			for _, d := range lp.Dependencies {
				if d.Package == dep {
					return d.Constraints
				}
			}
		}
	}
	if c.img != nil && c.img.Package != nil && c.img.Package.Meta != nil {
		for _, d := range c.img.Package.Meta.DependsOn {
			if d.Package == dep {
				return d.Version
			}
		}
	}
	return ""
}

// installedAs lists the packages installed from a repository.
func (c *pkgCase) installedAs(repo string) []cluster.Package {
	var out []cluster.Package
	for _, p := range c.s.Packages {
		if p.Kind == c.pkg.Kind && p.Name == c.pkg.Name {
			continue
		}
		if xpkg.RepositoryOf(p.Package) == repo || p.ResolvedPackage != "" && xpkg.RepositoryOf(p.ResolvedPackage) == repo {
			out = append(out, p)
		}
	}
	return out
}

func lastSegment(ref string) string {
	repo := xpkg.RepositoryOf(ref)
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		return repo[i+1:]
	}
	return repo
}

func hostOf(ref string) string {
	host, _, ok := strings.Cut(ref, "/")
	if !ok || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return ""
	}
	return host
}

// skipsResolution tells whether a package skips dependency resolution:
// such a package never enters the Lock (revision/reconciler.go@v2.3.4
// calls lock.Resolve only without skipDependencyResolution).
func (c *pkgCase) skipsResolution(p cluster.Package) bool {
	if p.SkipDependencyResolution {
		return true
	}
	if r := currentRevision(c.s, p); r != nil {
		return r.SkipDependencyResolution
	}
	return false
}

func (c *pkgCase) judgeDependency(d Dependency) depVerdict {
	v := depVerdict{dep: d, code: findings.DependencyUnresolvable}
	want := d.Package
	if d.Constraint != "" {
		want += " (" + d.Constraint + ")"
	}
	inLock := c.s.Lock.BySource(d.Package)
	if ps := c.installedAs(d.Package); len(ps) > 0 {
		p := ps[0]
		as := fmt.Sprintf("%s %s (%s)", p.Kind, p.Name, p.Package)
		switch {
		case len(inLock) > 0:
			v.why = fmt.Sprintf("%s is installed as %s and in the Lock (%s): the message predates it", want, as, inLock[0].Version)
			v.fix = fmt.Sprintf("if %s still reports it, look at the Lock: kubectl get lock lock -o yaml", c.pkg.Name)
		case c.skipsResolution(p):
			v.code = findings.DependencyNotInLock
			v.why = fmt.Sprintf("%s is installed as %s with skipDependencyResolution: true", want, as)
			v.note = "a package installed with skipDependencyResolution never enters the Lock, so Crossplane counts it as missing (crossplane/crossplane#4588)"
			v.fix = fmt.Sprintf("let the Lock track it: kubectl patch %s %s --type merge -p '{\"spec\":{\"skipDependencyResolution\":false}}'", lower(p.Kind), p.Name)
			v.alsoFix = fmt.Sprintf("or skip resolution on %s too: kubectl patch %s %s --type merge -p '{\"spec\":{\"skipDependencyResolution\":true}}'", c.pkg.Name, lower(c.pkg.Kind), c.pkg.Name)
		case c.s.Lock != nil:
			v.code = findings.DependencyNotInLock
			v.why = fmt.Sprintf("%s is installed as %s, but the Lock does not list it: its revision has not entered the Lock yet (it does when its own dependency resolution runs)", want, as)
			v.fix = fmt.Sprintf("see why %s's revision does not resolve: kubectl get %srevisions -l %s=%s", p.Name, lower(p.Kind), cluster.LabelParent, p.Name)
		default:
			v.code = findings.DependencyNotInLock
			v.alternatives = []findings.Code{findings.DependencyUnresolvable}
			v.why = fmt.Sprintf("%s is installed as %s, yet Crossplane's dependency graph lacks it, and the input has no Lock to say whether it is tracked", want, as)
			if pinnedByDigest(p.Package) {
				v.alternatives = []findings.Code{findings.DependencyDigestMismatch}
				v.why += fmt.Sprintf("; %s pins it by digest, so the Lock records a digest where the constraint %s names a version", p.Name, orUnknown(d.Constraint))
			}
			v.fix = "tell them apart with the Lock: kubectl get lock lock -o yaml (is " + d.Package + " listed, at which version?)"
		}
		return v
	}
	// Installed under another source with the same name.
	for _, p := range c.s.Packages {
		if p.Name == c.pkg.Name && p.Kind == c.pkg.Kind || lastSegment(p.Package) != lastSegment(d.Package) || p.Package == "" {
			continue
		}
		v.code = findings.DependencyNameMismatch
		installed := xpkg.RepositoryOf(p.Package)
		v.why = fmt.Sprintf("dependsOn names %s, but the installed %s %s comes from %s: to Crossplane these are different packages", want, p.Kind, p.Name, installed)
		v.fix = fmt.Sprintf("make the names agree: use a version of %s whose dependsOn names %s, or install %s as dependsOn names it (and remove %s %s, which ships the same CRDs); or keep %s and set skipDependencyResolution: true on %s",
			c.pkg.Name, installed, d.Package, p.Kind, p.Name, p.Name, c.pkg.Name)
		if h := hostOf(installed); h != "" && h != hostOf(d.Package) && !isPublicRegistry(h) {
			// A private mirror: install it under the name dependsOn uses and
			// let an ImageConfig pull it from the mirror (v1.20+, PR #6421).
			from, to := strings.TrimSuffix(d.Package, lastSegment(d.Package)), strings.TrimSuffix(installed, lastSegment(installed))
			if y, err := imageconfig.YAML(imageconfig.DefaultAPIVersion, []imageconfig.Rewrite{{From: from, To: to}}); err == nil {
				v.fix += fmt.Sprintf("\nin a private cluster on Crossplane v1.20+, install it under the name dependsOn uses (spec.package: %s:TAG) and let this ImageConfig pull it from %s:\n%s", d.Package, to, strings.TrimRight(y, "\n"))
			}
		}
		return v
	}
	// What the Lock's resolver said about it (Lock condition Resolved,
	// v1.18+; events of packages/lock.pkg.crossplane.io).
	if o, cause, ok := c.lockSays(d.Package); ok {
		return c.unreachable(v, want, o, cause)
	}
	if lk, ok := c.in.Dependencies[d.Package]; ok {
		if v, ok := c.registrySays(v, want, lk); ok {
			return v
		}
	}
	// The dependency's registry is the package's own, which needs a pull
	// secret: the resolver does not use packagePullSecrets
	// (resolver/reconciler.go@v1.16.0 Tags without secrets, @v1.20.11 only
	// the ImageConfig's; crossplane/docs#789).
	if h := hostOf(d.Package); h != "" && h == hostOf(c.source) && len(c.pkg.PullSecrets) > 0 {
		v.why = fmt.Sprintf("%s comes from %s, the private registry %s pulls from with packagePullSecrets %s; Crossplane's dependency resolver does not use a package's packagePullSecrets", want, h, c.pkg.Name, strings.Join(c.pkg.PullSecrets, ", "))
		v.fix = fmt.Sprintf("give the pull secret to Crossplane itself: add %s to the imagePullSecrets of Crossplane's ServiceAccount (Helm value imagePullSecrets) in %s, or, on v1.17.3+, an ImageConfig matching %s with spec.registry.authentication.pullSecretRef",
			c.pkg.PullSecrets[0], c.s.CrossplaneNamespace, h+"/")
		return v
	}
	// The package comes from another registry than the one Crossplane looks
	// up its dependency at: a private cluster that pulls from a mirror
	// cannot reach the upstream.
	looks := WhereCrossplaneLooks(c.s, d.Package)
	if lk, ok := c.in.Dependencies[d.Package]; ok && lk.Err == nil && hostOf(looks) == hostOf(c.source) {
		v.why = fmt.Sprintf("%s is not installed, although it exists where Crossplane looks, %s", want, whereCrossplaneLooks(c.s, d.Package))
		v.fix = c.dependencyChecks(looks)
		return v
	}
	if h, ph := hostOf(looks), hostOf(c.source); h != "" && ph != "" && h != ph && !isPublicRegistry(ph) {
		v.mirror = true
		v.why = fmt.Sprintf("%s is not installed; this package comes from %s, while Crossplane looks for the dependency at %s", want, ph, whereCrossplaneLooks(c.s, d.Package))
		return v
	}
	v.why = fmt.Sprintf("%s is not installed, and nothing in the input says why", want)
	v.fix = c.dependencyChecks(d.Package)
	return v
}

func prefixed(p, s string) string {
	if s == "" || s == ")" {
		return ""
	}
	return p + s
}

func pinnedByDigest(ref string) bool { return strings.Contains(ref, "@sha256:") }

// isPublicRegistry: the registries packages are published to, which a
// cluster that pulls from them can usually reach for dependencies too.
func isPublicRegistry(host string) bool {
	switch host {
	case "xpkg.upbound.io", "xpkg.crossplane.io", "index.docker.io", "docker.io", "registry-1.docker.io", "ghcr.io", "registry.upbound.io":
		return true
	}
	return false
}

// lockSays finds a failing Lock condition or Warning event about dep.
func (c *pkgCase) lockSays(dep string) (observation, Cause, bool) {
	var obs []observation
	if c.s.Lock != nil {
		obs = append(obs, c.observeObject("Lock", "lock", c.s.Lock.Conditions)...)
	} else {
		obs = append(obs, c.observeObject("Lock", "lock", nil)...)
	}
	// The resolver's message names the dependency, or, for a registry it
	// cannot reach, only that registry's URL (a tag list starts with GET /v2/).
	_, path, _ := strings.Cut(dep, "/")
	host := hostOf(dep)
	for _, o := range obs {
		if !strings.Contains(o.text, dep) && (path == "" || !strings.Contains(o.text, path)) && (host == "" || !strings.Contains(o.text, "://"+host+"/")) {
			continue
		}
		if cause, ok := Classify(o.text); ok {
			return o, cause, true
		}
		return o, Cause{Inner: o.text}, true
	}
	return observation{}, Cause{}, false
}

// registrySays uses what xpdoctor read of the dependency's repository. It
// decides only what a read from elsewhere can: that the repository does not
// exist, or that no tag satisfies the constraint. That xpdoctor reaches it
// does not mean the cluster does, and the reverse.
func (c *pkgCase) registrySays(v depVerdict, want string, lk DependencyLookup) (depVerdict, bool) {
	switch {
	case lk.Err != nil && lk.Err.Kind == xpkg.ErrNotFound:
		v.code = findings.DependencyReferenceOutdated
		v.why = fmt.Sprintf("%s does not exist: the registry answers %s for %s", want, lk.Err.Detail, lk.Repository)
		v.fix = fmt.Sprintf("use a version of %s whose dependsOn names where the package is published now (crane ls %s shows what is there)", c.pkg.Name, lk.Repository)
		return v, true
	case lk.Err != nil && lk.Err.Kind == xpkg.ErrUnauthorized && lk.ResolverCredentials:
		// Listed with exactly what the resolver sends (doctor's
		// dependencyKeychain), so the refusal is Crossplane's too.
		v.why = fmt.Sprintf("the registry refuses to list the tags of %s to the credentials Crossplane's dependency resolver sends (the pull secret of an ImageConfig matching it and the imagePullSecrets of Crossplane's ServiceAccount, never the package's packagePullSecrets): %s", lk.Repository, lk.Err.Detail)
		v.fix = fmt.Sprintf("give Crossplane credentials for %s: imagePullSecrets on Crossplane's ServiceAccount (Helm value imagePullSecrets), or, on v1.17.3+, an ImageConfig matching %s with spec.registry.authentication.pullSecretRef", hostOf(lk.Repository), lk.Repository)
		return v, true
	case lk.Err == nil && v.dep.Constraint != "" && !crossplane.IsDigest(v.dep.Constraint):
		if _, err := crossplane.ResolveDependency(v.dep.Constraint, lk.Tags); err != nil {
			v.why = fmt.Sprintf("%s exists at %s, but %s", want, lk.Repository, err)
			v.fix = fmt.Sprintf("push a tag that satisfies %s to %s, or use a version of %s whose constraint accepts a tag it has", v.dep.Constraint, lk.Repository, c.pkg.Name)
			return v, true
		}
	}
	return v, false
}

// unreachable is the dependency the resolver could not get, by why.
func (c *pkgCase) unreachable(v depVerdict, want string, o observation, cause Cause) depVerdict {
	said := fmt.Sprintf("the Lock's resolver says (%s): %s", o.where, o.text)
	switch cause.Code {
	case findings.RegistryUnreachable, findings.RegistryRateLimited:
		v.mirror = true
		v.why = fmt.Sprintf("Crossplane cannot reach %s where it looks, %s; %s", want, whereCrossplaneLooks(c.s, v.dep.Package), said)
	case findings.RegistryUnauthorized:
		v.why = fmt.Sprintf("the registry refuses Crossplane's dependency resolver for %s; %s", want, said)
		v.fix = fmt.Sprintf("give Crossplane credentials for %s: imagePullSecrets on Crossplane's ServiceAccount, or, on v1.17.3+, an ImageConfig with spec.registry.authentication.pullSecretRef (the resolver does not use packagePullSecrets)", hostOf(v.dep.Package))
	case findings.RegistryTLSUntrusted:
		v.why = fmt.Sprintf("Crossplane does not trust the TLS certificate of %s's registry; %s", want, said)
		v.fix = findings.Catalogue[findings.RegistryTLSUntrusted].Fix
	case findings.ManifestNotFound:
		v.why = fmt.Sprintf("%s does not exist where Crossplane looks (an outdated dependency reference?); %s", want, said)
		v.fix = fmt.Sprintf("check it: crane ls %s; if the package moved, use a version of %s whose dependsOn names where it is published now", v.dep.Package, c.pkg.Name)
	default:
		v.why = fmt.Sprintf("Crossplane could not install %s; %s", want, said)
		v.fix = c.dependencyChecks(v.dep.Package)
	}
	return v
}

// dependencyChecks are the commands that tell why a dependency is missing.
func (c *pkgCase) dependencyChecks(dep string) string {
	var b strings.Builder
	b.WriteString("find out why Crossplane did not install it:\n  kubectl get lock lock -o yaml   (status.conditions says what the resolver met, v1.18+)\n")
	fmt.Fprintf(&b, "  kubectl -n %s logs deploy/crossplane | grep -i lock\n", c.s.CrossplaneNamespace)
	if dep != "" {
		fmt.Fprintf(&b, "  crane ls %s   (does it exist, with a tag that satisfies the constraint?)\n", dep)
	}
	b.WriteString("a dependency that does not exist under that name needs a package version with a current dependsOn; one the cluster cannot reach needs mirroring")
	return b.String()
}

// imageConfigSince is the first release with ImageConfig rewriteImage (PR #6421).
var imageConfigSince = semver.MustParse("1.20.0")

// mirrorPlan is where one dependency goes in the registry the cluster uses.
type mirrorPlan struct {
	dep Dependency
	// mirror is the dependency's repository in the cluster's registry.
	mirror string
	// from/to is the prefix rewrite that maps the dependency there; via names
	// the ImageConfig that already does.
	from, to, via string
}

// planMirror maps a dependency into the registry the package comes from,
// keeping the path the package keeps: the trailing path segments the
// package's repository shares with the dependency's are kept, the prefix
// before them is the mirror's. A --upstream-registry mapping wins.
func (c *pkgCase) planMirror(d Dependency) (mirrorPlan, bool) {
	if c.s != nil {
		// An ImageConfig already says where Crossplane looks: mirror there.
		if ref, via := rewriteDependency(c.s, d.Package); via != "" {
			if hostOf(ref) == hostOf(d.Package) {
				return mirrorPlan{}, false
			}
			return mirrorPlan{dep: d, mirror: ref, via: via}, true
		}
	}
	for _, m := range c.in.Upstreams {
		if m.Mirror == "" || m.Upstream == "" {
			continue
		}
		up := strings.TrimSuffix(m.Upstream, "/")
		if rest, ok := strings.CutPrefix(d.Package, up+"/"); ok {
			mir := strings.TrimSuffix(m.Mirror, "/")
			return mirrorPlan{dep: d, mirror: mir + "/" + rest, from: up, to: mir}, true
		}
	}
	pkgParent := strings.Split(xpkg.RepositoryOf(c.source), "/")
	depParent := strings.Split(d.Package, "/")
	if len(pkgParent) < 2 || len(depParent) < 2 {
		return mirrorPlan{}, false
	}
	pkgParent, depParent = pkgParent[:len(pkgParent)-1], depParent[:len(depParent)-1]
	// Keep the dependency's host out of the shared part: it is what is rewritten.
	for len(pkgParent) > 1 && len(depParent) > 1 && pkgParent[len(pkgParent)-1] == depParent[len(depParent)-1] {
		pkgParent, depParent = pkgParent[:len(pkgParent)-1], depParent[:len(depParent)-1]
	}
	from, to := strings.Join(depParent, "/"), strings.Join(pkgParent, "/")
	mirror := to + strings.TrimPrefix(d.Package, from)
	if hostOf(mirror) == hostOf(d.Package) || mirror == d.Package {
		// Never mirror a registry into itself.
		return mirrorPlan{}, false
	}
	return mirrorPlan{dep: d, mirror: mirror, from: from, to: to}, true
}

// mirrorAdvice is for dependencies Crossplane cannot reach where it looks:
// copy them into the registry the cluster uses, and make Crossplane look there.
func (c *pkgCase) mirrorAdvice(deps []Dependency) string {
	var plans []mirrorPlan
	var b strings.Builder
	for _, d := range deps {
		p, ok := c.planMirror(d)
		if !ok {
			fmt.Fprintf(&b, "%s already names %s, the registry this package comes from: push the dependency there (crane ls %s shows what it holds)\n", d.Package, hostOf(d.Package), d.Package)
			continue
		}
		plans = append(plans, p)
	}
	if len(plans) == 0 {
		return strings.TrimRight(b.String(), "\n")
	}
	b.WriteString("mirror each dependency into the registry the cluster uses (from a machine that reaches the upstream; --closure resolves the version the constraint allows):\n")
	for _, p := range plans {
		tag := "TAG"
		if crossplane.IsDigest(p.dep.Constraint) {
			fmt.Fprintf(&b, "  kubectl xpdoctor mirror %s@%s %s@%s --yes\n", p.dep.Package, p.dep.Constraint, p.mirror, p.dep.Constraint)
			continue
		}
		note := ""
		if p.dep.Constraint != "" {
			note = "TAG: the highest tag that satisfies " + p.dep.Constraint
		}
		if p.via != "" {
			fmt.Fprintf(&b, "  kubectl xpdoctor mirror %s:%s %s:%s --yes   (ImageConfig %s makes Crossplane look there%s)\n", p.dep.Package, tag, p.mirror, tag, p.via, prefixed("; ", note))
			continue
		}
		if !strings.Contains(p.from, "/") {
			// --closure keeps the path below the host (closure.Destination).
			fmt.Fprintf(&b, "  kubectl xpdoctor mirror --closure %s:%s %s --yes   (lands at %s with its own dependencies%s)\n", p.dep.Package, tag, p.to, p.mirror, prefixed("; ", note))
		} else {
			fmt.Fprintf(&b, "  kubectl xpdoctor mirror %s:%s %s:%s --yes%s\n", p.dep.Package, tag, p.mirror, tag, prefixed("   (", note+")"))
		}
	}
	yes, maybe := supportsRewrite(c.in)
	rs := make([]imageconfig.Rewrite, 0, len(plans))
	for _, p := range plans {
		if p.via == "" {
			rs = append(rs, imageconfig.Rewrite{From: p.from, To: p.to})
		}
	}
	if len(rs) == 0 {
		return strings.TrimRight(b.String(), "\n")
	}
	if yes || maybe {
		b.WriteString("then make Crossplane look there (ImageConfig, Crossplane v1.20+):\n")
		if y, err := imageconfig.YAML(imageconfig.DefaultAPIVersion, rs); err == nil {
			b.WriteString(y)
		}
	}
	if !yes {
		b.WriteString("Crossplane before v1.20 cannot rewrite dependency sources: install each dependency from the mirror by its fully qualified reference and set skipDependencyResolution: true on " + c.pkg.Name + " (the Lock will not track them; crossplane/crossplane#4588)\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// supportsRewrite tells whether the target has ImageConfig rewriteImage:
// yes for v1.20+, maybe for an unknown version or a generation that straddles v1.20.
func supportsRewrite(in Input) (yes, maybe bool) {
	if !in.VersionKnown || len(in.Targets) == 0 {
		return false, true
	}
	t := in.Targets[0]
	if t.Version != nil {
		return !t.Version.LessThan(imageConfigSince), false
	}
	if t.From != nil && !t.From.LessThan(imageConfigSince) {
		return true, false
	}
	return false, t.Until == nil || t.Until.GreaterThan(imageConfigSince)
}

// explainVersionConflict names the installed version and the constraint.
func explainVersionConflict(c *pkgCase, g *causeGroup, f *findings.Finding) {
	type conflict struct{ source, version, constraint string }
	var cs []conflict
	for _, in := range g.inners() {
		for _, m := range reIncompatibleDep.FindAllStringSubmatch(in, -1) {
			cs = append(cs, conflict{m[1], m[2], strings.TrimSpace(m[3])})
		}
		if m := reIncompatibleList.FindStringSubmatch(in); m != nil {
			for _, src := range strings.Fields(strings.ReplaceAll(m[1], ",", " ")) {
				cs = append(cs, conflict{source: src})
			}
		}
	}
	if len(cs) == 0 {
		return
	}
	var whys, fixes []string
	for _, k := range cs {
		if k.constraint == "" {
			k.constraint = c.constraintOf(k.source)
		}
		name := ""
		if ps := c.installedAs(k.source); len(ps) > 0 {
			name = ps[0].Name
			if k.version == "" {
				k.version = tagOf(ps[0].Package)
			}
		}
		why := fmt.Sprintf("%s is installed at %s, which misses the constraint %s", k.source, orUnknown(k.version), k.constraint)
		if k.constraint == "" {
			why = fmt.Sprintf("%s is installed at %s, which misses %s's constraint for it", k.source, orUnknown(k.version), c.pkg.Name)
		}
		if crossplane.IsDigest(k.constraint) {
			f.Code = findings.DependencyDigestMismatch
			why = fmt.Sprintf("%s is installed at %s, but %s pins it by digest %s", k.source, orUnknown(k.version), c.pkg.Name, k.constraint)
		}
		whys = append(whys, why)
		target := "a version that satisfies " + k.constraint
		if k.constraint == "" {
			target = "a version that satisfies " + c.pkg.Name + "'s constraint"
		}
		if crossplane.IsDigest(k.constraint) {
			target = k.source + "@" + k.constraint
		}
		if name != "" {
			fixes = append(fixes, fmt.Sprintf("move %s from %s to %s (Crossplane does not change an installed dependency's version for you before v2.0): kubectl patch %s %s --type merge -p '{\"spec\":{\"package\":\"%s:TAG\"}}'",
				name, orUnknown(k.version), target, lower(c.findPackage(name).Kind), name, k.source))
		} else {
			fixes = append(fixes, fmt.Sprintf("move the installed %s to %s, or use a version of %s whose constraint accepts %s", k.source, target, c.pkg.Name, orUnknown(k.version)))
		}
	}
	f.Message = fmt.Sprintf("%s %s needs dependency versions the cluster does not have: %s", c.pkg.Kind, c.pkg.Name, strings.Join(whys, "; "))
	if k := cs[0]; k.constraint == "" {
		f.Message += " (the message does not give the constraint; the package's dependsOn does: kubectl xpdoctor inspect " + orRef(c.pkg.Package) + ")"
	}
	f.Remediation = strings.Join(fixes, "\n")
}

func tagOf(ref string) string {
	r := ref
	if i := strings.Index(r, "@"); i >= 0 {
		return r[i+1:]
	}
	if i := strings.LastIndex(r, ":"); i >= 0 && !strings.Contains(r[i:], "/") {
		return r[i+1:]
	}
	return ""
}

// explainGraph names the duplicate node and the packages behind it, or the
// source change that left the Lock without a node for this package.
func explainGraph(c *pkgCase, g *causeGroup, f *findings.Finding) {
	inner := strings.Join(g.inners(), " ")
	if m := reNodeExists.FindStringSubmatch(inner); m != nil {
		src := m[1]
		var names []string
		for _, p := range c.s.Packages {
			if xpkg.RepositoryOf(p.Package) == src {
				names = append(names, fmt.Sprintf("%s %s", p.Kind, p.Name))
			}
		}
		for _, lp := range c.s.Lock.BySource(src) {
			names = append(names, "Lock entry "+lp.Name)
		}
		sort.Strings(names)
		names = uniqStrings(names)
		f.Message = fmt.Sprintf("the Lock holds %s twice, so Crossplane cannot build its dependency graph, for any package (the graph is keyed by source)", src)
		if len(names) > 0 {
			f.Message += ": " + strings.Join(names, ", ")
		}
		keep := ""
		if len(names) > 0 {
			keep = " (of " + strings.Join(names, ", ") + ")"
		}
		f.Remediation = fmt.Sprintf("keep one package for %s%s: delete the one Crossplane created for a dependsOn, or the one you declared yourself (and set skipDependencyResolution: true on the packages that depend on it if you install it yourself); list them with\n  kubectl get providers,functions,configurations -o custom-columns=KIND:.kind,NAME:.metadata.name,PACKAGE:.spec.package | grep %s", src, keep, lastSegment(src))
		return
	}
	if strings.Contains(inner, "missing node in tree") {
		// revision/dependency.go TraceNode: the Lock has no node under the
		// package's source (crossplane/crossplane#3985, fixed by #5946).
		f.Message = fmt.Sprintf("Crossplane's dependency graph has no node for %s's source %s: the Lock records the package under another source (spec.package changed its registry while the digest, and so the revision, stayed the same)", c.pkg.Name, orRef(xpkg.RepositoryOf(c.source)))
		f.Remediation = fmt.Sprintf("make Crossplane enter it again: kubectl delete %srevision %s (Crossplane recreates it), or upgrade Crossplane to a release with crossplane/crossplane#5946 (v1.15.x-v1.17.x patches and later)", lower(c.pkg.Kind), c.revName())
	}
}

func uniqStrings(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// familyFindings flags provider family members whose registry and
// organisation differ from their family provider's.
func familyFindings(in Input) []findings.Finding {
	s := in.Snapshot
	families := map[string][]cluster.Package{}
	for _, p := range s.Packages {
		if p.Kind != "Provider" {
			continue
		}
		rev := currentRevision(s, p)
		if rev == nil || rev.Family == "" {
			continue
		}
		families[rev.Family] = append(families[rev.Family], p)
	}
	var names []string
	for f := range families {
		names = append(names, f)
	}
	sort.Strings(names)
	var out []findings.Finding
	for _, fam := range names {
		members := families[fam]
		ref := ""
		for _, m := range members {
			if strings.Contains(xpkg.RepositoryOf(m.Source()), "provider-"+fam) || strings.HasSuffix(xpkg.RepositoryOf(m.Source()), "/provider-family-"+strings.TrimPrefix(fam, "family-")) {
				ref = xpkg.Org(xpkg.RepositoryOf(m.Source()))
			}
		}
		if ref == "" && len(members) > 0 {
			ref = xpkg.Org(xpkg.RepositoryOf(members[0].Source()))
		}
		for _, m := range members {
			if o := xpkg.Org(xpkg.RepositoryOf(m.Source())); o != ref {
				out = append(out, findings.Finding{Code: findings.FamilyRegistryMismatch, Severity: findings.Error, Subject: findings.Subject{Kind: m.Kind, Name: m.Name},
					Image:       m.Source(),
					Message:     fmt.Sprintf("%s is in %s, but family %s is in %s: the RBAC manager will not grant it the family's ProviderConfig types", m.Name, o, fam, ref),
					Remediation: findings.Catalogue[findings.FamilyRegistryMismatch].Fix})
			}
		}
	}
	return out
}

// WhereCrossplaneLooks is the repository Crossplane v1.20+ looks up for a
// dependency source: the longest matching ImageConfig rewrite (PR #6421).
func WhereCrossplaneLooks(s *cluster.Snapshot, dep string) string {
	ref, _ := rewriteDependency(s, dep)
	return ref
}

func rewriteDependency(s *cluster.Snapshot, dep string) (ref, via string) {
	best, bestLen := dep, -1
	for _, ic := range s.ImageConfigs {
		if ic.RewritePrefix == "" {
			continue
		}
		for _, p := range ic.Prefixes {
			if strings.HasPrefix(dep, p) && len(p) > bestLen {
				best, bestLen, via = ic.RewritePrefix+strings.TrimPrefix(dep, p), len(p), ic.Name
			}
		}
	}
	return best, via
}

// whereCrossplaneLooks says it, for a message.
func whereCrossplaneLooks(s *cluster.Snapshot, dep string) string {
	best, via := rewriteDependency(s, dep)
	if via == "" {
		host, _, _ := strings.Cut(dep, "/")
		return host + " (no ImageConfig rewrites it)"
	}
	return best + " (rewritten by ImageConfig " + via + ")"
}
