// Package crossplane knows how each Crossplane release reads a package
// image, as data: generations, limits, deadlines and the exact messages they
// emit. It does no I/O: Judge turns what package xpkg observed into the
// verdict a given Crossplane version would reach.
package crossplane

import (
	"fmt"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Match is how a generation recognises package.yaml among tar entries.
type Match int

const (
	// MatchExact wants an entry named exactly "package.yaml"
	// (imageback.go@v1.20.0: h.Name == xpkg.StreamFile).
	MatchExact Match = iota
	// MatchBaseName wants any entry whose base name is package.yaml
	// (imageback.go@v2.1.3: filepath.Base; crossplane-runtime client.go@v2.3.3).
	MatchBaseName
)

// Generation is a span of Crossplane releases that read packages alike.
type Generation struct {
	// Name is how users see it: "v1.14-v1.20".
	Name string
	// From is the first release of the span; Until the first release after it
	// (nil: open ended).
	From, Until *semver.Version

	// MaxLayers rejects images with more layers; 0 means no limit.
	MaxLayers int
	// RejectMultipleBase fails on two or more annotated layers; otherwise
	// the first one is used.
	RejectMultipleBase bool
	// AnnotatedMatch and FlattenMatch say how package.yaml is matched on each
	// path. Flatten names are cleaned by mutate.Extract, so "./package.yaml"
	// becomes "package.yaml" there.
	AnnotatedMatch, FlattenMatch Match
	// ValidateFlatten is true when validate.Image downloads every layer (twice:
	// compressed, then uncompressed) before flattening.
	ValidateFlatten bool
	// Deadline is the reconcile timeout the parse runs under, and Reconciler
	// says whose it is.
	Deadline   time.Duration
	Reconciler string
	// UnpackStages is the last stage the package manager goes through
	// itself: a failure up to it surfaces on the package object (event
	// UnpackPackage) and no revision is created; later stages are the
	// revision's. v1.x-v2.1 resolve only the digest (manager/revisioner.go@v2.1.3);
	// v2.2+ also fetch and parse there (manager/reconciler.go@v2.3.4 r.pkg.Get).
	UnpackStages Stage
	// MetaEvent is the event reason for "not exactly one package meta type":
	// LintPackage, or ValidatePackage once that check became validation
	// (revision/reconciler.go@v2.2.0 errValidatePackage).
	MetaEvent string
	// HeadsDigests is true when a digest reference is also resolved with
	// HEAD first (manager/revisioner.go@v2.1.3 always calls Head); v2.2+
	// uses a digest as given (crossplane-runtime:pkg/xpkg/client.go@v2.3.3 Get).
	HeadsDigests bool
	// SkipsIncompleteTags is true when the dependency resolver ignores tags
	// that are not complete semantic versions ("v1"), as
	// resolver/reconciler.go@v2.1.3 and @v2.3.4 findDependencyVersionToInstall
	// do; resolver/reconciler.go@v1.20.0 does not.
	SkipsIncompleteTags bool
	// Messages are the texts this generation puts in events and conditions.
	Messages Messages
}

// Stage is the step of installing a package at which a failure surfaces,
// in the order Crossplane takes them (manager/reconciler.go and
// revision/reconciler.go at v1.20.0, v2.1.3 and v2.3.4).
type Stage string

// Stages.
const (
	// StageResolve resolves the package reference to a digest (HEAD, then GET).
	StageResolve Stage = "resolve"
	// StageFetch reads the manifest and layers and finds package.yaml.
	StageFetch Stage = "fetch"
	// StageParse parses package.yaml.
	StageParse Stage = "parse"
	// StageLint checks for one meta object and the Crossplane version constraint.
	StageLint Stage = "lint"
	// StageDependencies finds every dependsOn in the Lock at a matching version.
	StageDependencies Stage = "dependencies"
	// StageEstablish creates and controls the package's objects.
	StageEstablish Stage = "establish"
	// StageRuntime runs the package's Deployment.
	StageRuntime Stage = "runtime"
)

var stageOrder = map[Stage]int{StageResolve: 1, StageFetch: 2, StageParse: 3, StageLint: 4, StageDependencies: 5, StageEstablish: 6, StageRuntime: 7}

// Before reports whether s comes before (or is) o.
func (s Stage) Before(o Stage) bool { return stageOrder[s] <= stageOrder[o] }

// Surface is where a generation reports a failure of a stage: on the
// package object or on its revision, with which event reason, and whether
// a revision exists at all.
func (g Generation) Surface(s Stage) (object, event string, revision bool) {
	switch {
	case s.Before(g.UnpackStages):
		return "package", "UnpackPackage", false
	case s == StageFetch || s == StageParse:
		return "revision", "ParsePackage", true
	case s == StageLint:
		return "revision", "LintPackage", true
	case s == StageDependencies:
		return "revision", "ResolveDependencies", true
	}
	return "revision", "SyncPackage", true
}

// Messages are the complete texts a generation puts in events and
// conditions. Placeholders: {ref} the package reference, {files} entries
// checked, {annotated} true/false, {layers} layer count, {max} layer limit,
// {platform} the wanted platform, {index} the index reference, {detail} an
// underlying error text, {head} the failed HEAD's text, {version} a
// Crossplane version, {deps} missing dependencies as Crossplane lists them,
// {package} a dependency's package, {constraint} its version constraint,
// {source} where the resolver lists its tags.
type Messages struct {
	// Resolve is the failure to resolve the tag (missing tag, auth, TLS,
	// network): the HEAD's failure, then the GET fallback's.
	Resolve string
	// Fetch is a failure to read the manifest once resolved.
	Fetch string
	// NoPlatform is the failure for an index without a linux/amd64 child.
	NoPlatform    string
	TooManyLayers string
	MultipleBase  string
	NotFound      string
	InvalidLayer  string
	ParseContents string
	// NotOneMeta is the lint failure for zero or several meta objects.
	NotOneMeta   string
	Incompatible string
	// FlattenTimeout is how the flatten path fails when it outlives the deadline.
	FlattenTimeout string
	// MissingDependencies is the revision's condition while a dependency is
	// not in the Lock (revision/dependency.go@v1.20.0 errFmtMissingDependencies,
	// the same at v2.1.3 and v2.3.4), prefixed with errResolveDeps.
	MissingDependencies string
	// DependencyTags is the Lock's Resolved condition when the resolver
	// cannot list a dependency's tags (resolver/reconciler.go errFindDependency,
	// errFetchTags).
	DependencyTags string
	// NoValidVersion is the Lock's Resolved condition when no tag satisfies
	// the constraint (resolver/reconciler.go errFmtNoValidVersion).
	NoValidVersion string
}

// Render fills a template.
func Render(tmpl string, vars map[string]string) string {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

func v(s string) *semver.Version { return semver.MustParse(s) }

// parserBackend prefixes every ImageBackend failure (revision/reconciler.go@v2.1.3 errInitParserBackend).
const parserBackend = "cannot initialize parser backend: "

// imageBackendMessages are the texts of the ImageBackend generations
// (imageback.go and revision/reconciler.go at v1.14.0 - v2.1.8; the tag is
// resolved first by manager/revisioner.go, whose Head falls back to GET in
// internal/xpkg/fetch.go).
var imageBackendMessages = Messages{
	Resolve:        "cannot unpack package: failed to fetch package digest from remote: failed to fetch package descriptor with a GET request after a previous HEAD request failure: {head}: {detail}",
	Fetch:          parserBackend + "failed to fetch package from remote: {detail}",
	NoPlatform:     parserBackend + "failed to fetch package from remote: no child with platform {platform} in index {index}",
	TooManyLayers:  parserBackend + "package has {layers} layers, but only {max} are allowed",
	MultipleBase:   parserBackend + "package is invalid due to multiple annotated base layers",
	NotFound:       parserBackend + `couldn't find "package.yaml" file after checking {files} files in the archive (annotated layer: {annotated}): EOF`,
	InvalidLayer:   parserBackend + "invalid package layer: {detail}",
	ParseContents:  "cannot parse package contents: {detail}",
	NotOneMeta:     "linting package contents failed: not exactly one package meta type",
	Incompatible:   "incompatible Crossplane version: package is not compatible with Crossplane version ({version})",
	FlattenTimeout: parserBackend + "invalid package image: validating layers: context deadline exceeded",
	// revision/reconciler.go@v1.20.0 errResolveDeps, revision/dependency.go
	// errFmtMissingDependencies.
	MissingDependencies: "cannot resolve package dependencies: missing dependencies: {deps}",
	// resolver/reconciler.go@v1.20.0 and @v2.1.3: Tags' error wrapped twice.
	DependencyTags: resolutionFailed + "cannot find dependency version to install: cannot fetch dependency package tags: {detail}",
	NoValidVersion: noValidVersion,
}

// resolutionFailed begins every Lock Resolved=False message
// (apis/pkg/v1beta1/conditions.go@v1.20.0 ResolutionFailed, the same at
// v2.1.3 and v2.3.4).
const resolutionFailed = "Error occurred during dependency resolution "

// noValidVersion is errFmtNoValidVersion (resolver/reconciler.go@v1.20.0,
// the same at v2.1.3 and v2.3.4).
const noValidVersion = resolutionFailed + "dependency ({package}) does not have a valid version to upgrade that satisfies all constraints. If there is a valid version that requires downgrade, manual intervention is required. Constraints: {constraint}"

// Generations are ordered oldest first.
var Generations = []Generation{
	{
		Name: "v1.13", From: v("1.13.0"), Until: v("1.14.0"),
		MaxLayers: 256, RejectMultipleBase: true,
		AnnotatedMatch: MatchExact, FlattenMatch: MatchExact,
		ValidateFlatten: true, Deadline: 3 * time.Minute, Reconciler: "revision",
		UnpackStages: StageResolve, MetaEvent: "LintPackage", HeadsDigests: true,
		Messages: with(imageBackendMessages, func(m *Messages) {
			// v1.13 had no file count (imageback.go@v1.13.2 errOpenPackageStream).
			m.NotFound = parserBackend + "failed to open package stream file: EOF"
		}),
	},
	{
		Name: "v1.14-v1.20", From: v("1.14.0"), Until: v("2.0.0"),
		MaxLayers: 256, RejectMultipleBase: true,
		AnnotatedMatch: MatchExact, FlattenMatch: MatchExact,
		ValidateFlatten: true, Deadline: 3 * time.Minute, Reconciler: "revision",
		UnpackStages: StageResolve, MetaEvent: "LintPackage", HeadsDigests: true,
		Messages: imageBackendMessages,
	},
	{
		// v2.0 matches package.yaml by base name (commit 5238910f5).
		Name: "v2.0-v2.1", From: v("2.0.0"), Until: v("2.2.0"),
		MaxLayers: 256, RejectMultipleBase: true,
		AnnotatedMatch: MatchBaseName, FlattenMatch: MatchBaseName,
		ValidateFlatten: true, Deadline: 3 * time.Minute, Reconciler: "revision",
		UnpackStages: StageResolve, MetaEvent: "LintPackage", HeadsDigests: true, SkipsIncompleteTags: true,
		Messages: imageBackendMessages,
	},
	{
		// xpkg.Client replaced the ImageBackend (internal/xpkg/client.go@v2.2.0,
		// crossplane-runtime:pkg/xpkg/client.go@v2.3.3); the package manager
		// parses under its 1-minute timeout (manager/reconciler.go@v2.3.4).
		Name: "v2.2+", From: v("2.2.0"),
		MaxLayers: 0, RejectMultipleBase: false,
		AnnotatedMatch: MatchBaseName, FlattenMatch: MatchBaseName,
		ValidateFlatten: false, Deadline: time.Minute, Reconciler: "package manager",
		UnpackStages: StageParse, MetaEvent: "ValidatePackage", HeadsDigests: false, SkipsIncompleteTags: true,
		Messages: Messages{
			// client.go@v2.3.3 Get resolves the tag with Head before anything else.
			Resolve:       "cannot unpack package: cannot resolve {ref} to digest: failed to fetch package descriptor with a GET request after a previous HEAD request failure: {head}: {detail}",
			Fetch:         "cannot unpack package: cannot fetch package {ref}: {detail}",
			NoPlatform:    "cannot unpack package: cannot fetch package {ref}: no child with platform {platform} in index {index}",
			NotFound:      "cannot unpack package: cannot extract package content from {ref}: package.yaml not found in package",
			InvalidLayer:  "cannot unpack package: cannot extract package content from {ref}: cannot read package contents: {detail}",
			ParseContents: "cannot unpack package: cannot parse package {ref}: {detail}",
			// The meta count became validation in v2.2 (revision/reconciler.go@v2.2.0
			// errValidatePackage; crossplane-runtime:pkg/xpkg/validate.go@v2.3.3 OneMeta).
			NotOneMeta:          "validating package contents failed: not exactly one package meta type",
			Incompatible:        "incompatible Crossplane version: package is not compatible with Crossplane version ({version})",
			FlattenTimeout:      "cannot unpack package: cannot extract package content from {ref}: context deadline exceeded",
			MissingDependencies: "cannot resolve package dependencies: missing dependencies: {deps}",
			// resolver/reconciler.go@v2.2.0 lists tags through ListVersions, which
			// adds its own wrap (crossplane-runtime:pkg/xpkg/client.go@v2.3.3).
			DependencyTags: resolutionFailed + "cannot find dependency version to install: cannot fetch dependency package tags: cannot list tags for {source}: {detail}",
			NoValidVersion: noValidVersion,
		},
	},
}

func with(m Messages, f func(*Messages)) Messages { f(&m); return m }

// Contains reports whether version belongs to the generation.
func (g Generation) Contains(version *semver.Version) bool {
	core, _ := version.SetPrerelease("")
	return !core.LessThan(g.From) && (g.Until == nil || core.LessThan(g.Until))
}

// ParseVersion accepts v1.20.0, 1.20, v2.3.4-rc.1 and image tags like
// v2.3.4-up.1.
func ParseVersion(s string) (*semver.Version, error) {
	ver, err := semver.NewVersion(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q is not a Crossplane version (want e.g. v1.20.0 or v2.3): %w", s, err)
	}
	return ver, nil
}

// ForVersion returns the generation that contains a version. A version
// older than the oldest generation modelled (v1.0 to v1.12 still run in the
// field) gets the oldest generation and older=true: its messages are
// classified all the same, and its verdicts are that generation's, which
// Target.Label and Target.Note say.
func ForVersion(ver *semver.Version) (g Generation, older bool) {
	for _, g := range Generations {
		if g.Contains(ver) {
			return g, false
		}
	}
	return Generations[0], true
}

// Select returns the generations for the versions a user named (or all
// generations when none), each paired with the concrete version when one
// was named. Duplicates are dropped.
func Select(versions []string) ([]Target, error) {
	if len(versions) == 0 {
		out := make([]Target, 0, len(Generations))
		for _, g := range Generations {
			out = append(out, Target{Generation: g})
		}
		return out, nil
	}
	var out []Target
	seen := map[string]bool{}
	for _, s := range versions {
		ver, err := ParseVersion(s)
		if err != nil {
			return nil, err
		}
		g, older := ForVersion(ver)
		key := g.Name + "|" + ver.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, Target{Generation: g, Version: ver, Older: older})
	}
	return out, nil
}

// Target is a generation, and the concrete version when one is known.
type Target struct {
	Generation
	Version *semver.Version
	// Older is true when Version predates the oldest generation modelled;
	// it is judged as that generation.
	Older bool
}

// Label is how a target is shown: the version if known, else the generation.
func (t Target) Label() string {
	if t.Version == nil {
		return t.Name
	}
	if t.Older {
		return "v" + t.Version.String() + " (judged as " + t.Name + ")"
	}
	return "v" + t.Version.String()
}

// Note says how a target is judged when xpdoctor models it only
// approximately ("" when it models it).
func (t Target) Note() string {
	if !t.Older {
		return ""
	}
	return fmt.Sprintf("Crossplane v%s is older than %s, the oldest release xpdoctor models: its messages are classified all the same, and registry verdicts are those of %s (older releases may word them differently)",
		t.Version.String(), Generations[0].Name, t.Name)
}
