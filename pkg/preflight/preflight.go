// Package preflight answers "will Crossplane vX.Y.Z accept what this cluster
// runs?" before an upgrade, per package and overall. It is pure: it decides
// from a cluster Snapshot, the package images already read from their
// registries, and the running and target versions. The knowledge of what
// changed between releases is data: Changes, each with its sources.
//
// A command calls it in three steps (Snapshot read with
// cluster.Reader{ReadCompositions: true}):
//
//	running := snap.CrossplaneVersion()                   // or --crossplane-version
//	images := map[string]*xpkg.Report{}
//	for src, ref := range preflight.ImageReferences(snap, running) {
//		images[src] = client.Read(ctx, ref, xpkg.ReadOptions{})
//	}
//	in := preflight.Input{Snapshot: snap, Images: images, Running: running, Target: to}
//	deps, _ := preflight.DependenciesToList(in)           // optional: list their tags
//	rep, err := preflight.Run(in)                         // err: a --to it cannot use
//	// render rep.Rows() or rep as JSON; exit rep.ExitCode()
package preflight

import (
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// APIVersion and Kind of the JSON/YAML report.
const (
	APIVersion = "xpdoctor.io/v1alpha1"
	Kind       = "PreflightReport"
)

// Status is what the target version does to one package or check.
type Status string

// Statuses, least severe first.
const (
	// Safe: nothing that preflight knows of changes for it.
	Safe Status = "Safe"
	// Notice: something people or scripts read changes (a condition, an API
	// version); nothing stops working by itself.
	Notice Status = "Notice"
	// Unknown: preflight could not tell (an image it could not read, an
	// unknown running version where it matters).
	Unknown Status = "Unknown"
	// Degrades: it keeps working, worse (slower, or without settings it had).
	Degrades Status = "Degrades"
	// Breaks: the target version will not install or run it.
	Breaks Status = "Breaks"
)

// Rank orders statuses.
func (s Status) Rank() int {
	switch s {
	case Notice:
		return 1
	case Unknown:
		return 2
	case Degrades:
		return 3
	case Breaks:
		return 4
	}
	return 0
}

func worst(a, b Status) Status {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// Check names.
const (
	CheckImage      = "Image"
	CheckConstraint = "CrossplaneVersion"
	CheckDependency = "Dependency"
	CheckUpgrade    = "UpgradePath"
)

// Check is one judgement about a package (or about Crossplane itself).
type Check struct {
	// Check is CheckImage, CheckConstraint, CheckDependency, CheckUpgrade or
	// the ID of a Change.
	Check  string `json:"check"`
	Status Status `json:"status"`
	// Code is the finding code, when one describes it.
	Code    findings.Code `json:"code,omitempty"`
	Message string        `json:"message"`
	// Evidence lists what the judgement rests on.
	Evidence []string `json:"evidence,omitempty"`
	// Fix is what to change before upgrading.
	Fix string `json:"fix,omitempty"`
	// Sources cite the Crossplane code, PR or documentation behind it.
	Sources []string `json:"sources,omitempty"`
	// Existing is true when the running version already fails the same way:
	// the upgrade does not cause it, but the target will not accept it either.
	Existing bool `json:"existing,omitempty"`
}

// PackageResult is the judgement of one installed package.
type PackageResult struct {
	Kind    string  `json:"kind"`
	Name    string  `json:"name"`
	Package string  `json:"package"`
	Status  Status  `json:"status"`
	Checks  []Check `json:"checks"`
}

// CrossedChange is a change between the running and the target version.
type CrossedChange struct {
	ID     string `json:"id"`
	Since  string `json:"since"`
	Effect Effect `json:"effect"`
	Title  string `json:"title"`
	// Affected counts the packages (or Crossplane itself) it touches here.
	Affected int      `json:"affected"`
	Sources  []string `json:"sources"`
}

// Report is the result of a preflight.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Source     string `json:"source,omitempty"`
	// Running is the running Crossplane version ("" when unknown).
	Running string `json:"runningVersion"`
	Target  string `json:"targetVersion"`
	// Generation is the target's package-reading generation.
	Generation string `json:"targetGeneration"`
	// Status is the worst of everything: Safe (exit 0), Breaks or Degrades
	// (exit 1), Unknown (exit 2). Notices do not count.
	Status Status `json:"status"`
	// Crossplane holds the checks about Crossplane itself (flags, upgrade
	// path, objects no package owns).
	Crossplane []Check          `json:"crossplane"`
	Packages   []PackageResult  `json:"packages"`
	Changes    []CrossedChange  `json:"changes"`
	Denied     []cluster.Denial `json:"denied,omitempty"`
}

// Exit codes.
const (
	ExitSafe    = 0
	ExitBreaks  = 1
	ExitUnknown = 2
)

// ExitCode is 0 when safe, 1 when something breaks or degrades, 2 when
// preflight could not tell (and nothing is known to break).
func (r *Report) ExitCode() int {
	switch r.Status {
	case Breaks, Degrades:
		return ExitBreaks
	case Unknown:
		return ExitUnknown
	}
	return ExitSafe
}

// Input is everything Run decides from.
type Input struct {
	Snapshot *cluster.Snapshot
	// Images are the package images already read, keyed by the package's
	// Source() (status.resolvedPackage or spec.package). Read them at
	// ImageReferences. A missing image makes the image, constraint and
	// dependency checks Unknown.
	Images map[string]*xpkg.Report
	// Running is the running Crossplane version ("" or unparsable: unknown;
	// Snapshot.CrossplaneVersion() gives the image tag).
	Running string
	// Target is the version to upgrade to.
	Target string
	// Tags are the tags listed for dependencies that are not installed,
	// keyed by the source Crossplane looks up (DependenciesToList). Optional.
	Tags map[string][]string
	// Judge tunes the image verdicts (assumed bandwidth for the flatten path).
	Judge crossplane.JudgeOptions
}

// ImageReferences maps each package's Source() to the reference to read:
// the source qualified with the registry the running version pulls
// unqualified references from, so that the image read is the one Crossplane
// pulls today. When that registry is unknown, the source is returned as is.
func ImageReferences(s *cluster.Snapshot, running string) map[string]string {
	sc := newScope(Input{Snapshot: s, Running: running})
	reg, ok := sc.defaultRegistryToday()
	if !ok && sc.running != nil {
		// Crossplane's flags are unknown: its version's default is the best guess.
		reg = crossplane.DefaultRegistry(sc.running)
	}
	out := map[string]string{}
	for _, p := range s.Packages {
		out[p.Source()] = crossplane.Qualify(p.Source(), reg)
	}
	return out
}

// CheckTarget returns Run's error for a target version it cannot judge,
// so that a caller refuses it before reading anything.
func CheckTarget(target string) error {
	_, _, err := parseTarget(target)
	return err
}

func parseTarget(s string) (*semver.Version, crossplane.Generation, error) {
	target, err := crossplane.ParseVersion(s)
	if err != nil {
		return nil, crossplane.Generation{}, err
	}
	gen, older := crossplane.ForVersion(target)
	if older {
		return nil, crossplane.Generation{}, fmt.Errorf("crossplane %s is older than v1.13, the oldest release xpdoctor models: preflight cannot judge an upgrade to it", s)
	}
	return target, gen, nil
}

// Run judges every installed package against the target version. The only
// error is a target version it cannot read or does not model.
func Run(in Input) (*Report, error) {
	target, gen, err := parseTarget(in.Target)
	if err != nil {
		return nil, err
	}
	if in.Snapshot == nil {
		in.Snapshot = &cluster.Snapshot{}
	}
	sc := newScope(in)
	sc.target, sc.targetGen = target, crossplane.Target{Generation: gen, Version: target}
	rep := &Report{APIVersion: APIVersion, Kind: Kind, Source: in.Snapshot.Source, Target: "v" + target.String(),
		Generation: gen.Name, Crossplane: []Check{}, Packages: []PackageResult{}, Changes: []CrossedChange{}, Denied: in.Snapshot.Denied}
	if sc.running != nil {
		rep.Running = "v" + sc.running.String()
	}

	rep.Crossplane = append(rep.Crossplane, sc.upgradePath())
	affected := map[string]int{}
	byPackage := map[string][]Check{}
	for i := range Changes {
		c := &Changes[i]
		if c.check == nil || sc.crosses(c.since) == crossedNo {
			continue
		}
		for _, h := range c.check(sc, c) {
			chk := h.asCheck(c)
			affected[c.ID]++
			if h.pkg == nil {
				rep.Crossplane = append(rep.Crossplane, chk)
				continue
			}
			k := key(h.pkg.Kind, h.pkg.Name)
			byPackage[k] = append(byPackage[k], chk)
		}
	}
	for _, p := range in.Snapshot.Packages {
		res := PackageResult{Kind: p.Kind, Name: p.Name, Package: p.Package, Status: Safe}
		res.Checks = append(res.Checks, sc.packageChecks(p)...)
		res.Checks = append(res.Checks, byPackage[key(p.Kind, p.Name)]...)
		for _, c := range res.Checks {
			res.Status = worst(res.Status, c.Status)
		}
		rep.Packages = append(rep.Packages, res)
	}
	for i := range Changes {
		c := &Changes[i]
		if sc.crosses(c.since) == crossedNo {
			continue
		}
		rep.Changes = append(rep.Changes, CrossedChange{ID: c.ID, Since: "v" + c.Since, Effect: c.Effect, Title: c.Title, Affected: affected[c.ID], Sources: c.Sources})
	}
	rep.Status = Safe
	for _, c := range rep.Crossplane {
		rep.Status = worst(rep.Status, c.Status)
	}
	for _, p := range rep.Packages {
		rep.Status = worst(rep.Status, p.Status)
	}
	if rep.Status == Notice {
		rep.Status = Safe
	}
	return rep, nil
}

func key(kind, name string) string { return kind + "/" + name }

// Row is one line of the preflight table.
type Row struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Check  string `json:"check"`
	Status Status `json:"status"`
	// Code is the finding code of the check, when one describes it.
	Code    findings.Code `json:"code,omitempty"`
	Message string        `json:"message"`
	Fix     string        `json:"fix,omitempty"`
}

// RowHeader names the table's columns.
var RowHeader = []string{"KIND", "NAME", "CHECK", "STATUS", "MESSAGE", "FIX"}

// Rows flattens the report for a table: Crossplane's own checks first, then
// for each package every check that is not Safe, or one Safe row.
func (r *Report) Rows() []Row {
	var rows []Row
	for _, c := range r.Crossplane {
		if c.Status == Safe {
			continue
		}
		rows = append(rows, Row{Kind: "Crossplane", Name: r.Target, Check: c.Check, Status: c.Status, Code: c.Code, Message: c.Message, Fix: c.Fix})
	}
	for _, p := range r.Packages {
		n := 0
		for _, c := range p.Checks {
			if c.Status == Safe {
				continue
			}
			n++
			rows = append(rows, Row{Kind: p.Kind, Name: p.Name, Check: c.Check, Status: c.Status, Code: c.Code, Message: c.Message, Fix: c.Fix})
		}
		if n == 0 {
			rows = append(rows, Row{Kind: p.Kind, Name: p.Name, Check: "-", Status: Safe,
				Message: fmt.Sprintf("%d checks pass for %s", len(p.Checks), r.Target)})
		}
	}
	return rows
}
