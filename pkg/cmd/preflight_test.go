package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/preflight/preflighttest"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// platformDeps is a Configuration whose dependencies pass and fail the
// dependency check: one installed at a version its constraint accepts, one
// installed at a version it refuses, one not installed with a tag that
// satisfies it, one not installed with none.
const platformDeps = `
apiVersion: pkg.crossplane.io/v1
kind: Configuration
metadata: {name: platform-deps}
spec: {package: "REGISTRY/acme/platform-deps:v1.0.0"}
status:
  currentRevision: platform-deps-0000000000d1
  conditions:
  - {type: Installed, status: "True", reason: ActivePackageRevision, lastTransitionTime: "2026-07-01T10:00:00Z"}
  - {type: Healthy, status: "True", reason: HealthyPackageRevision, lastTransitionTime: "2026-07-01T10:00:00Z"}
---
apiVersion: pkg.crossplane.io/v1
kind: ConfigurationRevision
metadata:
  name: platform-deps-0000000000d1
  labels: {pkg.crossplane.io/package: platform-deps}
spec: {desiredState: Active, image: "REGISTRY/acme/platform-deps:v1.0.0", revision: 1}
status:
  conditions:
  - {type: Healthy, status: "True", reason: HealthyPackageRevision, lastTransitionTime: "2026-07-01T10:00:00Z"}
`

