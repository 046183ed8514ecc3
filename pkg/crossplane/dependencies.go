package crossplane

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// ImageRewrite is an ImageConfig with spec.rewriteImage (Crossplane v1.20+).
type ImageRewrite struct {
	// Name is the ImageConfig's name.
	Name string `json:"name"`
	// Prefixes are its spec.matchImages[].prefix.
	Prefixes []string `json:"prefixes"`
	// RewritePrefix is its spec.rewriteImage.prefix.
	RewritePrefix string `json:"rewritePrefix"`
}

// RewriteSource rewrites a package source as Crossplane does
// (internal/xpkg/config.go@v1.20.0 ImageConfigStore.RewritePath, the same in
// crossplane-runtime:pkg/xpkg/config.go@v2.3.3): the ImageConfig with the
// longest matching prefix wins (the first listed on a tie; the API lists
// them by name), and its longest matching prefix is replaced. Prefixes
// match the raw string, before any default registry. It returns the source
// unchanged and "" when no ImageConfig rewrites it.
func RewriteSource(rs []ImageRewrite, source string) (string, string) {
	best, longest := -1, 0
	for i, r := range rs {
		if r.RewritePrefix == "" {
			continue
		}
		for _, p := range r.Prefixes {
			if strings.HasPrefix(source, p) && len(p) > longest {
				best, longest = i, len(p)
			}
		}
	}
	if best < 0 {
		return source, ""
	}
	match := ""
	for _, p := range rs[best].Prefixes {
		if strings.HasPrefix(source, p) && len(p) > len(match) {
			match = p
		}
	}
	return rs[best].RewritePrefix + strings.TrimPrefix(source, match), rs[best].Name
}

// rewriteSince is the first release with ImageConfig rewriteImage (PR #6421).
var rewriteSince = v("1.20.0")

// DependencyLookup is where a Crossplane version's dependency resolver
// looks for one dependsOn entry.
type DependencyLookup struct {
	// Source is the dependency as the resolver lists its tags: the
	// dependsOn package, rewritten by an ImageConfig when one matches.
	Source string `json:"source"`
	// Repository is Source with the default registry applied.
	Repository string `json:"repository,omitempty"`
	// RewrittenBy names the ImageConfig that rewrote it.
	RewrittenBy string `json:"rewrittenBy,omitempty"`
	// Problem is set when the lookup cannot be told.
	Problem string `json:"problem,omitempty"`
}

// LookupDependency says where the resolver looks for d
// (resolver/reconciler.go@v1.20.0 findDependencyVersionToInstall: the
// dependency parsed with the --registry default, rewritten, its tags
// listed; @v2.3.4 the same through ListVersions, with go-containerregistry's
// own default registry since v2 has none).
func (t Target) LookupDependency(d xpkg.Dependency, rs []ImageRewrite) DependencyLookup {
	src := strings.TrimSpace(d.Package)
	out := DependencyLookup{Source: src}
	if src == "" {
		out.Problem = "the dependsOn entry names no package"
		return out
	}
	if t.Version == nil || !t.Version.LessThan(rewriteSince) {
		out.Source, out.RewrittenBy = RewriteSource(rs, src)
	}
	reg, known := t.defaultRegistry()
	a, err := name.ParseReference(out.Source, name.WithDefaultRegistry("a.invalid"))
	if err != nil {
		out.Problem = fmt.Sprintf("%q is not a valid package reference: %v", out.Source, err)
		return out
	}
	b, _ := name.ParseReference(out.Source, name.WithDefaultRegistry("b.invalid"))
	if a.Context().RegistryStr() != b.Context().RegistryStr() {
		// Unqualified: the registry is Crossplane's default.
		if !known {
			out.Problem = fmt.Sprintf("%s names no registry, so where Crossplane looks depends on its version's default registry (index.docker.io before v1.15, xpkg.upbound.io in v1.15-v1.19, xpkg.crossplane.io in v1.20); name the version with --crossplane-version", out.Source)
			return out
		}
		a, _ = name.ParseReference(out.Source, name.WithDefaultRegistry(reg))
	}
	out.Repository = a.Context().String()
	return out
}

// defaultRegistry is the registry an unqualified dependency comes from
// (cmd/crossplane/core/core.go: --registry defaults to index.docker.io up
// to v1.14, xpkg.upbound.io from v1.15, xpkg.crossplane.io in v1.20; v2 has
// no default and parses with go-containerregistry's, index.docker.io).
func (t Target) defaultRegistry() (string, bool) {
	switch {
	case t.From.Major() >= 2:
		return name.DefaultRegistry, true
	case t.Version == nil:
		return "", false
	case t.Version.LessThan(v("1.15.0")):
		return name.DefaultRegistry, true
	case t.Version.LessThan(v("1.20.0")):
		return "xpkg.upbound.io", true
	}
	return "xpkg.crossplane.io", true
}

// DependencyObservations are what the registry answered for dependency
// lookups, keyed by DependencyLookup.Repository (tags) and by
// Repository@digest (a digest constraint's manifest).
type DependencyObservations struct {
	// Rewrites are the ImageConfigs the lookups were made with.
	Rewrites []ImageRewrite
	Tags     map[string]TagList
	// Digests maps repository@digest to nil when the manifest exists, or
	// to the failure to read it.
	Digests map[string]*xpkg.RegistryError
}

// TagList is a repository's tags, or the failure to list them.
type TagList struct {
	Tags []string
	Err  *xpkg.RegistryError
}

