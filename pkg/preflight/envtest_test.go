package preflight

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/preflight/preflighttest"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

var crdFiles = preflighttest.CRDFiles

const (
	crossplaneV120 = preflighttest.CrossplaneV120
	crossplaneV234 = testenv.CrossplaneModule
)

// TestPreflightEnvtest reads a Crossplane v1.20 cluster from a real
// kube-apiserver (v1.20.0's CRDs, which still hold ControllerConfig and no
// CEL rule on spec.package), reads its package images from a real registry
// at the references preflight names, and judges the upgrade to v2.0.0 and
// v2.3.4. It then checks preflight's predictions about the API server
// against a real API server with Crossplane v2.3.4's CRDs.
func TestPreflightEnvtest(t *testing.T) {
	env := testenv.StartWith(t, crdFiles(t, crossplaneV120))
	env.Config.WarningHandler = rest.NoWarnings{}
	r := newRegistry(t)
	for path, obj := range preflighttest.V120Images(r.host) {
		r.push(path, obj)
	}
	fixture := preflighttest.V120Cluster(r.host)
	testenv.Create(t, env.Config, fixture)

	reader := &cluster.Reader{Dynamic: dynamic.NewForConfigOrDie(env.Config), Discovery: mustDiscovery(t, env.Config), ReadCompositions: true}
	snap, err := reader.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Lock == nil || len(snap.Lock.Packages) != 10 || len(snap.Compositions) != 2 || !snap.CompositionsRead {
		t.Fatalf("snapshot: lock %+v, compositions %+v", snap.Lock, snap.Compositions)
	}
	leastPrivilege(t, env, snap)
	running := snap.CrossplaneVersion()
	images := map[string]*xpkg.Report{}
	for src, ref := range ImageReferences(snap, running) {
		images[src] = r.read(ref)
	}
	if got := ImageReferences(snap, running)["crossplane-contrib/provider-nop:v0.2.1"]; got != r.host+"/crossplane-contrib/provider-nop:v0.2.1" {
		t.Fatalf("an unqualified package is read where --registry sends it: %s", got)
	}

	judge := func(target string) *Report {
		rep := run(t, Input{Snapshot: snap, Images: images, Running: running, Target: target})
		if rep.Running != "v1.20.0" {
			t.Fatalf("running %q", rep.Running)
		}
		return rep
	}
	v200 := judge("v2.0.0")
	assertChecks(t, v200, []want{
		{"", CheckUpgrade, Safe, nil, false},
		{"", "CoreFlagRemoved", Breaks, []string{"the --registry flag is no longer supported"}, false},
		{"", "RevisionHealthSplit", Notice, []string{"10 revision(s)"}, false},
		{"", "VerifiedConditionRemoved", "", nil, false},
		{"Provider/provider-ok", CheckImage, Safe, nil, false},
		{"Provider/provider-ok", CheckConstraint, Safe, nil, false},
		{"Provider/provider-cc", "ControllerConfigRemoved", Breaks, []string{"ControllerConfig irsa"}, false},
		{"Provider/provider-cc", "PermissionRequestsIgnored", Breaks, []string{"1 permission request(s)"}, false},
		{"Provider/provider-ok", "PermissionRequestsIgnored", "", nil, false},
		{"Provider/provider-unqualified", "PackageSourceUnqualified", Breaks, []string{"fix:" + r.host + "/crossplane-contrib/provider-nop:v0.2.1"}, false},
		{"Provider/provider-unqualified", CheckImage, Safe, nil, false},
		{"Provider/provider-old", CheckConstraint, Breaks, []string{"(v2.0.0)"}, false},
		{"Provider/provider-ignores", CheckConstraint, Notice, nil, false},
		{"Provider/provider-huge", CheckImage, Breaks, []string{"package has 258 layers"}, true},
		{"Provider/provider-runtime", CheckImage, Breaks, []string{`couldn't find "package.yaml"`}, true},
		{"Configuration/platform", CheckDependency, Safe, []string{"provider-ok"}, false},
		{"Configuration/platform", "PackageSourceUnqualified", Breaks, []string{"crossplane-contrib/function-patch"}, false},
		{"Configuration/platform", "NativePatchAndTransformRemoved", Breaks, []string{"xbuckets.acme.example.org"}, false},
		{"Configuration/platform-pipeline", "NativePatchAndTransformRemoved", "", nil, false},
		{"Function/function-never", "PullPolicyNeverNeedsDigest", "", nil, false},
	})
	flags := 0
	for _, c := range v200.Crossplane {
		if c.Check == "CoreFlagRemoved" {
			flags++
		}
	}
	if flags != 2 || v200.ExitCode() != ExitBreaks {
		t.Errorf("v2.0.0: %d refused flags (want --registry and --enable-environment-configs), exit %d", flags, v200.ExitCode())
	}
	for _, safe := range []string{"Provider/provider-ok", "Configuration/platform-pipeline"} {
		for _, p := range v200.Packages {
			if key(p.Kind, p.Name) == safe && p.Status != Safe {
				t.Errorf("%s: %s%s", safe, p.Status, dump(v200))
			}
		}
	}

	v234 := judge("v2.3.4")
	assertChecks(t, v234, []want{
		{"", CheckUpgrade, Degrades, []string{"skips v2.0, v2.1, v2.2"}, false},
		{"", "VerifiedConditionRemoved", Notice, []string{"signature verification is in use"}, false},
		{"Provider/provider-huge", CheckImage, Safe, []string{"fails on v1.20.0 (TooManyLayers)"}, false},
		{"Provider/provider-unqualified", "PackageSourceUnqualified", Breaks, []string{"cannot resolve crossplane-contrib/provider-nop:v0.2.1 to digest"}, false},
		{"Function/function-never", "PullPolicyNeverNeedsDigest", Breaks, []string{"registry HEAD"}, false},
	})

	agreeWithV2APIServer(t, fixture, v200)
	upgradeCRDsInPlace(t, env, v200)
}