// preflightCluster is Crossplane v1.20.0 on a real kube-apiserver (v1.20's
// CRDs), running the packages of preflighttest.V120Cluster plus
// platform-deps, their images in a registry. It returns the kubeconfig and
// the registry's host.
func preflightCluster(t *testing.T) (env *testenv.Env, host string) {
	t.Helper()
	env = testenv.StartWith(t, preflighttest.CRDFiles(t, preflighttest.CrossplaneV120))
	env.Config.WarningHandler = rest.NoWarnings{}
	host = testregistry.InProcess(t).Host
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	images := preflighttest.V120Images(host)
	images["acme/platform-deps:v1.0.0"] = xpkgtest.Package{Kind: "Configuration", Name: "platform-deps", DependsOn: []xpkg.Dependency{
		{Kind: "Provider", Package: host + "/crossplane-contrib/provider-ok", Version: ">=v1.0.0"},
		{Kind: "Provider", Package: host + "/acme/provider-old", Version: ">=v2.0.0"},
		{Kind: "Function", Package: host + "/acme/function-dep", Version: ">=v0.2.0"},
		{Kind: "Provider", Package: host + "/acme/provider-gone", Version: ">=v1.0.0"},
	}}.Image(amd64)
	images["acme/function-dep:v0.3.0"] = xpkgtest.Package{Kind: "Function", Name: "function-dep"}.Image(amd64)
	images["acme/provider-gone:v0.9.0"] = xpkgtest.Package{Name: "provider-gone"}.Image(amd64)
	for path, obj := range images {
		if err := xpkgtest.Push(host+"/"+path, obj); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Create(t, env.Config, preflighttest.V120Cluster(host)+"\n---"+strings.ReplaceAll(platformDeps, "REGISTRY", host))
	return env, host
}

// TestPreflightCommand runs `preflight --to` through the real command tree
// against a v1.20 cluster on a real API server whose packages pass and fail
// each check: the image under the target generation, spec.crossplane.version,
// dependency constraints, ControllerConfig references, unqualified
// spec.package and dependsOn, and signature verification. It pins the table
// (golden), the JSON and YAML, and the exit status.
func TestPreflightCommand(t *testing.T) {
	env, host := preflightCluster(t)
	scrub := func(s string) string { return strings.ReplaceAll(s, host, "REGISTRY") }
	base := []string{"preflight", "--kubeconfig", env.Kubeconfig}

	out, errOut, code := run(t, append(base, "--to", "v2.0.0")...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1 (something breaks)\n%s\n%s", code, out, errOut)
	}
	golden(t, "preflight.txt", scrub(out))

	type want struct {
		subject, check string
		status         preflight.Status
		text           string // in the message
	}
	judge := func(target string, wants []want) *preflight.Report {
		t.Helper()
		out, errOut, code := run(t, append(base, "--to", target, "-o", "json")...)
		var rep preflight.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("--to %s: %v\n%s\n%s", target, err, out, errOut)
		}
		if code != rep.ExitCode() || rep.Running != "v1.20.0" || rep.Target != target {
			t.Fatalf("--to %s: exit %d for a %s report, running %q", target, code, rep.Status, rep.Running)
		}
		checks := map[string]preflight.Check{}
		for _, c := range rep.Crossplane {
			checks["Crossplane "+c.Check] = c
		}
		for _, p := range rep.Packages {
			for _, c := range p.Checks {
				k := p.Kind + "/" + p.Name + " " + c.Check
				if prev, dup := checks[k]; dup && prev.Status.Rank() > c.Status.Rank() {
					continue // several Dependency checks: keep the worst
				}
				checks[k] = c
				if (c.Status == preflight.Breaks || c.Status == preflight.Degrades) && c.Fix == "" {
					t.Errorf("--to %s: %s is %s and says nothing to change", target, k, c.Status)
				}
			}
		}
		for _, w := range wants {
			c, ok := checks[w.subject+" "+w.check]
			switch {
			case w.status == "" && ok:
				t.Errorf("--to %s: %s %s is reported (%s: %s)", target, w.subject, w.check, c.Status, c.Message)
			case w.status == "":
			case !ok:
				t.Errorf("--to %s: no %s check for %s", target, w.check, w.subject)
			case c.Status != w.status || !strings.Contains(scrub(c.Message), w.text):
				t.Errorf("--to %s: %s %s is %s (%q), want %s with %q", target, w.subject, w.check, c.Status, scrub(c.Message), w.status, w.text)
			}
		}
		return &rep
	}
	v200 := judge("v2.0.0", []want{
		// The image under the target's generation.
		{"Provider/provider-ok", "Image", preflight.Safe, ""},
		{"Provider/provider-huge", "Image", preflight.Breaks, "package has 258 layers, but only 256 are allowed"},
		{"Provider/provider-runtime", "Image", preflight.Breaks, `couldn't find "package.yaml"`},
		// spec.crossplane.version.
		{"Provider/provider-ok", "CrossplaneVersion", preflight.Safe, `">=v1.14.0" admits v2.0.0`},
		{"Provider/provider-old", "CrossplaneVersion", preflight.Breaks, "(v2.0.0)"},
		{"Provider/provider-ignores", "CrossplaneVersion", preflight.Notice, "ignoreCrossplaneConstraints is true"},
		// Dependency constraints (the worst of platform-deps' four).
		{"Configuration/platform", "Dependency", preflight.Safe, "resolves to the installed Provider provider-ok"},
		{"Configuration/platform-deps", "Dependency", preflight.Breaks, ""},
		// ControllerConfig, unqualified references.
		{"Provider/provider-cc", "ControllerConfigRemoved", preflight.Breaks, "ControllerConfig irsa"},
		{"Provider/provider-ok", "ControllerConfigRemoved", "", ""},
		{"Provider/provider-unqualified", "PackageSourceUnqualified", preflight.Breaks, `spec.package "crossplane-contrib/provider-nop:v0.2.1" is not fully qualified`},
		{"Configuration/platform", "PackageSourceUnqualified", preflight.Breaks, "dependsOn names crossplane-contrib/function-patch without a registry"},
		{"Provider/provider-ok", "PackageSourceUnqualified", "", ""},
		// Signature verification changes at v2.2, not crossed.
		{"Crossplane", "VerifiedConditionRemoved", "", ""},
		{"Crossplane", "CoreFlagRemoved", preflight.Breaks, "crossplane: error:"},
	})
	if v200.Status != preflight.Breaks {
		t.Errorf("v2.0.0: %s", v200.Status)
	}
	var deps []string
	for _, p := range v200.Packages {
		if p.Name != "platform-deps" {
			continue
		}
		for _, c := range p.Checks {
			if c.Check == "Dependency" {
				deps = append(deps, string(c.Status)+" "+string(c.Code)+" "+scrub(c.Message))
			}
		}
	}
	for i, w := range []string{
		"Safe  REGISTRY/crossplane-contrib/provider-ok (>=v1.0.0) resolves to the installed Provider provider-ok (v1.0.0)",
		"Breaks DependencyVersionConflict cannot resolve package dependencies:",
		"Safe  REGISTRY/acme/function-dep (>=v0.2.0) is not installed; Crossplane would install REGISTRY/acme/function-dep:v0.3.0",
		"Breaks DependencyUnresolvable REGISTRY/acme/provider-gone (>=v1.0.0) is not installed and REGISTRY/acme/provider-gone has no version for it",
	} {
		if i >= len(deps) || !strings.HasPrefix(deps[i], w) {
			t.Errorf("platform-deps dependency %d: got %q, want %q...", i, deps, w)
		}
	}

	v234 := judge("v2.3.4", []want{
		// v2.2 lifted the layer limit; verification moved into the fetch.
		{"Provider/provider-huge", "Image", preflight.Safe, "fails on v1.20.0 (TooManyLayers)"},
		{"Crossplane", "VerifiedConditionRemoved", preflight.Notice, "signature verification is in use"},
		{"Crossplane", "UpgradePath", preflight.Degrades, "skips v2.0, v2.1, v2.2"},
		{"Function/function-never", "PullPolicyNeverNeedsDigest", preflight.Breaks, "registry HEAD"},
	})
	if v234.ExitCode() != preflight.ExitBreaks {
		t.Errorf("v2.3.4: exit %d", v234.ExitCode())
	}

	// YAML is the same report; wide adds each check's finding code.
	y, _, code := run(t, append(base, "--to", "v2.0.0", "-o", "yaml")...)
	var fromYAML preflight.Report
	if err := yaml.Unmarshal([]byte(y), &fromYAML); err != nil || code != ExitFindings || fromYAML.Kind != preflight.Kind || len(fromYAML.Packages) != len(v200.Packages) {
		t.Errorf("-o yaml: exit %d, %v\n%s", code, err, y)
	}
	wide, _, _ := run(t, append(base, "--to", "v2.0.0", "-o", "wide")...)
	if !strings.Contains(wide, "CODE") || !strings.Contains(wide, "TooManyLayers") || !strings.Contains(wide, "CrossplaneVersionIncompatible") {
		t.Errorf("-o wide lacks the codes:\n%s", wide)
	}
}

