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
