package diagnose

import (
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
)

func target(t *testing.T, v string) []crossplane.Target {
	ts, err := crossplane.Select([]string{v})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func provider(name, ref string, healthy string, msg string) cluster.Package {
	return cluster.Package{Kind: "Provider", Name: name, Package: ref, CurrentRevision: name + "-1",
		Conditions: []cluster.Condition{{Type: "Installed", Status: "True"}, {Type: "Healthy", Status: healthy, Message: msg}}}
}

// A mirror defect Crossplane survives must not be reported as the cause of
// an unrelated failure.
func TestMirrorDamageIsNotBlamed(t *testing.T) {
	ref := "mirror.io/upbound/provider-nop:v1"
	s := &cluster.Snapshot{
		Packages:  []cluster.Package{provider("p", ref, "False", `Package runtime health is "False" with message: post establish runtime hook failed for package: provider package deployment is unavailable with message: Deployment does not have minimum availability.`)},
		Revisions: []cluster.Revision{{Kind: "ProviderRevision", Name: "p-1", Parent: "p"}},
		Pods: []cluster.Pod{{Namespace: "crossplane-system", Name: "p-1-x", Revision: "p-1",
			Containers: []cluster.Container{{Name: "c", Image: "xpkg.upbound.io/upbound/provider-nop:v1", Waiting: "ImagePullBackOff", WaitingMessage: "401 Unauthorized"}}}},
	}
	img := inspect.Image{Reference: ref, Digest: "sha256:aa",
		Verdicts: []crossplane.Verdict{{Crossplane: "v2.1.3", Outcome: crossplane.OutcomeFlatten}},
		Findings: []findings.Finding{{Code: findings.BaseLayerAnnotationMissing, Severity: findings.Warning}, {Code: findings.MirrorDigestDiffers, Severity: findings.Warning}}}
	rep := Diagnose(Input{Snapshot: s, Images: map[string]inspect.Image{ref: img}, VersionKnown: true, Targets: target(t, "v2.1.3")})
	if rep.Packages[0].Finding != findings.RuntimeImagePullFailed {
		t.Fatalf("root cause %q", rep.Packages[0].Finding)
	}
	for _, f := range rep.Findings {
		if f.Code == findings.BaseLayerAnnotationMissing && f.Severity != findings.Warning {
			t.Fatalf("mirror damage escalated: %+v", f)
		}
		if f.Code == findings.PackageUnhealthy || f.Code == findings.RuntimeNotAvailable {
			t.Fatalf("pod state should have named the cause: %+v", f)
		}
	}
}

// The registry refines what the cluster says: "couldn't find" on an
// annotated layer holding ./package.yaml is a location problem on v1.x.
func TestRegistryRefinesCause(t *testing.T) {
	ref := "r.io/p:v1"
	msg := `cannot initialize parser backend: couldn't find "package.yaml" file after checking 1 files in the archive (annotated layer: true): EOF`
	s := &cluster.Snapshot{Packages: []cluster.Package{provider("p", ref, "False", msg)}}
	img := inspect.Image{Reference: ref, Verdicts: []crossplane.Verdict{{Crossplane: "v1.20.0", Outcome: crossplane.OutcomeFail, Reason: findings.PackageYAMLNotAtRoot, Message: msg}}}
	rep := Diagnose(Input{Snapshot: s, Images: map[string]inspect.Image{ref: img}, VersionKnown: true, Targets: target(t, "v1.20.0")})
	if len(rep.Findings) != 1 || rep.Findings[0].Code != findings.PackageYAMLNotAtRoot {
		t.Fatalf("%+v", rep.Findings)
	}
}

// A wrapper alone is never a cause; an unhealthy package with no known
// message is reported as unclassified with its evidence.
func TestUnclassified(t *testing.T) {
	s := &cluster.Snapshot{Packages: []cluster.Package{provider("p", "r.io/p:v1", "False", "cannot initialize parser backend: a new failure")}}
	rep := Diagnose(Input{Snapshot: s, Images: map[string]inspect.Image{}, VersionKnown: true, Targets: target(t, "v2.1.3")})
	if len(rep.Findings) != 1 || rep.Findings[0].Code != findings.PackageUnhealthy || len(rep.Findings[0].Evidence) != 1 {
		t.Fatalf("%+v", rep.Findings)
	}
}

// Crossplane before v1.20 cannot rewrite dependencies: the fix says so.
func TestDependencyAdviceByVersion(t *testing.T) {
	msg := "cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/upbound/provider-family-aws]"
	s := &cluster.Snapshot{Packages: []cluster.Package{provider("p", "ecr.io/upbound/provider-aws-s3:v1", "Unknown", msg)}}
	for v, wantImageConfig := range map[string]bool{"v1.16.0": false, "v1.20.0": true, "v2.3.4": true} {
		rep := Diagnose(Input{Snapshot: s, VersionKnown: true, Targets: target(t, v)})
		fix := rep.Findings[0].Remediation
		if got := strings.Contains(fix, "kind: ImageConfig"); got != wantImageConfig {
			t.Errorf("%s: ImageConfig in fix = %v\n%s", v, got, fix)
		}
		if !strings.Contains(fix, "(lands at ecr.io/upbound/provider-family-aws ") {
			t.Errorf("%s: fix does not mirror next to the package:\n%s", v, fix)
		}
		if !wantImageConfig && !strings.Contains(fix, "skipDependencyResolution") {
			t.Errorf("%s: no pre-v1.20 alternative:\n%s", v, fix)
		}
	}
}