// leastPrivilege reads the same snapshot as a user bound only to the roles
// of docs/rbac.yaml: nothing may be denied or missing.
func leastPrivilege(t *testing.T, env *testenv.Env, admin *cluster.Snapshot) {
	t.Helper()
	roles, err := os.ReadFile(filepath.Join("..", "..", "docs", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bind := func(kind, role string) string {
		return "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "Binding\nmetadata: {name: alice-" + role + ", namespace: crossplane-system}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: " + kind + ", name: " + role + "}\nsubjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]\n"
	}
	testenv.Create(t, env.Config, string(roles)+bind("ClusterRole", "xpdoctor-diagnose")+bind("ClusterRole", "xpdoctor-preflight")+bind("Role", "xpdoctor-pull-secrets"))
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
	reader := &cluster.Reader{Dynamic: dynamic.NewForConfigOrDie(cfg), Discovery: mustDiscovery(t, cfg), ReadCompositions: true}
	snap, err := reader.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Denied) > 0 || snap.Lock == nil || len(snap.Lock.Packages) != len(admin.Lock.Packages) || len(snap.Compositions) != len(admin.Compositions) || len(snap.Packages) != len(admin.Packages) || snap.CrossplaneImage == "" {
		t.Errorf("with docs/rbac.yaml: denied %+v, lock %v, %d compositions, %d packages", snap.Denied, snap.Lock != nil, len(snap.Compositions), len(snap.Packages))
	}
}

