package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// kinds and create are testenv's: one helper for every envtest test.
var kinds = testenv.Kinds

func create(t testing.TB, cfg *rest.Config, stream string) {
	t.Helper()
	testenv.Create(t, cfg, stream)
}

// incidentCluster starts envtest and a registry and recreates the incident
// of testdata/cluster.yaml. It returns the kubeconfig and the registry host;
// wrap are the registry's handler wrappers (testregistry.InProcess).
func incidentCluster(t *testing.T, wrap ...func(http.Handler) http.Handler) (*testenv.Env, dynamic.Interface, string) {
	t.Helper()
	env := testenv.Start(t, false)
	reg := testregistry.InProcess(t, wrap...)
	host := reg.Host
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	pushes := []struct {
		ref string
		do  func(string) error
	}{
		{"/upbound/provider-nop:v1.6.0", func(r string) error { return xpkgtest.Push(r, provider.Index()) }},
		{"/mirror/upbound/provider-nop:v1.6.0", func(r string) error { return xpkgtest.DockerRepush(r, provider.Image(amd64)) }},
		{"/mirror/upbound/provider-runtime:v1.6.0", func(r string) error { return xpkgtest.Push(r, xpkgtest.RuntimeImage(amd64)) }},
		{"/mirror/crossplane-contrib/function-runtime:v0.1.0", func(r string) error { return xpkgtest.Push(r, xpkgtest.RuntimeImage(amd64)) }},
		{"/upbound/provider-runtime:v1.6.0", func(r string) error { return xpkgtest.Push(r, provider.Index()) }},
		{"/mirror/upbound/provider-aws-s3:v1.6.0", func(r string) error { return xpkgtest.Push(r, provider.Image(amd64)) }},
		{"/upbound/provider-aws-s3:v1.6.0", func(r string) error { return xpkgtest.Push(r, provider.Image(amd64)) }},
		{"/other/provider-family-aws:v1.6.0", func(r string) error { return xpkgtest.Push(r, provider.Image(amd64)) }},
	}
	for _, p := range pushes {
		if err := p.do(host + p.ref); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	create(t, env.Config, strings.ReplaceAll(string(raw), "REGISTRY", host))
	return env, dyn, host
}

func pinClock(t *testing.T) {
	old := clock
	clock = func() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { clock = old })
}

type diagJSON struct {
	CrossplaneVersion string `json:"crossplaneVersion"`
	Packages          []struct {
		Kind, Name, Installed, Healthy, Finding string
	} `json:"packages"`
	Findings []struct {
		Code, Severity string
		Subject        struct{ Kind, Name string }
		Evidence       []string
		Remediation    string
	} `json:"findings"`
}

// codesBy lists finding codes per package name.
func codesBy(t *testing.T, out string) (diagJSON, map[string][]string) {
	t.Helper()
	var d diagJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := map[string][]string{}
	for _, f := range d.Findings {
		m[f.Subject.Name] = append(m[f.Subject.Name], f.Severity+":"+f.Code)
	}
	return d, m
}

