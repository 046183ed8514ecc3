// Package fix turns diagnose's mirror findings into a re-mirroring plan and
// into the cluster changes that point Crossplane at the repaired images.
// Deciding is pure (Candidates, PinChanges, ImageConfigChanges); Apply is
// the only function that writes to a cluster, and it dry-runs first.
package fix

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/imageconfig"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// mirrorDefects are the findings a byte-for-byte re-mirror repairs. A
// runtime image pushed in place of the package (PackageYAMLNotFound) is
// repaired too, because the upstream holds the real package.
var mirrorDefects = map[findings.Code]bool{
	findings.BaseLayerAnnotationMissing: true,
	findings.MirrorDigestDiffers:        true,
	findings.IndexCollapsed:             true,
	findings.LayersRecompressed:         true,
	findings.ManifestNotFound:           true,
	findings.PackageYAMLNotFound:        true,
	findings.FlattenPathTooSlow:         true,
}

// Candidate is a package to re-mirror.
type Candidate struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Mirror is the reference the cluster pulls; Upstream where to copy from.
	Mirror   string          `json:"mirror"`
	Upstream string          `json:"upstream"`
	Codes    []findings.Code `json:"codes"`
}

// Candidates picks the packages whose findings name a mirror defect.
// Packages no mapping covers are returned in skipped with the reason.
func Candidates(rep *diagnose.Report, snap *cluster.Snapshot, maps []xpkg.Mapping) (cands []Candidate, skipped []string) {
	codes := map[findings.Subject][]findings.Code{}
	for _, f := range rep.Findings {
		if mirrorDefects[f.Code] {
			codes[f.Subject] = append(codes[f.Subject], f.Code)
		}
	}
	for _, p := range snap.Packages {
		cs := codes[findings.Subject{Kind: p.Kind, Name: p.Name}]
		if len(cs) == 0 {
			continue
		}
		slices.Sort(cs)
		up, ok := xpkg.MapAll(maps, p.Source())
		if !ok {
			skipped = append(skipped, fmt.Sprintf("%s/%s (%s): no --upstream-registry mapping covers %s", p.Kind, p.Name, fmt.Sprint(cs), p.Source()))
			continue
		}
		if up == p.Source() {
			skipped = append(skipped, fmt.Sprintf("%s/%s: the mapping maps %s onto itself", p.Kind, p.Name, up))
			continue
		}
		cands = append(cands, Candidate{Kind: p.Kind, Name: p.Name, Mirror: p.Source(), Upstream: up, Codes: cs})
	}
	return cands, skipped
}

// Change is one cluster change.
type Change struct {
	// Kind and Name of the object; Resource is its plural.
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Resource string `json:"resource"`
	// Field, From and To describe the change for the diff.
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
	// APIVersion is the group/version the cluster serves Resource under
	// (from discovery: Function is pkg.crossplane.io/v1beta1 up to v1.16).
	APIVersion string `json:"apiVersion"`
	// Object is the whole object to apply (server-side apply), when the
	// change creates or replaces one.
	Object map[string]any `json:"object,omitempty"`
}

// PinChanges pins each repaired package's spec.package to its mirror
// repository at the digest that was copied.
func PinChanges(snap *cluster.Snapshot, cands []Candidate, digests map[string]string) []Change {
	var out []Change
	for _, c := range cands {
		d, ok := digests[c.Mirror]
		if !ok {
			continue
		}
		var spec string
		for _, p := range snap.Packages {
			if p.Kind == c.Kind && p.Name == c.Name {
				spec = p.Package
			}
		}
		to := xpkg.RepositoryOf(c.Mirror) + "@" + d
		if spec == to {
			continue
		}
		res := strings.ToLower(c.Kind) + "s"
		out = append(out, Change{Kind: c.Kind, Name: c.Name, Resource: res, APIVersion: snap.APIVersion(res, "v1"), Field: "spec.package", From: spec, To: to})
	}
	return out
}

// ImageConfigChanges makes one ImageConfig per mapping that rewrites the
// upstream prefix to the mirror (pkg.crossplane.io ImageConfig,
// spec.rewriteImage since Crossplane v1.20), so dependencies named upstream
// resolve to the mirror. An ImageConfig that already matches the prefix,
// whatever its name (one written by hand from diagnose's advice), is
// updated rather than doubled: two ImageConfigs for one prefix make
// Crossplane pick one by name order.
func ImageConfigChanges(snap *cluster.Snapshot, maps []xpkg.Mapping) []Change {
	var out []Change
	apiVersion := snap.APIVersion("imageconfigs", "v1beta1")
	for _, m := range maps {
		if m.Mirror == "" {
			continue
		}
		r := imageconfig.Rewrite{From: m.Upstream, To: m.Mirror}
		name := imageconfig.Name(r.From)
		from := "absent"
		for _, ic := range snap.ImageConfigs {
			if ic.Name == name || matchesPrefix(ic, imageconfig.Prefix(r.From)) {
				name = ic.Name
				from = fmt.Sprintf("%s -> %s", strings.Join(ic.Prefixes, ","), ic.RewritePrefix)
				if imageconfig.Prefix(ic.RewritePrefix) == imageconfig.Prefix(r.To) && matchesPrefix(ic, imageconfig.Prefix(r.From)) {
					from = "same"
				}
				break
			}
		}
		if from == "same" {
			continue
		}
		to := fmt.Sprintf("%s -> %s", imageconfig.Prefix(r.From), imageconfig.Prefix(r.To))
		obj := imageconfig.Object(apiVersion, r)
		obj["metadata"].(map[string]any)["name"] = name
		out = append(out, Change{Kind: "ImageConfig", Name: name, Resource: "imageconfigs", APIVersion: apiVersion, Field: "spec.matchImages, spec.rewriteImage", From: from, To: to,
			Object: obj})
	}
	return out
}

// matchesPrefix reports whether an ImageConfig matches prefix (with or
// without its trailing slash).
func matchesPrefix(ic cluster.ImageConfig, prefix string) bool {
	for _, p := range ic.Prefixes {
		if imageconfig.Prefix(p) == prefix {
			return true
		}
	}
	return false
}