// DependencyVerdict is how one dependsOn entry resolves.
type DependencyVerdict struct {
	// Package and Constraint are the dependsOn entry as written.
	Package    string `json:"package"`
	Constraint string `json:"constraint,omitempty"`
	DependencyLookup
	// Resolved is the tag or digest Crossplane installs.
	Resolved string `json:"resolved,omitempty"`
	// Failure is why Crossplane cannot install it: the Lock's Resolved
	// condition message, or the dependency package's own failure.
	Failure string `json:"failure,omitempty"`
	// FailureOn is the object carrying Failure.
	FailureOn string `json:"failureOn,omitempty"`
	// Exact is true when Failure is Crossplane's full text.
	Exact bool `json:"exact,omitempty"`
	// Checked is false when xpdoctor could not look.
	Checked bool `json:"checked"`
}

// judgeDependencies resolves each dependsOn as the dependency resolver
// would and, when one cannot be installed, predicts the revision's
// failure. The resolver installs the Lock's first missing dependency and
// nothing else until it can (resolver/reconciler.go@v1.20.0 implied[0],
// the same at v2.3.4), so every dependency from the first unresolvable one
// on stays missing; the revision lists them sorted, three and "N more"
// (revision/dependency.go NDependenciesAndSomeMore, crossplane-runtime
// resource.StableNAndSomeMore). Only this package's own dependencies are
// read: what the dependencies themselves depend on is `xpdoctor mirror
// --closure`'s to walk.
func judgeDependencies(t Target, meta *xpkg.Meta, obs *DependencyObservations, out Verdict) Verdict {
	m := t.Messages
	blocked := -1
	for i, d := range meta.DependsOn {
		dv := DependencyVerdict{Package: d.Package, Constraint: d.Version, DependencyLookup: t.LookupDependency(d, obs.Rewrites)}
		judgeDependency(t, d, obs, &dv)
		if dv.Failure != "" && blocked < 0 {
			blocked = i
		}
		out.Dependencies = append(out.Dependencies, dv)
	}
	if blocked < 0 {
		return out
	}
	var missing []string
	for _, d := range meta.DependsOn[blocked:] {
		if d.Version == "" {
			missing = append(missing, fmt.Sprintf("%q", d.Package))
			continue
		}
		missing = append(missing, fmt.Sprintf("%q (%s)", d.Package, d.Version))
	}
	sort.Strings(missing)
	out.Outcome, out.Reason, out.Stage = OutcomeFail, findings.DependencyUnresolvable, StageDependencies
	out.Object, out.Event, out.RevisionCreated = t.Surface(StageDependencies)
	out.Message = Render(m.MissingDependencies, map[string]string{"deps": firstNAndSomeMore(3, missing)})
	// Earlier dependencies install, and what they depend on (unread here)
	// joins the list.
	out.Exact = blocked == 0
	out.Installs = nil
	return out
}

func judgeDependency(t Target, d xpkg.Dependency, obs *DependencyObservations, dv *DependencyVerdict) {
	m := t.Messages
	if dv.Problem != "" {
		return
	}
	lock := func(msg string, exact bool) {
		dv.Failure, dv.FailureOn, dv.Exact, dv.Checked = msg, "Lock lock, condition Resolved=False", exact, true
	}
	if IsDigest(d.Version) {
		digest := strings.TrimSpace(d.Version)
		e, seen := obs.Digests[dv.Repository+"@"+digest]
		if !seen {
			return
		}
		dv.Checked = true
		if e == nil {
			dv.Resolved = digest
			return
		}
		// The resolver creates the dependency at that digest unchecked; the
		// new package then fails to unpack, in its own words.
		dv.Failure, dv.FailureOn = fmt.Sprintf("cannot unpack package: %s", e.LibraryText()), fmt.Sprintf("the %s Crossplane creates for %s@%s", orDefault(d.Kind, "package"), d.Package, digest)
		return
	}
	tl, seen := obs.Tags[dv.Repository]
	if !seen {
		return
	}
	if tl.Err != nil {
		lock(Render(m.DependencyTags, map[string]string{"detail": tl.Err.LibraryText(), "source": dv.Source}), tl.Err.StatusCode != 0)
		return
	}
	tag, err := resolveTag(d.Version, tl.Tags, t.SkipsIncompleteTags)
	var bad errInvalidConstraint
	switch {
	case errors.As(err, &bad):
		// resolver/reconciler.go errInvalidConstraint, around the semver
		// library's own error text.
		lock(resolutionFailed+"cannot find dependency version to install: version constraint on dependency is invalid: "+unwrapSemver(err), false)
	case err != nil:
		lock(Render(m.NoValidVersion, map[string]string{"package": d.Package, "constraint": d.Version}), true)
	default:
		dv.Resolved, dv.Checked = tag, true
	}
}

func unwrapSemver(err error) string {
	if u := errors.Unwrap(errors.Unwrap(err)); u != nil {
		return u.Error()
	}
	return err.Error()
}

// firstNAndSomeMore is crossplane-runtime's resource.FirstNAndSomeMore
// (pkg/resource/resource.go@v1.20.0).
func firstNAndSomeMore(n int, names []string) string {
	if n <= 0 {
		return fmt.Sprintf("%d", len(names))
	}
	if len(names) > n {
		return fmt.Sprintf("%s, and %d more", strings.Join(names[:n], ", "), len(names)-n)
	}
	if len(names) == n {
		return fmt.Sprintf("%s, and %s", strings.Join(names[:n-1], ", "), names[n-1])
	}
	return strings.Join(names, ", ")
}
