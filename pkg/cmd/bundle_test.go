package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/pkg/cluster"
)

// Fake credentials seeded into the cluster: none may reach a bundle.
const (
	fakeEnvSecret  = "AKIAFAKE0123456789-env-value"
	fakePodSecret  = "pod-env-value-Zq81xKp"
	fakeDRCSecret  = "drc-env-value-4471Qa"
	fakePullPasswd = "pull-secret-password-90210"
)

// seedSecrets adds to the incident what a bundle must leave out: a pull
// secret, environment values on Crossplane's Deployment (beside REGISTRY,
// which it keeps), on a runtime Pod and in a DeploymentRuntimeConfig, a
// last-applied annotation that repeats one, and an Event about another
// workload in namespace default.
func seedSecrets(t *testing.T, dyn dynamic.Interface, env *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	auth := base64.StdEncoding.EncodeToString([]byte("robot:" + fakePullPasswd))
	cfg := base64.StdEncoding.EncodeToString([]byte(`{"auths":{"mirror.example.com":{"auth":"` + auth + `"}}}`))
	create(t, env.Config, `apiVersion: v1
kind: Secret
metadata: {name: mirror-creds, namespace: crossplane-system}
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: `+cfg+`}
---
apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata:
  name: with-env
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"spec":{"env":"`+fakeDRCSecret+`"}}'
spec:
  deploymentTemplate:
    spec:
      selector: {}
      template:
        spec:
          containers:
          - name: package-runtime
            env:
            - {name: API_KEY, value: `+fakeDRCSecret+`}
            - name: FROM_SECRET
              valueFrom: {secretKeyRef: {name: provider-creds, key: token, optional: true}}
---
apiVersion: v1
kind: Event
metadata: {name: web.1, namespace: default}
involvedObject: {apiVersion: v1, kind: Pod, name: web, namespace: default}
type: Warning
reason: BackOff
message: an unrelated workload's event
`)
	deployments := dyn.Resource(kinds["Deployment"].GVR).Namespace("crossplane-system")
	xp, err := deployments.Get(ctx, "crossplane", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	containers, _, _ := unstructured.NestedSlice(xp.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	c["env"] = []any{
		map[string]any{"name": "AWS_SECRET_ACCESS_KEY", "value": fakeEnvSecret},
		map[string]any{"name": "REGISTRY", "value": "xpkg.upbound.io"},
	}
	if err := unstructured.SetNestedSlice(xp.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	if _, err := deployments.Update(ctx, xp, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := dyn.Resource(kinds["Pod"].GVR).Namespace("crossplane-system")
	l, err := pods.List(ctx, metav1.ListOptions{LabelSelector: cluster.LabelRevision})
	if err != nil || len(l.Items) == 0 {
		t.Fatalf("no runtime pod to seed: %v", err)
	}
	pod := &l.Items[0]
	pcs, _, _ := unstructured.NestedSlice(pod.Object, "spec", "containers")
	pcs[0].(map[string]any)["env"] = []any{map[string]any{"name": "TOKEN", "value": fakePodSecret}}
	// A Pod's containers cannot change: recreate it with the env.
	if err := pods.Delete(ctx, pod.GetName(), metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	status := pod.Object["status"]
	fresh := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": pod.GetName(), "namespace": pod.GetNamespace(), "labels": pod.GetLabels()}, "spec": pod.Object["spec"]}}
	_ = unstructured.SetNestedSlice(fresh.Object, pcs, "spec", "containers")
	created, err := pods.Create(ctx, fresh, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Object["status"] = status
	if _, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// staleControllerSays is what diagnose says of a controller reference to
// a revision that a live read (and a bundle) does not have.
const staleControllerSays = "is controlled by ProviderRevision upbound-provider-family-gcp-9f6272120d40, which no longer exists"

// seedStaleController adds a Provider whose revision cannot take control
// of a CRD that a revision no longer in the cluster controls; the message
// is provider-upjet-gcp#601's (Crossplane's establisher,
// internal/controller/pkg/revision/establisher.go "cannot establish
// control of object").
func seedStaleController(t *testing.T, env *testenv.Env, host string) {
	t.Helper()
	create(t, env.Config, strings.ReplaceAll(`apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata: {name: upbound-provider-family-gcp}
spec: {package: REGISTRY/upbound/provider-nop:v1.6.0}
status:
  conditions:
  - {type: Installed, status: 'True', reason: ActivePackageRevision, lastTransitionTime: '2026-11-27T05:00:00Z'}
  - type: Healthy
    status: 'False'
    reason: UnhealthyPackageRevision
    lastTransitionTime: '2026-11-27T05:00:00Z'
    message: 'Package revision health is "False" with message: cannot establish control of object: providerconfigs.gcp.upbound.io is already controlled by ProviderRevision upbound-provider-family-gcp-9f6272120d40'
  currentRevision: upbound-provider-family-gcp-1a2b3c4d5e6f
  currentIdentifier: REGISTRY/upbound/provider-nop:v1.6.0
---
apiVersion: pkg.crossplane.io/v1
kind: ProviderRevision
metadata:
  name: upbound-provider-family-gcp-1a2b3c4d5e6f
  labels: {pkg.crossplane.io/package: upbound-provider-family-gcp}
spec: {desiredState: Active, image: REGISTRY/upbound/provider-nop:v1.6.0, revision: 1}
status:
  conditions:
  - type: RevisionHealthy
    status: 'False'
    reason: UnhealthyPackageRevision
    lastTransitionTime: '2026-11-27T05:00:00Z'
    message: 'cannot establish control of object: providerconfigs.gcp.upbound.io is already controlled by ProviderRevision upbound-provider-family-gcp-9f6272120d40'
`, "REGISTRY", host))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// diagnosis is what must be equal between a live diagnosis and one of
// its bundle: everything but where it was read from.
func diagnosis(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	delete(m, "source")
	// Which secret Crossplane sends for each package: a bundle holds no
	// Secret, so its images are read with the reader's credentials, and
	// its report says so (bundleCredentials checks it).
	delete(m, "registryCredentials")
	var notes []any
	for _, n := range asSlice(m["notes"]) {
		if s, _ := n.(string); !strings.Contains(s, "were read with your local credentials instead of Crossplane's") {
			notes = append(notes, n)
		}
	}
	m["notes"] = notes
	for _, p := range asSlice(m["packages"]) {
		if row, ok := p.(map[string]any); ok {
			delete(row, "credentials")
		}
	}
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// bundleCredentials checks that a report from a bundle says its images
// were read with local credentials because a bundle holds no Secret.
func bundleCredentials(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, `"registryCredentials": "local"`) || !strings.Contains(out, "a support bundle holds no Secret (crossplane-system/mirror-creds)") {
		t.Errorf("the bundle's report does not say why its images were read with local credentials:\n%s", out)
	}
}

// The bundle of a cluster diagnoses to the same report as the cluster
// (every finding, row, note and denial, compared as JSON), holds no Secret
// and no environment value, is refused over an existing file, and reads
// from standard input.
func TestBundleDiagnosesAsTheCluster(t *testing.T) {
	pinClock(t)
	env, dyn, host := incidentCluster(t)
	seedSecrets(t, dyn, env)
	seedStaleController(t, env, host)
	judge := []string{"-o", "json", "--upstream-registry", host + "/mirror=" + host}

	live, errOut, code := run(t, append([]string{"--kubeconfig", env.Kubeconfig}, judge...)...)
	if code != ExitFindings {
		t.Fatalf("live: exit %d\n%s", code, errOut)
	}
	path := filepath.Join(t.TempDir(), "bundle.yaml")
	out, errOut, code := run(t, "bundle", "--kubeconfig", env.Kubeconfig, "-o", path)
	if code != 0 || out != "" || !strings.HasPrefix(errOut, "wrote "+path+": ") || !strings.Contains(errOut, "no Secret, environment values redacted") {
		t.Fatalf("bundle: exit %d\n%s\n%s", code, out, errOut)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bundle := string(raw)
	t.Logf("bundle of the incident: %d bytes, %d items", len(raw), strings.Count(bundle, "\n- "))
	fromBundle, errOut, code := run(t, append([]string{"--from-file", path}, judge...)...)
	if code != ExitFindings {
		t.Fatalf("from the bundle: exit %d\n%s", code, errOut)
	}
	if got, want := diagnosis(t, fromBundle), diagnosis(t, live); !reflect.DeepEqual(got, want) {
		t.Errorf("the bundle's diagnosis differs from the cluster's:\n--- bundle\n%s\n--- live\n%s", fromBundle, live)
	}
	bundleCredentials(t, fromBundle)
	// Equal because the bundle says it is a whole read: without its first
	// item it is any dump, where the revision that holds control may exist.
	if !strings.Contains(live, staleControllerSays) {
		t.Fatalf("the live report does not say the controlling revision is gone:\n%s", live)
	}
	info := strings.Index(bundle, "- apiVersion: "+cluster.BundleAPIVersion)
	next := strings.Index(bundle[info+1:], "\n- ") + info + 2
	plain := filepath.Join(t.TempDir(), "plain.yaml")
	if err := os.WriteFile(plain, []byte(bundle[:info]+bundle[next:]), 0o600); err != nil {
		t.Fatal(err)
	}
	if asDump, _, _ := run(t, append([]string{"--from-file", plain}, judge...)...); strings.Contains(asDump, staleControllerSays) {
		t.Error("without its SupportBundle item the bundle still reads as a whole read: the comparison proves nothing")
	}

	// What it must not hold.
	auth := base64.StdEncoding.EncodeToString([]byte("robot:" + fakePullPasswd))
	for _, leak := range []string{fakeEnvSecret, fakePodSecret, fakeDRCSecret, fakePullPasswd, auth, "kind: Secret", ".dockerconfigjson", "managedFields:", "last-applied-configuration:", "an unrelated workload's event"} {
		if strings.Contains(bundle, leak) {
			t.Errorf("the bundle holds %q", leak)
		}
	}
	// What it must hold: every kind a diagnosis reads, the names valueFrom
	// refers to, Crossplane's REGISTRY, pull secrets' names.
	for _, want := range []string{"kind: SupportBundle", "kind: Provider\n", "kind: ProviderRevision", "kind: Configuration\n", "kind: Function\n", "kind: DeploymentRuntimeConfig", "kind: Deployment",
		"kind: Pod", "kind: Event", "kind: ServiceAccount", "name: mirror-creds", "name: provider-creds", "key: token", "value: xpkg.upbound.io", "name: AWS_SECRET_ACCESS_KEY", "value: <redacted>"} {
		if !strings.Contains(bundle, want) {
			t.Errorf("the bundle lacks %q", want)
		}
	}
	if strings.Contains(bundle, "optional: true") {
		t.Error("valueFrom kept more than the names it refers to")
	}

	// Never overwritten without --overwrite, before the cluster is read.
	_, errOut, code = run(t, "bundle", "--kubeconfig", env.Kubeconfig, "-o", path)
	if code != ExitError || !strings.HasPrefix(errOut, "error: "+path+" exists: give another -o FILE, or --overwrite to replace it\n") {
		t.Fatalf("second bundle: exit %d\n%s", code, errOut)
	}
	if again, _ := os.ReadFile(path); string(again) != bundle {
		t.Fatal("the refused bundle changed the file")
	}
	if _, errOut, code = run(t, "bundle", "--kubeconfig", env.Kubeconfig, "-o", path, "--overwrite"); code != 0 {
		t.Fatalf("--overwrite: exit %d\n%s", code, errOut)
	}

	// -o - writes it to stdout; diagnose reads it from stdin.
	stdout, errOut, code := run(t, "bundle", "--kubeconfig", env.Kubeconfig, "-o", "-")
	if code != 0 || !strings.Contains(stdout, "kind: SupportBundle") || !strings.HasPrefix(errOut, "wrote standard output: ") {
		t.Fatalf("-o -: exit %d\n%s", code, errOut)
	}
	fromStdin, errOut, code := runIn(t, stdout, append([]string{"--from-file", "-"}, judge...)...)
	if code != ExitFindings {
		t.Fatalf("from stdin: exit %d\n%s", code, errOut)
	}
	if got, want := diagnosis(t, fromStdin), diagnosis(t, live); !reflect.DeepEqual(got, want) {
		t.Errorf("the bundle read from stdin diagnoses otherwise:\n%s", fromStdin)
	}

	// -o json is a format, not a file name.
	if _, errOut, code = run(t, "bundle", "--kubeconfig", env.Kubeconfig, "-o", "json"); code != ExitError || !strings.Contains(errOut, "-o names the file to write") {
		t.Fatalf("-o json: exit %d\n%s", code, errOut)
	}
}

// A user bound only to docs/rbac.yaml writes a bundle that diagnoses as
// the cluster does for that user; one who may not list events gets a
// bundle that records it, and its diagnosis says PermissionDenied as the
// live one does.
func TestBundleLeastPrivilege(t *testing.T) {
	pinClock(t)
	env, _, host := incidentCluster(t)
	bindReadOnlyRoles(t, env.Config, "alice")
	bindNoEvents(t, env.Config, "bob")
	judge := []string{"-o", "json", "--upstream-registry", host + "/mirror=" + host}
	for _, user := range []string{"alice", "bob"} {
		live, _, _ := run(t, append([]string{"--kubeconfig", env.Kubeconfig, "--as", user, "--read-pull-secrets=false"}, judge...)...)
		path := filepath.Join(t.TempDir(), user+".yaml")
		_, errOut, code := run(t, "bundle", "--kubeconfig", env.Kubeconfig, "--as", user, "-o", path)
		if code != 0 {
			t.Fatalf("%s: bundle exit %d\n%s", user, code, errOut)
		}
		if user == "bob" && !strings.Contains(errOut, "warning: could not list events in namespace crossplane-system (forbidden)") {
			t.Errorf("bob's bundle does not say what it could not read:\n%s", errOut)
		}
		fromBundle, _, _ := run(t, append([]string{"--from-file", path}, judge...)...)
		if got, want := diagnosis(t, fromBundle), diagnosis(t, live); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the bundle's diagnosis differs:\n--- bundle\n%s\n--- live\n%s", user, fromBundle, live)
		}
	}
}

// Live: a name that does not exist is NotFound as kubectl says it (exit
// 1); a namespace without Crossplane, and a cluster with Crossplane's CRDs
// but neither packages nor Crossplane, exit 2 with what was looked for;
// Crossplane in upbound-system (UXP) is found and said.
func TestNotFoundAndNoCrossplaneLive(t *testing.T) {
	env, _, _ := incidentCluster(t)
	k := []string{"--kubeconfig", env.Kubeconfig, "--inspect", "none"}
	out, errOut, code := run(t, append([]string{"diagnose", "provider-doker"}, k...)...)
	want := `Error from server (NotFound): providers.pkg.crossplane.io "provider-doker" not found
Error from server (NotFound): functions.pkg.crossplane.io "provider-doker" not found
Error from server (NotFound): configurations.pkg.crossplane.io "provider-doker" not found
`
	if code != ExitFindings || out != "" || errOut != want {
		t.Fatalf("provider-doker: exit %d, stdout %q\n%s", code, out, errOut)
	}
	// Word for word what kubectl says, and its exit status.
	if kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"); fileExists(kubectl) {
		var stderr strings.Builder
		get := exec.Command(kubectl, "--kubeconfig", env.Kubeconfig, "get", "providers,functions,configurations", "provider-doker")
		get.Stderr = &stderr
		err := get.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != ExitFindings || stderr.String() != want {
			t.Errorf("kubectl get says (%v):\n%s\nxpdoctor:\n%s", err, stderr.String(), want)
		}
	}
	if _, errOut, code = run(t, append([]string{"--kind", "Provider", "provider-doker"}, k...)...); code != ExitFindings || errOut != strings.SplitAfter(want, "\n")[0] {
		t.Fatalf("--kind Provider: exit %d\n%s", code, errOut)
	}
	if _, errOut, code = run(t, append([]string{"fix", "provider-runtme", "--upstream-registry", "a.example.com=b.example.com"}, k...)...); code != ExitFindings || !strings.Contains(errOut, `Error from server (NotFound): providers.pkg.crossplane.io "provider-runtme" not found`) {
		t.Fatalf("fix: exit %d\n%s", code, errOut)
	}
	for _, flag := range []string{"--crossplane-namespace", "-n"} {
		_, errOut, code = run(t, append([]string{flag, "nothing-here"}, k...)...)
		want := "error: no Crossplane found in namespace nothing-here of the cluster at " + env.Config.Host + " (context envtest): no Crossplane Deployment (a Deployment named crossplane) runs there; " +
			"Crossplane installs into crossplane-system, UXP into upbound-system: pass the namespace that runs it with --crossplane-namespace (or -n)\n"
		if code != ExitError || errOut != want {
			t.Errorf("%s nothing-here: exit %d\n%s", flag, code, errOut)
		}
	}

	bare := testenv.Start(t, false)
	_, errOut, code = run(t, "--kubeconfig", bare.Kubeconfig)
	if code != ExitError || !strings.HasPrefix(errOut, "error: no Crossplane found in the cluster at "+bare.Config.Host+" (context envtest): it serves the pkg.crossplane.io API, but has no package and no Crossplane Deployment in any namespace") {
		t.Fatalf("CRDs only: exit %d\n%s", code, errOut)
	}
	// UXP's namespace, found without a flag, and said.
	create(t, bare.Config, `apiVersion: v1
kind: Namespace
metadata: {name: upbound-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: crossplane, namespace: upbound-system, labels: {app: crossplane}}
spec:
  selector: {matchLabels: {app: crossplane}}
  template:
    metadata: {labels: {app: crossplane}}
    spec:
      containers: [{name: crossplane, image: xpkg.upbound.io/upbound/crossplane:v2.1.3-up.1}]
`)
	out, errOut, code = run(t, "--kubeconfig", bare.Kubeconfig, "-o", "json")
	if code != 0 || !strings.Contains(out, "Crossplane runs in namespace upbound-system (found by its Deployment crossplane") || !strings.Contains(out, `"crossplaneVersion": "v2.1.3`) {
		t.Fatalf("UXP: exit %d\n%s\n%s", code, out, errOut)
	}
	// A user who may list Deployments in upbound-system only (no
	// cluster-wide List) finds it there too, and nothing is denied.
	create(t, bare.Config, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: packages}
rules:
- {apiGroups: [pkg.crossplane.io], resources: ["*"], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: carol}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: packages}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: runtime, namespace: upbound-system}
rules:
- {apiGroups: ["", apps], resources: [deployments, pods, events], verbs: [list]}
- {apiGroups: [""], resources: [serviceaccounts], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: carol, namespace: upbound-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: runtime}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: events, namespace: default}
rules:
- {apiGroups: [""], resources: [events], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: carol, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: events}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
`)
	out, errOut, code = run(t, "--kubeconfig", bare.Kubeconfig, "--as", "carol", "-o", "json", "--read-pull-secrets=false")
	if code != 0 || !strings.Contains(out, "Crossplane runs in namespace upbound-system") || strings.Contains(out, `"denied"`) {
		t.Fatalf("carol: exit %d\n%s\n%s", code, out, errOut)
	}
}

// The kubectl recipe of diagnose --help and the README, run with the real
// kubectl against the incident, makes a dump that diagnoses to the same
// findings per package as the cluster (from a kubectl dump, what it lacks
// is unknown, so only the codes are compared, as for any dump).
func TestKubectlDumpRecipe(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), indent(kubectlDumpRecipe, "    ")) {
		t.Fatal("the README's kubectl dump recipe is not diagnose --help's (kubectlDumpRecipe)")
	}
	pinClock(t)
	env, _, host := incidentCluster(t)
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Skipf("no kubectl in KUBEBUILDER_ASSETS: %v", err)
	}
	dir := t.TempDir()
	sh := exec.Command("bash", "-e", "-o", "pipefail", "-c", kubectlDumpRecipe)
	sh.Dir = dir
	sh.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "PATH="+filepath.Dir(kubectl)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the recipe: %v\n%s", err, out)
	}
	judge := []string{"-o", "json", "--upstream-registry", host + "/mirror=" + host}
	live, _, _ := run(t, append([]string{"--kubeconfig", env.Kubeconfig}, judge...)...)
	dump, errOut, code := run(t, append([]string{"--from-file", filepath.Join(dir, "dump.yaml")}, judge...)...)
	if code != ExitFindings {
		t.Fatalf("from the recipe's dump: exit %d\n%s", code, errOut)
	}
	_, byLive := codesBy(t, live)
	_, byDump := codesBy(t, dump)
	for name, codes := range byLive {
		if strings.Join(sorted(codes), ",") != strings.Join(sorted(byDump[name]), ",") {
			t.Errorf("%s: the recipe's dump gives %v, the cluster %v", name, byDump[name], codes)
		}
	}
}
