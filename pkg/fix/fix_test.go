package fix

import (
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

func TestCandidatesAndChanges(t *testing.T) {
	snap := &cluster.Snapshot{Packages: []cluster.Package{
		{Kind: "Provider", Name: "docker", Package: "ecr.io/upbound/provider-a:v1"},
		{Kind: "Provider", Name: "healthy", Package: "ecr.io/upbound/provider-b:v1"},
		{Kind: "Provider", Name: "elsewhere", Package: "other.io/x/provider-c:v1"},
		{Kind: "Provider", Name: "crashing", Package: "ecr.io/upbound/provider-d:v1"},
	}}
	rep := &diagnose.Report{Findings: []findings.Finding{
		{Code: findings.BaseLayerAnnotationMissing, Subject: findings.Subject{Kind: "Provider", Name: "docker"}},
		{Code: findings.MirrorDigestDiffers, Subject: findings.Subject{Kind: "Provider", Name: "docker"}},
		{Code: findings.PackageYAMLNotFound, Subject: findings.Subject{Kind: "Provider", Name: "elsewhere"}},
		{Code: findings.RuntimeCrashLooping, Subject: findings.Subject{Kind: "Provider", Name: "crashing"}},
	}}
	m, _ := xpkg.ParseMapping("ecr.io/upbound=xpkg.upbound.io/upbound")
	cands, skipped := Candidates(rep, snap, []xpkg.Mapping{m})
	if len(cands) != 1 || cands[0].Name != "docker" || cands[0].Upstream != "xpkg.upbound.io/upbound/provider-a:v1" || len(cands[0].Codes) != 2 {
		t.Fatalf("candidates %+v", cands)
	}
	if len(skipped) != 1 {
		t.Fatalf("a defect no mapping covers must be reported: %v", skipped)
	}
	pins := PinChanges(snap, cands, map[string]string{"ecr.io/upbound/provider-a:v1": "sha256:abc"})
	if len(pins) != 1 || pins[0].To != "ecr.io/upbound/provider-a@sha256:abc" || pins[0].From != "ecr.io/upbound/provider-a:v1" {
		t.Fatalf("pins %+v", pins)
	}
	ics := ImageConfigChanges(snap, []xpkg.Mapping{m})
	spec := ics[0].Object["spec"].(map[string]any)
	if len(ics) != 1 || ics[0].Name != "xpdoctor-xpkg-upbound-io-upbound" || spec["rewriteImage"].(map[string]any)["prefix"] != "ecr.io/upbound/" {
		t.Fatalf("imageconfigs %+v", ics)
	}
}

// API versions come from discovery: a Function is pinned under the version
// the cluster serves (v1beta1 up to Crossplane v1.16), an ImageConfig under
// its served version.
func TestChangesUseDiscoveredVersions(t *testing.T) {
	snap := &cluster.Snapshot{
		Packages: []cluster.Package{{Kind: "Function", Name: "fn", Package: "ecr.io/crossplane-contrib/function-a:v1"}},
		Served:   map[string]string{"functions": "v1beta1", "imageconfigs": "v1beta1"},
	}
	cands := []Candidate{{Kind: "Function", Name: "fn", Mirror: "ecr.io/crossplane-contrib/function-a:v1", Upstream: "xpkg.upbound.io/crossplane-contrib/function-a:v1"}}
	pins := PinChanges(snap, cands, map[string]string{cands[0].Mirror: "sha256:abc"})
	if len(pins) != 1 || pins[0].APIVersion != "pkg.crossplane.io/v1beta1" || pins[0].Resource != "functions" {
		t.Fatalf("pins %+v", pins)
	}
	snap.Served["functions"] = "v1"
	if pins = PinChanges(snap, cands, map[string]string{cands[0].Mirror: "sha256:abc"}); pins[0].APIVersion != "pkg.crossplane.io/v1" {
		t.Fatalf("pins %+v", pins)
	}
}

// An ImageConfig that already rewrites the prefix (written by hand from
// diagnose's advice, under another name) is updated, not doubled; one that
// already rewrites it to the mirror needs no change.
func TestImageConfigNotDoubled(t *testing.T) {
	m, _ := xpkg.ParseMapping("ecr.io/upbound=xpkg.upbound.io/upbound")
	snap := &cluster.Snapshot{ImageConfigs: []cluster.ImageConfig{{Name: "my-mirror", Prefixes: []string{"xpkg.upbound.io/upbound/"}, RewritePrefix: "old.example/upbound/"}}}
	ics := ImageConfigChanges(snap, []xpkg.Mapping{m})
	if len(ics) != 1 || ics[0].Name != "my-mirror" || ics[0].Object["metadata"].(map[string]any)["name"] != "my-mirror" {
		t.Fatalf("changes %+v", ics)
	}
	snap.ImageConfigs[0].RewritePrefix = "ecr.io/upbound"
	if ics := ImageConfigChanges(snap, []xpkg.Mapping{m}); len(ics) != 0 {
		t.Fatalf("an ImageConfig that already rewrites to the mirror was changed: %+v", ics)
	}
}
