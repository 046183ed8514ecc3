package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// lifecycleCluster creates testdata/lifecycle.yaml in envtest, with its
// images in a registry, and deletes what is to be terminating. The clock is
// pinned 90 minutes after the API server stamped the deletions, and
// AGO_<d> is that long before the clock. It returns the kubeconfig and the
// registry host.
func lifecycleCluster(t *testing.T) (*testenv.Env, dynamic.Interface, string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second).Add(90 * time.Minute)
	old := clock
	clock = func() time.Time { return now }
	t.Cleanup(func() { clock = old })

	env := testenv.Start(t, false)
	reg := testregistry.InProcess(t)
	host := reg.Host
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	genuine := func(name string) xpkgtest.Package {
		return xpkgtest.Package{Kind: "Provider", Name: name, Crossplane: ">=v1.14.0-0", Objects: 1}
	}
	for _, ref := range []string{"provider-upgrade:v1.0.0", "provider-manual:v1.0.0", "provider-manual:v1.1.0", "provider-paused:v1.0.0",
		"provider-deleting:v1.0.0", "provider-gone:v1.0.0", "provider-recreated:v1.0.0", "provider-history:v4.0.0", "provider-rewritten:v1.0.0",
		"provider-deps:v1.0.0", "provider-base:v1.0.0", "provider-incompatible:v1.0.0"} {
		if err := xpkgtest.Push(host+"/acme/"+ref, genuine(strings.Split(ref, ":")[0]).Image(amd64)); err != nil {
			t.Fatal(err)
		}
	}
	// The failing versions: a runtime image pushed as the package, and a
	// package whose Crossplane constraint excludes v2.3.4.
	if err := xpkgtest.Push(host+"/acme/provider-upgrade:v2.0.0", xpkgtest.RuntimeImage(amd64)); err != nil {
		t.Fatal(err)
	}
	incompatible := xpkgtest.Package{Kind: "Provider", Name: "provider-incompatible", Crossplane: "<v2.0.0", Objects: 1}
	if err := xpkgtest.Push(host+"/acme/provider-incompatible:v2.0.0", incompatible.Image(amd64)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "lifecycle.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stream := regexp.MustCompile(`AGO_(\d+[HM])`).ReplaceAllStringFunc(strings.ReplaceAll(string(raw), "REGISTRY", host), func(m string) string {
		d, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(m, "AGO_")))
		if err != nil {
			t.Fatal(err)
		}
		return now.Add(-d).Format(time.RFC3339)
	})
	create(t, env.Config, stream)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	// The foreground deletion makes the API server add foregroundDeletion;
	// the revision keeps Crossplane's finalizer. envtest runs no garbage
	// collector and no Crossplane, so both stay.
	fg := metav1.DeletePropagationForeground
	if err := dyn.Resource(kinds["Provider"].GVR).Delete(ctx, "provider-deleting", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	if err := dyn.Resource(kinds["ProviderRevision"].GVR).Delete(ctx, "provider-deleting-ffffffffffff", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	return env, dyn, host
}

type lifeJSON struct {
	Packages []struct {
		Name, Finding, UnhealthyFor string
		UnhealthySince              *time.Time
	} `json:"packages"`
	Findings []struct {
		Code, Severity, Message, Remediation string
		Subject                              struct{ Kind, Name string }
		Evidence                             []string
	} `json:"findings"`
}

// Every lifecycle state of issue 18 through a real API server (objects and
// their status written as Crossplane writes them), live and from a dump.
func TestDiagnoseLifecycleAgainstAPIServer(t *testing.T) {
	env, dyn, host := lifecycleCluster(t)
	args := []string{"--kubeconfig", env.Kubeconfig, "--inspect", "all"}
	out, errOut, code := run(t, append([]string{"-o", "json"}, args...)...)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var rep lifeJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	type key struct{ subject, code string }
	got := map[key]string{} // severity
	text := map[key]string{}
	for _, f := range rep.Findings {
		k := key{f.Subject.Name, f.Code}
		got[k] = f.Severity
		text[k] = f.Message + "\n" + strings.Join(f.Evidence, "\n") + "\nfix: " + f.Remediation
	}
	want := []struct {
		subject, code, severity string
		has                     []string
	}{
		// v2.2+ unpacks in the package manager: the old revision serves.
		{"provider-upgrade", "UpgradeStuck", "error", []string{"is stuck for 20m before a revision of it exists", "PackageYAMLNotFound",
			host + "/acme/provider-upgrade:v1.0.0 still serves: provider-upgrade-aaaaaaaaaaaa is active and healthy, its Deployment crossplane-system/provider-upgrade-aaaaaaaaaaaa available (1 of 1)",
			`kubectl patch provider provider-upgrade --type merge -p '{"spec":{"package":"` + host + `/acme/provider-upgrade:v1.0.0"}}'`}},
		{"provider-upgrade", "PackageYAMLNotFound", "error", []string{"predicts exactly this message"}},
		// The new revision exists and fails: nothing serves.
		{"provider-incompatible", "UpgradeStuck", "error", []string{"is stuck for 2h: revision provider-incompatible-cccccccccccc fails (CrossplaneVersionIncompatible",
			"nothing serves: Crossplane deactivated provider-incompatible-bbbbbbbbbbbb", "has no runtime Deployment"}},
		{"provider-incompatible", "CrossplaneVersionIncompatible", "error", nil},
		{"provider-manual", "RevisionAwaitingActivation", "warning", []string{"waits for manual activation for 30m", `desiredState ""`,
			"nothing serves: Crossplane deactivates every revision but the current one",
			`kubectl patch providerrevision provider-manual-eeeeeeeeeeee --type merge -p '{"spec":{"desiredState":"Active"}}'`}},
		{"provider-paused", "PackagePaused", "warning", []string{"is paused (crossplane.io/paused: \"true\") for 2h", "kubectl annotate provider provider-paused crossplane.io/paused-"}},
		{"provider-paused", "ManifestNotFound", "info", []string{"not current (recorded before the pause"}},
		{"provider-deleting", "PackageTerminating", "error", nil},
		{"provider-gone-111111111111", "RevisionOrphaned", "warning", []string{"belongs to no Provider", "--cascade=orphan"}},
		{"provider-recreated", "RevisionOrphaned", "error", []string{"is controlled by a previous Provider provider-recreated (UID 6f1c2a9e-0000-4000-8000-000000000002)",
			`"op":"remove","path":"/metadata/ownerReferences"`}},
		{"provider-history", "RevisionHistoryExceeded", "warning", []string{"has 3 inactive revisions and revisionHistoryLimit 1",
			"kubectl delete providerrevision provider-history-222222222222 provider-history-111111111111"}},
		{"provider-rewritten", "ImageConfigRewritten", "info", []string{"ImageConfig mirror rewrites spec.package xpkg.upbound.io/acme/provider-rewritten:v1.0.0 to " + host + "/acme/provider-rewritten:v1.0.0",
			"xpdoctor judged that image"}},
	}
	for _, w := range want {
		k := key{w.subject, w.code}
		if got[k] != w.severity {
			t.Errorf("%s: %s is %q, want %s\n%s", w.subject, w.code, got[k], w.severity, out)
			continue
		}
		for _, h := range w.has {
			if !strings.Contains(text[k], h) {
				t.Errorf("%s %s lacks %q:\n%s", w.subject, w.code, h, text[k])
			}
		}
	}
	// The two deletions: the package in the foreground, waiting for its
	// revision, which keeps Crossplane's finalizer because it is paused.
	var deleting []string
	for _, f := range rep.Findings {
		if f.Code == "PackageTerminating" {
			deleting = append(deleting, f.Message+" | "+f.Remediation)
		}
	}
	all := strings.Join(deleting, "\n")
	for _, h := range []string{"Provider provider-deleting is being deleted for 1h, held by finalizer foregroundDeletion; it waits for its revisions provider-deleting-ffffffffffff",
		"ProviderRevision provider-deleting-ffffffffffff is being deleted for 1h, held by finalizer revision.pkg.crossplane.io; the revision is paused",
		"kubectl annotate providerrevision provider-deleting-ffffffffffff crossplane.io/paused-"} {
		if !strings.Contains(all, h) {
			t.Errorf("deletions lack %q:\n%s", h, all)
		}
	}
	if len(deleting) != 2 {
		t.Errorf("%d PackageTerminating findings, want 2", len(deleting))
	}
	// The revision's dependency counts back the dependency finding.
	for _, f := range rep.Findings {
		if f.Subject.Name == "provider-deps" && strings.HasPrefix(f.Code, "Dependency") &&
			!strings.Contains(strings.Join(f.Evidence, "\n"), "foundDependencies 2, installedDependencies 1, invalidDependencies 0: 1 of 2 not installed") {
			t.Errorf("provider-deps %s lacks the counts: %v", f.Code, f.Evidence)
		}
	}
	// SINCE: every package that is not healthy has it, a healthy one not.
	for _, p := range rep.Packages {
		unhealthy := map[string]string{"provider-upgrade": "20m", "provider-incompatible": "2h", "provider-manual": "30m", "provider-paused": "3h", "provider-recreated": "10m", "provider-deps": "1h"}
		if p.UnhealthyFor != unhealthy[p.Name] || (p.UnhealthySince != nil) != (unhealthy[p.Name] != "") {
			t.Errorf("%s: unhealthyFor %q since %v, want %q", p.Name, p.UnhealthyFor, p.UnhealthySince, unhealthy[p.Name])
		}
	}

	uid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	table, _, _ := run(t, args...)
	golden(t, "lifecycle.txt", stamp.ReplaceAllString(uid.ReplaceAllString(strings.ReplaceAll(table, host, "REGISTRY"), "UID"), "TIME"))

	// A support dump gives the same findings.
	dump := lifecycleDump(t, dyn)
	path := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(path, dump, 0o600); err != nil {
		t.Fatal(err)
	}
	out2, errOut, code := run(t, "--from-file", path, "-o", "json", "--inspect", "all")
	if code != ExitFindings {
		t.Fatalf("from-file: exit %d %s", code, errOut)
	}
	_, live := codesBy(t, out)
	_, offline := codesBy(t, out2)
	for name, codes := range live {
		if strings.Join(sorted(codes), ",") != strings.Join(sorted(offline[name]), ",") {
			t.Errorf("%s: from-file %v, live %v", name, offline[name], codes)
		}
	}
}

// lifecycleDump is `kubectl get providers,providerrevisions,imageconfigs,deployments,events -A -o yaml`.
func lifecycleDump(t *testing.T, dyn dynamic.Interface) []byte {
	t.Helper()
	var items []any
	for _, k := range []string{"Provider", "ProviderRevision", "ImageConfig", "Deployment", "Event"} {
		l, err := dyn.Resource(kinds[k].GVR).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			it.SetAPIVersion(kinds[k].GVR.GroupVersion().String())
			it.SetKind(k)
			items = append(items, it.Object)
		}
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