func TestDiagnoseAgainstAPIServer(t *testing.T) {
	pinClock(t)
	env, dyn, host := incidentCluster(t)
	scrub := func(s string) string { return strings.ReplaceAll(s, host, "REGISTRY") }
	base := []string{"--kubeconfig", env.Kubeconfig, "--upstream-registry", host + "/mirror=" + host}

	out, errOut, code := run(t, append([]string{"-o", "json"}, base...)...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	d, by := codesBy(t, out)
	if d.CrossplaneVersion != "v2.1.3" || len(d.Packages) != 9 {
		t.Fatalf("version %q, %d packages", d.CrossplaneVersion, len(d.Packages))
	}
	want := map[string][]string{
		"provider-nop":           nil,
		"provider-docker":        {"warning:BaseLayerAnnotationMissing", "warning:IndexCollapsed", "warning:MirrorDigestDiffers"},
		"provider-runtime":       {"error:PackageYAMLNotFound", "warning:BaseLayerAnnotationMissing", "warning:IndexCollapsed", "warning:MirrorDigestDiffers"},
		"function-runtime":       {"error:PackageYAMLNotFound", "warning:BaseLayerAnnotationMissing", "warning:UpstreamUnreadable"},
		"configuration-platform": {"error:ManifestNotFound", "warning:UpstreamUnreadable"},
		// dependsOn names xpkg.upbound.io/upbound/provider-family-aws; the
		// family is installed from REGISTRY/other/provider-family-aws.
		"provider-aws-s3":             {"error:DependencyNameMismatch", "error:FamilyRegistryMismatch"},
		"upbound-provider-family-aws": nil,
		"provider-pull":               {"error:RuntimeImagePullFailed"},
		"provider-crash":              {"error:RuntimeCrashLooping"},
	}
	for name, codes := range want {
		got := by[name]
		if strings.Join(sorted(got), ",") != strings.Join(sorted(codes), ",") {
			t.Errorf("%s: findings %v, want %v", name, got, codes)
		}
	}
	for _, f := range d.Findings {
		if f.Subject.Name == "provider-runtime" && f.Code == "PackageYAMLNotFound" {
			if !strings.Contains(strings.Join(f.Evidence, "\n"), "predicts exactly this message") {
				t.Errorf("the v2.1.3 verdict should predict the event: %v", f.Evidence)
			}
		}
		if f.Code == "DependencyNameMismatch" && (!strings.Contains(f.Remediation, "kind: ImageConfig") || !strings.Contains(f.Remediation, "spec.package: xpkg.upbound.io/upbound/provider-family-aws:TAG") ||
			!strings.Contains(f.Remediation, "prefix: "+host+"/other/")) {
			t.Errorf("dependency fix lacks the ImageConfig that maps the name dependsOn uses to the mirror: %s", f.Remediation)
		}
	}

	for _, g := range []struct{ name, format string }{{"diagnose.txt", "table"}, {"diagnose.md", "markdown"}, {"diagnose.json", "json"}} {
		out, _, _ := run(t, append([]string{"-o", g.format}, base...)...)
		golden(t, g.name, scrub(out))
	}

	// Narrowing and exit codes.
	out, _, code = run(t, append([]string{"diagnose", "provider-nop", "provider-docker"}, base...)...)
	if code != 0 || strings.Contains(out, "provider-runtime") {
		t.Fatalf("narrowed run: exit %d\n%s", code, out)
	}
	if _, _, code = run(t, append([]string{"--kind", "Configuration", "--exit-zero"}, base...)...); code != 0 {
		t.Fatalf("--exit-zero: exit %d", code)
	}

	// The offline path: a support dump gives the same findings.
	dump := supportDump(t, dyn)
	path := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(path, dump, 0o600); err != nil {
		t.Fatal(err)
	}
	out2, errOut, code := run(t, "--from-file", path, "-o", "json", "--upstream-registry", host+"/mirror="+host)
	if code != ExitFindings {
		t.Fatalf("from-file: exit %d %s", code, errOut)
	}
	_, by2 := codesBy(t, out2)
	for name := range want {
		if strings.Join(sorted(by[name]), ",") != strings.Join(sorted(by2[name]), ",") {
			t.Errorf("%s: from-file %v, live %v", name, by2[name], by[name])
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// supportDump is what `kubectl get providers,...,deployments,pods,events -A -o yaml` prints.
func supportDump(t *testing.T, dyn dynamic.Interface) []byte {
	t.Helper()
	list := map[string]any{"apiVersion": "v1", "kind": "List"}
	var items []any
	for _, k := range []string{"Provider", "ProviderRevision", "Function", "FunctionRevision", "Configuration", "ConfigurationRevision", "Deployment", "Pod", "Event"} {
		l, err := dyn.Resource(kinds[k].GVR).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			if it.GetAPIVersion() == "" {
				it.SetAPIVersion(kinds[k].GVR.GroupVersion().String())
				it.SetKind(k)
			}
			items = append(items, it.Object)
		}
	}
	list["items"] = items
	b, err := yaml.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bindReadOnlyRoles creates the roles of docs/rbac.yaml, which only read,
// and binds them to user.
func bindReadOnlyRoles(t *testing.T, cfg *rest.Config, user string) {
	t.Helper()
	rbac, err := os.ReadFile(filepath.Join("..", "..", "docs", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	create(t, cfg, string(rbac)+strings.ReplaceAll(`
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: USER}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: xpdoctor-diagnose}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: USER}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: USER, namespace: crossplane-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: xpdoctor-pull-secrets}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: USER}]
`, "USER", user))
}

// bindNoEvents lets user list packages, revisions, ImageConfigs,
// Deployments and Pods, and not Events.
func bindNoEvents(t *testing.T, cfg *rest.Config, user string) {
	t.Helper()
	create(t, cfg, strings.ReplaceAll(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: no-events}
rules:
- {apiGroups: [pkg.crossplane.io], resources: [providers, providerrevisions, functions, functionrevisions, configurations, configurationrevisions, imageconfigs], verbs: [list]}
- {apiGroups: [apps], resources: [deployments], verbs: [list]}
- {apiGroups: [""], resources: [pods], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: USER}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: no-events}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: USER}]
`, "USER", user))
}

func TestDiagnoseLeastPrivilege(t *testing.T) {
	pinClock(t)
	env, _, host := incidentCluster(t)
	bindReadOnlyRoles(t, env.Config, "alice")
	bindNoEvents(t, env.Config, "bob")
	base := []string{"--kubeconfig", env.Kubeconfig, "-o", "json", "--upstream-registry", host + "/mirror=" + host}
	admin, _, _ := run(t, base...)
	_, byAdmin := codesBy(t, admin)

	alice, errOut, code := run(t, append(base, "--as", "alice")...)
	if code != ExitFindings {
		t.Fatalf("alice: exit %d, want 1: %s", code, errOut)
	}
	_, byAlice := codesBy(t, alice)
	for name, codes := range byAdmin {
		if strings.Join(sorted(codes), ",") != strings.Join(sorted(byAlice[name]), ",") {
			t.Errorf("alice sees %v for %s, admin %v", byAlice[name], name, codes)
		}
	}

	bob, errOut, code := run(t, append(base, "--as", "bob")...)
	if code != ExitError || !strings.Contains(errOut, "forbidden") || strings.Contains(errOut, "goroutine") {
		t.Fatalf("bob: exit %d, stderr %q", code, errOut)
	}
	d, byBob := codesBy(t, bob)
	if len(d.Packages) != 9 || !strings.Contains(strings.Join(byBob[""], ","), "PermissionDenied") {
		t.Fatalf("bob: %d packages, cluster findings %v", len(d.Packages), byBob[""])
	}
	if !strings.Contains(bob, `not allowed to list events in namespace crossplane-system`) {
		t.Fatalf("bob's report does not name the missing permission:\n%s", bob)
	}
}

func TestDiagnoseWithoutCrossplane(t *testing.T) {
	env := testenv.Start(t, true)
	_, errOut, code := run(t, "--kubeconfig", env.Kubeconfig)
	want := "error: no Crossplane found in the cluster at " + env.Config.Host + " (context envtest): it serves no pkg.crossplane.io API; check --context, or install Crossplane\n"
	if code != ExitError || errOut != want {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// Images are inspected with the pull secrets Crossplane uses, and the
// credentials never show in the output.
func TestDiagnoseUsesCrossplanePullSecrets(t *testing.T) {
	const user, token = "robot", "xpd-SECRET-TOKEN-7731"
	env := testenv.Start(t, false)
	reg := testregistry.InProcess(t, testregistry.BasicAuth(user, token))
	ref := reg.Host + "/private/provider-nop:v1.6.0"
	if err := xpkgtest.Push(ref, provider.Index(), remote.WithAuth(&authn.Basic{Username: user, Password: token})); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + token))
	cfg := base64.StdEncoding.EncodeToString([]byte(`{"auths":{"` + reg.Host + `":{"auth":"` + auth + `"}}}`))
	create(t, env.Config, `apiVersion: v1
kind: Namespace
metadata: {name: crossplane-system}
---
apiVersion: v1
kind: Secret
metadata: {name: mirror-creds, namespace: crossplane-system}
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: `+cfg+`}
---
apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: provider-private}
spec:
  package: `+ref+`
  packagePullSecrets: [{name: mirror-creds}]
`)
	args := []string{"--kubeconfig", env.Kubeconfig, "--inspect", "all", "--crossplane-version", "v2.3.4", "-o", "json", "-v", "9"}
	out, errOut, code := run(t, args...)
	if code != 0 || strings.Contains(out, "RegistryUnauthorized") {
		t.Fatalf("with Crossplane's secret: exit %d\n%s\n%s", code, out, errOut)
	}
	out2, errOut2, code := run(t, append(args, "--read-pull-secrets=false")...)
	if code != ExitFindings || !strings.Contains(out2, "RegistryUnauthorized") {
		t.Fatalf("without: exit %d\n%s\n%s", code, out2, errOut2)
	}
	for _, s := range []string{out, errOut, out2, errOut2} {
		if strings.Contains(s, token) || strings.Contains(s, auth) {
			t.Fatal("a credential leaked into the output")
		}
	}
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	return unstructured.NestedString(obj, fields...)
}
