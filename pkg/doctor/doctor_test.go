package doctor

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var now = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

func writeDump(t *testing.T, dump string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(path, []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func provider(name, ref, healthy, msg string) string {
	return `apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: ` + name + `}
spec: {package: "` + ref + `"}
status:
  currentRevision: ` + name + `-0123456789ab
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision}
  - {type: Healthy, status: "` + healthy + `", reason: X, message: '` + msg + `'}
---
`
}

func crossplaneDeployment(tag string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: crossplane, namespace: crossplane-system}
spec:
  selector: {matchLabels: {app: crossplane}}
  template:
    metadata: {labels: {app: crossplane}}
    spec: {containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:` + tag + `"}]}
---
`
}

func findingOf(t *testing.T, rep *diagnose.Report, name string) findings.Finding {
	t.Helper()
	for _, row := range rep.Packages {
		if row.Name != name {
			continue
		}
		for _, f := range rep.Findings {
			if f.Subject.Name == name && f.Code == row.Finding {
				return f
			}
		}
	}
	t.Fatalf("no root finding for %s: %+v", name, rep.Findings)
	return findings.Finding{}
}

// Without a Crossplane Deployment the version is unknown, and the report
// says so instead of inventing one.
func TestRunUnknownVersion(t *testing.T) {
	// crossplane/crossplane#3329 (v1.9.1), message form of v1.13 and older.
	path := writeDump(t, provider("config-test", "xpkg.upbound.io/luebken/config-test:v0.0.1", "False", "cannot initialize parser backend: failed to open package stream file: EOF"))
	res, err := Run(context.Background(), Options{FromFile: path, Inspect: InspectNone, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.VersionKnown || len(res.Targets) < 2 || res.Report.CrossplaneVersion != diagnose.VersionUnknown ||
		len(res.Report.Notes) != 1 || !strings.Contains(res.Report.Notes[0], "no Crossplane Deployment") {
		t.Fatalf("version %q known=%v notes %q", res.Report.CrossplaneVersion, res.VersionKnown, res.Report.Notes)
	}
	if f := findingOf(t, res.Report, "config-test"); f.Code != findings.PackageYAMLNotFound {
		t.Fatalf("%+v", f)
	}
}

// Crossplane older than v1.13 is judged as the oldest generation, and the
// report says so; an image tag that is no version leaves it unknown.
func TestRunOlderOrUnparsableVersion(t *testing.T) {
	msg := "cannot initialize parser backend: failed to open package stream file: EOF"
	path := writeDump(t, crossplaneDeployment("v1.9.1")+provider("config-test", "xpkg.upbound.io/luebken/config-test:v0.0.1", "False", msg))
	res, err := Run(context.Background(), Options{FromFile: path, Inspect: InspectNone, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !res.VersionKnown || res.Report.CrossplaneVersion != "v1.9.1 (judged as v1.13)" || len(res.Report.Notes) != 1 || !strings.Contains(res.Report.Notes[0], "older than v1.13") {
		t.Fatalf("version %q notes %q", res.Report.CrossplaneVersion, res.Report.Notes)
	}
	// A custom build tag (corpus xp-6137-b).
	path = writeDump(t, crossplaneDeployment("release-1.20-imdsv2")+provider("config-test", "xpkg.upbound.io/luebken/config-test:v0.0.1", "False", msg))
	res, err = Run(context.Background(), Options{FromFile: path, Inspect: InspectNone, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.VersionKnown || !strings.Contains(strings.Join(res.Report.Notes, " "), `"release-1.20-imdsv2", is not a version`) {
		t.Fatalf("notes %q", res.Report.Notes)
	}
	// A version the user names that is no version is an error, said once.
	if _, err := Run(context.Background(), Options{FromFile: path, CrossplaneVersion: "banana"}); err == nil || !strings.Contains(err.Error(), "banana") {
		t.Fatalf("error %v", err)
	}
}

// With the version unknown, images are judged for every generation, and a
// verdict that depends on the version is given per generation: an
// annotated ./package.yaml fails v1.x and parses on v2 (imageback.go@v1.20.0
// matches the exact name, @v2.1.3 the base name).
func TestRunPerGenerationVerdict(t *testing.T) {
	reg := testregistry.InProcess(t)
	ref := reg.Host + "/acme/provider-dot:v1"
	pkg := xpkgtest.Package{Kind: "Provider", Name: "provider-dot", Path: "./package.yaml", Objects: 1}
	if err := xpkgtest.Push(ref, pkg.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	path := writeDump(t, provider("provider-dot", ref, "True", ""))
	res, err := Run(context.Background(), Options{FromFile: path, Inspect: InspectAll, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Findings) != 1 {
		t.Fatalf("%+v", res.Report.Findings)
	}
	f := res.Report.Findings[0]
	if f.Code != findings.PackageYAMLNotAtRoot || f.Severity != findings.Warning ||
		!strings.Contains(f.Message, "v1.13, v1.14-v1.20 cannot parse") || !strings.Contains(f.Message, "v2.2+ (BaseLayer) can") || len(f.Evidence) != len(res.Targets) {
		t.Fatalf("%+v", f)
	}

	// The same image judged as one version is one verdict.
	res, err = Run(context.Background(), Options{FromFile: path, Inspect: InspectAll, CrossplaneVersion: "v2.3.4", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Findings) != 0 || res.Report.CrossplaneVersion != "v2.3.4" {
		t.Fatalf("%s: %+v", res.Report.CrossplaneVersion, res.Report.Findings)
	}
}

// What cannot be inspected is reported, never dropped: a registry that
// does not answer is a finding, a reference that is none a note.
func TestRunReportsInspectFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	path := writeDump(t, crossplaneDeployment("v2.3.4")+provider("gone", closed+"/acme/provider-x:v1", "True", "")+provider("bad", "UPPER/case:bad tag", "True", ""))
	res, err := Run(context.Background(), Options{FromFile: path, Inspect: InspectAll, Now: now, Registry: []xpkg.Option{xpkg.WithInsecureRegistries(closed)}})
	if err != nil {
		t.Fatal(err)
	}
	if f := findingOf(t, res.Report, "gone"); f.Code != findings.RegistryUnreachable || !strings.Contains(strings.Join(f.Evidence, " "), closed) {
		t.Fatalf("%+v", f)
	}
	if !strings.Contains(strings.Join(res.Report.Notes, "\n"), `Provider/bad was not inspected: its package reference "UPPER/case:bad tag"`) {
		t.Fatalf("notes %q", res.Report.Notes)
	}
}

// The whole path against a real API server (Crossplane v2.3.4's CRDs): the
// messages are Crossplane's formats with made-up names (v2 missing
// dependencies: revision/dependency.go@v2.3.4 NDependenciesAndSomeMore;
// ownership: crossplane-runtime pkg/meta/meta.go@v2.3.3), and the
// Lock and the installed packages decide the dependency family, and a
// live read knows a revision that is not listed is gone.
func TestRunAgainstAPIServer(t *testing.T) {
	env := testenv.Start(t, false)
	testenv.Create(t, env.Config, `apiVersion: v1
kind: Namespace
metadata: {name: crossplane-system}
---
`+crossplaneDeployment("v2.3.4")+`
apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: provider-family-aws}
spec: {package: "xpkg.upbound.io/upbound/provider-family-aws:v1.6.0", skipDependencyResolution: true}
status:
  currentRevision: provider-family-aws-1d3725bd4a0b
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
  - {type: Healthy, status: "True", reason: HealthyPackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
---
apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: provider-aws-s3}
spec: {package: "xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0"}
status:
  currentRevision: provider-aws-s3-9c0ffee00001
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
  - {type: Healthy, status: "Unknown", reason: UnknownPackageRevisionHealth, lastTransitionTime: "2026-11-27T05:00:00Z",
     message: 'Package revision health is "Unknown" with message: cannot resolve package dependencies: missing dependencies: "xpkg.upbound.io/upbound/provider-family-aws" (>=v1.6.0)'}
---
apiVersion: pkg.crossplane.io/v1
kind: ProviderRevision
metadata: {name: provider-aws-s3-9c0ffee00001, labels: {pkg.crossplane.io/package: provider-aws-s3}}
spec: {desiredState: Active, image: "xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0", revision: 1}
---
apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: provider-aws-ec2}
spec: {package: "xpkg.upbound.io/upbound/provider-aws-ec2:v1.7.0"}
status:
  currentRevision: provider-aws-ec2-ebb7af6959e9
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
  - {type: Healthy, status: "False", reason: UnhealthyPackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z",
     message: 'Package revision health is "False" with message: cannot establish control of object: instances.ec2.aws.upbound.io is already controlled by ProviderRevision provider-aws-ec2-0ddba11c0ffe (UID e90b66bb-9a03-4634-aafd-f21ff2c37972)'}
---
apiVersion: pkg.crossplane.io/v1
kind: ProviderRevision
metadata: {name: provider-aws-ec2-ebb7af6959e9, labels: {pkg.crossplane.io/package: provider-aws-ec2}}
spec: {desiredState: Active, image: "xpkg.upbound.io/upbound/provider-aws-ec2:v1.7.0", revision: 2}
---
apiVersion: pkg.crossplane.io/v1beta1
kind: Lock
metadata: {name: lock}
packages:
- name: provider-aws-s3-9c0ffee00001
  apiVersion: pkg.crossplane.io/v1
  kind: Provider
  source: xpkg.upbound.io/upbound/provider-aws-s3
  version: v1.6.0
  dependencies:
  - {package: xpkg.upbound.io/upbound/provider-family-aws, constraints: ">=v1.6.0", apiVersion: pkg.crossplane.io/v1, kind: Provider}
`)
	kube := genericclioptions.NewConfigFlags(true)
	kube.KubeConfig = &env.Kubeconfig
	res, err := Run(context.Background(), Options{Kube: kube, Inspect: InspectNone, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot.Lock == nil || res.Report.CrossplaneVersion != "v2.3.4" || res.Snapshot.Source != "envtest" {
		t.Fatalf("lock %+v, version %q, source %q", res.Snapshot.Lock, res.Report.CrossplaneVersion, res.Snapshot.Source)
	}
	deps := findingOf(t, res.Report, "provider-aws-s3")
	if deps.Code != findings.DependencyNotInLock || !strings.Contains(deps.Remediation, "kubectl patch provider provider-family-aws") || strings.Contains(deps.Remediation, "mirror") {
		t.Fatalf("%+v", deps)
	}
	owner := findingOf(t, res.Report, "provider-aws-ec2")
	if owner.Code != findings.OwnershipConflict || !strings.Contains(owner.Message, "which no longer exists") ||
		!strings.Contains(owner.Remediation, `select(.uid=="e90b66bb-9a03-4634-aafd-f21ff2c37972")`) {
		t.Fatalf("%+v", owner)
	}
	// The selection narrows the report and nothing else.
	res, err = Run(context.Background(), Options{Kube: kube, Inspect: InspectNone, Now: now, Select: diagnose.Selector{Names: []string{"provider-aws-ec2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Packages) != 1 || res.Report.Packages[0].Finding != findings.OwnershipConflict {
		t.Fatalf("%+v", res.Report.Packages)
	}
}

// Missing dependencies are looked up where Crossplane looks (after the
// ImageConfig rewrite): a repository the registry does not know is an
// outdated reference; one it has decides nothing about the cluster's reach.
func TestRunLooksUpMissingDependencies(t *testing.T) {
	reg := testregistry.InProcess(t)
	if err := xpkgtest.Push(reg.Host+"/upbound/provider-family-aws:v1.6.0", xpkgtest.Package{Kind: "Provider", Name: "provider-family-aws"}.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	dump := crossplaneDeployment("v1.20.0") + `apiVersion: pkg.crossplane.io/v1beta1
kind: ImageConfig
metadata: {name: mirror}
spec:
  matchImages: [{type: Prefix, prefix: xpkg.upbound.io/}]
  rewriteImage: {prefix: ` + reg.Host + `/}
---
` + provider("platform-ref-gcp", reg.Host+"/upbound/platform-ref-gcp:v0.2.0", "Unknown",
		"cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/crossplane/provider-helm]") +
		provider("provider-aws-s3", reg.Host+"/upbound/provider-aws-s3:v1.6.0", "Unknown",
			"cannot resolve package dependencies: missing dependencies: [xpkg.upbound.io/upbound/provider-family-aws]")
	path := writeDump(t, dump)
	res, err := Run(context.Background(), Options{FromFile: path, Inspect: InspectProblems, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if f := findingOf(t, res.Report, "platform-ref-gcp"); f.Code != findings.DependencyReferenceOutdated || !strings.Contains(f.Message, reg.Host+"/crossplane/provider-helm") {
		t.Fatalf("%+v", f)
	}
	if f := findingOf(t, res.Report, "provider-aws-s3"); f.Code != findings.DependencyUnresolvable {
		t.Fatalf("%+v", f)
	}
	// Without registry reads the outdated reference cannot be told apart.
	res, err = Run(context.Background(), Options{FromFile: path, Inspect: InspectNone, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if f := findingOf(t, res.Report, "platform-ref-gcp"); f.Code != findings.DependencyUnresolvable {
		t.Fatalf("%+v", f)
	}
}