// crossplaneDump is a support dump of Crossplane version running with one
// Provider from ref, its revision on v2's conditions.
func crossplaneDump(t *testing.T, running, ref string) string {
	t.Helper()
	dump := `apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: crossplane, namespace: crossplane-system}
  spec:
    selector: {matchLabels: {app: crossplane}}
    template:
      metadata: {labels: {app: crossplane}}
      spec:
        containers:
        - {name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:RUNNING", args: [core, start]}
- apiVersion: pkg.crossplane.io/v1
  kind: Provider
  metadata: {name: provider-ok}
  spec: {package: "REF"}
  status:
    currentRevision: provider-ok-0000000000a1
    conditions:
    - {type: Installed, status: "True", reason: ActivePackageRevision}
    - {type: Healthy, status: "True", reason: HealthyPackageRevision}
- apiVersion: pkg.crossplane.io/v1
  kind: ProviderRevision
  metadata:
    name: provider-ok-0000000000a1
    labels: {pkg.crossplane.io/package: provider-ok}
  spec: {desiredState: Active, image: "REF", revision: 1}
  status:
    conditions:
    - {type: RevisionHealthy, status: "True", reason: HealthyPackageRevision}
    - {type: RuntimeHealthy, status: "True", reason: HealthyPackageRevision}
`
	dump = strings.NewReplacer("RUNNING", running, "REF", ref).Replace(dump)
	path := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(path, []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Exit 0 when everything is Safe, 2 when preflight could not tell (an
// image it could not read), with the reason; usage errors before anything
// is read.
func TestPreflightExitStatus(t *testing.T) {
	host := testregistry.InProcess(t).Host
	ok := host + "/crossplane-contrib/provider-ok:v1.0.0"
	if err := xpkgtest.Push(ok, xpkgtest.Package{Name: "provider-ok", Crossplane: ">=v2.0.0"}.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "preflight", "--from-file", crossplaneDump(t, "v2.2.0", ok), "--to", "v2.3.0")
	if code != ExitOK || !strings.Contains(out, "2 checks pass for v2.3.0") || !strings.Contains(out, "Crossplane v2.2.0 to v2.3.0 (generation v2.2+): Safe, exit 0") || errOut != "" {
		t.Errorf("safe upgrade: exit %d\n%s\n%s", code, out, errOut)
	}

	// A registry that refuses connections: xpdoctor cannot read the image.
	gone := "127.0.0.1:1/crossplane-contrib/provider-ok:v1.0.0"
	out, errOut, code = run(t, "preflight", "--from-file", crossplaneDump(t, "v2.2.0", gone), "--to", "v2.3.0", "--timeout", "20s")
	if code != ExitError || !strings.Contains(out, "Unknown") || !strings.Contains(errOut, "preflight could not tell whether v2.3.0 accepts everything: 1 check(s) are Unknown") {
		t.Errorf("unreadable image: exit %d\n%s\n%s", code, out, errOut)
	}

	dump := crossplaneDump(t, "v2.2.0", ok)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--to is required"},
		{[]string{"--to", "v1.2.0"}, "older than v1.13"},
		{[]string{"--to", "latest"}, "--to:"},
		{[]string{"--to", "v2.3.0", "-o", "markdown"}, `unknown output format "markdown"`},
		{[]string{"--to", "v2.3.0", "--crossplane-version", "soon"}, "soon"},
		{[]string{"--to", "v2.3.0", "extra"}, "unknown command"},
	} {
		out, errOut, code := run(t, append([]string{"preflight", "--from-file", dump}, c.args...)...)
		if code != ExitError || out != "" || !strings.Contains(errOut, c.want) || strings.Count(errOut, "error:") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q (want %q once)", c.args, code, out, errOut, c.want)
		}
	}
}

// TestPreflightSeveralClusters preflights the v1.20 cluster and one that
// cannot be reached in one run: the reachable one's report is the one it
// gets alone, the other's row says why; something breaks, so exit 1.
func TestPreflightSeveralClusters(t *testing.T) {
	env, _ := preflightCluster(t)
	kubeconfig := fleetKubeconfig(t, map[string]*rest.Config{"old": env.Config, "gone": nil})
	alone, _, _ := run(t, "preflight", "--kubeconfig", kubeconfig, "--context", "old", "--to", "v2.0.0", "-o", "json")
	out, errOut, code := run(t, "preflight", "--kubeconfig", kubeconfig, "--all-contexts", "--to", "v2.0.0", "-o", "json")
	var rep preflight.FleetReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != ExitFindings {
		t.Fatalf("exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	var single preflight.Report
	if err := json.Unmarshal([]byte(alone), &single); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(single)
	b, _ := json.Marshal(rep.Clusters["old"].Report)
	if rep.Kind != preflight.FleetKind || rep.Status != preflight.Breaks || strings.Join(rep.Contexts, ",") != "gone,old" || string(a) != string(b) {
		t.Errorf("fleet %s %s %v; old alone and in the fleet:\n%s\n%s", rep.Kind, rep.Status, rep.Contexts, a, b)
	}
	if g := rep.Clusters["gone"]; g.Report != nil || !strings.Contains(g.Error, "cannot read the cluster at "+unreachableServer) {
		t.Errorf("gone: %+v", g)
	}
	table, _, _ := run(t, "preflight", "--kubeconfig", kubeconfig, "--context", "old,gone", "--to", "v2.0.0")
	if !strings.HasPrefix(table, "CLUSTER   KIND") || !strings.Contains(table, "\ngone      -   ") || !strings.Contains(table, "Unknown   not read: cannot read the cluster at https://127.0.0.1:1") ||
		!strings.Contains(table, "Cluster old: Crossplane v1.20.0 to v2.0.0 (generation v2.0-v2.1): Breaks, exit 1") || !strings.Contains(table, "2 cluster(s) to v2.0.0: Breaks, exit 1") {
		t.Errorf("table:\n%s", table)
	}
	// Nothing breaks where it was read, one cluster not read: could not tell.
	if _, errOut, code := run(t, "preflight", "--kubeconfig", kubeconfig, "--context", "gone,nowhere", "--to", "v2.0.0"); code != ExitError || !strings.Contains(errOut, "in every cluster") {
		t.Errorf("none read: exit %d %s", code, errOut)
	}
}