// agreeWithV2APIServer creates the fixture's packages and Compositions in a
// real API server with Crossplane v2.3.4's CRDs: it must refuse exactly the
// spec.package values and Compositions preflight says v2 refuses, and drop
// spec.controllerConfigRef.
func agreeWithV2APIServer(t *testing.T, fixture string, rep *Report) {
	env := testenv.StartWith(t, crdFiles(t, crossplaneV234))
	env.Config.WarningHandler = rest.NoWarnings{}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	refusedPackage := map[string]bool{}
	refusedComposition := map[string]bool{}
	for _, p := range rep.Packages {
		for _, c := range p.Checks {
			if c.Check == "PackageSourceUnqualified" && strings.Contains(c.Message, "spec.package") {
				refusedPackage[key(p.Kind, p.Name)] = true
			}
			if c.Check == "NativePatchAndTransformRemoved" {
				refusedComposition["xbuckets.acme.example.org"] = true
			}
		}
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(fixture), 4096)
	ctx := context.Background()
	checked := 0
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			break
		}
		u := &unstructured.Unstructured{Object: obj}
		var gvr schema.GroupVersionResource
		var refused bool
		switch u.GetKind() {
		case "Provider", "Function", "Configuration":
			gvr = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: strings.ToLower(u.GetKind()) + "s"}
			refused = refusedPackage[key(u.GetKind(), u.GetName())]
		case "Composition":
			gvr = schema.GroupVersionResource{Group: "apiextensions.crossplane.io", Version: "v1", Resource: "compositions"}
			refused = refusedComposition[u.GetName()]
		default:
			continue
		}
		delete(obj, "status")
		u.SetOwnerReferences(nil)
		created, err := dyn.Resource(gvr).Create(ctx, u, metav1.CreateOptions{})
		checked++
		switch {
		case refused && err == nil:
			t.Errorf("v2.3.4 API server accepted %s %s, which preflight says it refuses", u.GetKind(), u.GetName())
		case !refused && err != nil:
			t.Errorf("v2.3.4 API server refused %s %s, which preflight accepts: %v", u.GetKind(), u.GetName(), err)
		case refused && u.GetKind() != "Composition" && !strings.Contains(err.Error(), fullyQualifiedText(u)):
			t.Errorf("%s %s refused with another message than preflight's: %v", u.GetKind(), u.GetName(), err)
		case refused && u.GetKind() == "Composition" && !strings.Contains(err.Error(), `spec.mode: Unsupported value: "Resources": supported values: "Pipeline"`):
			t.Errorf("Composition %s refused with another message than preflight's: %v", u.GetName(), err)
		case refused:
			t.Logf("v2.3.4 refuses %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if err == nil && u.GetName() == "provider-cc" {
			if _, found, _ := unstructured.NestedMap(created.Object, "spec", "controllerConfigRef"); found {
				t.Errorf("v2.3.4 kept spec.controllerConfigRef")
			}
		}
	}
	if checked != 12 {
		t.Errorf("checked %d objects, want 12", checked)
	}
}

// fullyQualifiedText is preflight's rendering of the API server's refusal.
func fullyQualifiedText(u *unstructured.Unstructured) string {
	ref, _, _ := unstructured.NestedString(u.Object, "spec", "package")
	if err := crossplane.FullyQualified(ref); err != nil {
		return err.Error()
	}
	return "(accepted)"
}

// upgradeCRDsInPlace replaces v1.20's CRDs with v2.3.4's in the cluster that
// holds the v1.20 objects, as `crossplane core init` does on upgrade, and
// records what the API server then does with what preflight flags.
func upgradeCRDsInPlace(t *testing.T, env *testenv.Env, rep *Report) {
	files := crdFiles(t, crossplaneV234)
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: files, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("installing v2.3.4 CRDs over v1.20's: %v", err)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	providers := dyn.Resource(schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "providers"})
	ctx := context.Background()
	cc, err := providers.Get(ctx, "provider-cc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Pruning applies to what is read back from etcd, too: the reference is
	// gone as soon as v2's CRD is installed, as ControllerConfigRemoved says.
	if _, found, _ := unstructured.NestedMap(cc.Object, "spec", "controllerConfigRef"); found {
		t.Errorf("after the CRD upgrade provider-cc still shows spec.controllerConfigRef")
	}
	// An existing unqualified spec.package survives: the CEL rule only
	// judges changed fields on update (CRD validation ratcheting), so the
	// failure comes from Crossplane, as PackageSourceUnqualified says.
	u, err := providers.Get(ctx, "provider-unqualified", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.SetLabels(map[string]string{"touched": "true"})
	if _, err := providers.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Errorf("updating an unchanged unqualified spec.package after the CRD upgrade: %v", err)
	}
	u, _ = providers.Get(ctx, "provider-unqualified", metav1.GetOptions{})
	_ = unstructured.SetNestedField(u.Object, "crossplane-contrib/provider-nop:v0.3.0", "spec", "package")
	if _, err := providers.Update(ctx, u, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), crossplane.PackageSourceRuleMessage) {
		t.Errorf("changing spec.package to another unqualified reference: %v", err)
	}
	if c := checkOf(rep, "Provider/provider-unqualified", "PackageSourceUnqualified"); c == nil || !strings.Contains(c.Message, "API server refuses") {
		t.Errorf("preflight's message does not say the API server refuses a new value: %+v", c)
	}
}

func mustDiscovery(t testing.TB, cfg *rest.Config) cluster.Discovery {
	t.Helper()
	d, err := cluster.NewDiscoveryForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
