package preflight

import (
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// scope is what every check reads.
type scope struct {
	in   Input
	snap *cluster.Snapshot
	// running is nil when unknown; runningNote says why.
	running     *semver.Version
	runningNote string
	// floor and ceiling bound an unknown running version from what the
	// snapshot shows (floor <= running < ceiling), with the evidence.
	floor, ceiling       *semver.Version
	floorWhy, ceilingWhy string
	target               *semver.Version
	targetGen            crossplane.Target
	flagsKnown           bool
	args                 crossplane.CoreArgs
	// runningTarget is the running version's generation; runningSet says it is known.
	runningTarget crossplane.Target
	runningSet    bool
	// installedCache is what installed() lists, once.
	installedCache []installedPackage
}

func newScope(in Input) *scope {
	s := in.Snapshot
	if s == nil {
		s = &cluster.Snapshot{}
	}
	sc := &scope{in: in, snap: s, flagsKnown: s.CrossplaneImage != "", args: crossplane.ParseCoreArgs(s.CrossplaneArgs)}
	switch {
	case in.Running == "":
		sc.runningNote = "the running Crossplane version is unknown"
	default:
		if v, err := crossplane.ParseVersion(in.Running); err == nil {
			sc.running = v
		} else {
			sc.runningNote = fmt.Sprintf("the running Crossplane version %q is not a release version", in.Running)
		}
	}
	if sc.running != nil {
		if g, older := crossplane.ForVersion(sc.running); !older {
			sc.runningTarget, sc.runningSet = crossplane.Target{Generation: g, Version: sc.running}, true
		}
	}
	sc.bound()
	return sc
}

// bound infers what it can of an unknown running version from fields and
// conditions only some releases write.
func (sc *scope) bound() {
	for _, r := range sc.snap.Revisions {
		if r.Condition("RevisionHealthy") != nil || r.Condition("RuntimeHealthy") != nil {
			// Revisions carry RevisionHealthy/RuntimeHealthy from v2.0.0
			// (apis/pkg/v1/conditions.go@v2.0.0, PR #6498).
			sc.floor, sc.floorWhy = semver.MustParse("2.0.0"), "revision "+r.Name+" has a RevisionHealthy or RuntimeHealthy condition (v2.0+)"
			return // a Healthy condition v1 left on a revision says nothing then
		}
	}
	for _, p := range sc.snap.Packages {
		if p.ResolvedPackage != "" {
			// status.resolvedPackage exists from v1.20.0 (apis/pkg/v1/package_types.go@v1.20.0).
			sc.floor, sc.floorWhy = semver.MustParse("1.20.0"), p.Kind+" "+p.Name+" has status.resolvedPackage (v1.20+)"
			break
		}
	}
	for _, p := range sc.snap.Packages {
		if p.ControllerConfigRef != "" {
			// The field is gone from the v2.0.0 CRDs (PR #6520).
			sc.ceiling, sc.ceilingWhy = semver.MustParse("2.0.0"), p.Kind+" "+p.Name+" has spec.controllerConfigRef (v1.x)"
			return
		}
	}
	for _, r := range sc.snap.Revisions {
		if r.Condition("Healthy") != nil {
			// Revisions carry Healthy up to v1.20 (apis/pkg/v1/conditions.go@v1.20.0).
			sc.ceiling, sc.ceilingWhy = semver.MustParse("2.0.0"), "revision "+r.Name+" has a Healthy condition and none of v2's (v1.x)"
			return
		}
	}
}

type crossed int

const (
	crossedNo crossed = iota
	crossedYes
	crossedMaybe
)

// crosses tells whether an upgrade from the running version to the target
// passes release since (running < since <= target).
func (sc *scope) crosses(since *semver.Version) crossed {
	if since == nil || coreOf(sc.target).LessThan(since) {
		return crossedNo
	}
	if sc.running != nil {
		if coreOf(sc.running).LessThan(since) {
			return crossedYes
		}
		return crossedNo
	}
	if sc.floor != nil && !sc.floor.LessThan(since) {
		return crossedNo
	}
	if sc.ceiling != nil && !since.LessThan(sc.ceiling) {
		return crossedYes
	}
	return crossedMaybe
}

// runningEvidence explains an unknown running version.
func (sc *scope) runningEvidence() []string {
	if sc.running != nil {
		return nil
	}
	ev := []string{sc.runningNote}
	if sc.floorWhy != "" {
		ev = append(ev, "at least "+sc.floor.Original()+": "+sc.floorWhy)
	}
	if sc.ceilingWhy != "" {
		ev = append(ev, "older than "+sc.ceiling.Original()+": "+sc.ceilingWhy)
	}
	return ev
}

func coreOf(v *semver.Version) *semver.Version {
	c, _ := v.SetPrerelease("")
	return &c
}

// defaultRegistryToday is where the running Crossplane pulls unqualified
// references: --registry, else REGISTRY, else the version's default. ok is
// false when that cannot be told.
func (sc *scope) defaultRegistryToday() (string, bool) {
	if !sc.flagsKnown {
		return "", false
	}
	if r := sc.args.Values["registry"]; r != "" {
		return r, true
	}
	if r := sc.snap.CrossplaneEnv["REGISTRY"]; r != "" {
		return r, true
	}
	if sc.running == nil {
		return "", false
	}
	return crossplane.DefaultRegistry(sc.running), true
}

// image is the report read for a package, or nil.
func (sc *scope) image(p cluster.Package) *xpkg.Report {
	return sc.in.Images[p.Source()]
}

// meta is the package metadata of the image Crossplane reads, or nil.
func (sc *scope) meta(p cluster.Package) *xpkg.Meta {
	if img := sc.image(p).SelectedImage(); img != nil && img.Package != nil {
		return img.Package.Meta
	}
	return nil
}

// revisionOf is the package's current revision, or nil.
func (sc *scope) revisionOf(p cluster.Package) *cluster.Revision {
	for i := range sc.snap.Revisions {
		r := &sc.snap.Revisions[i]
		if r.Name == p.CurrentRevision && r.Kind == cluster.RevisionKind(p.Kind) {
			return r
		}
	}
	return nil
}
