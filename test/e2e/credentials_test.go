package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var gvrImageConfig = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1beta1", Resource: "imageconfigs"}

// TestCrossplaneAgreesOnCredentials: a registry that needs credentials,
// given to Crossplane v2.3.4 only through an ImageConfig or a
// packagePullSecret. xpdoctor predicts, from its own reads with exactly
// the credentials Crossplane has for each package, which packages
// Crossplane can pull and why the others fail; Crossplane must agree.
func TestCrossplaneAgreesOnCredentials(t *testing.T) {
	requireE2E(t)
	const version = "v2.3.4"
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // xpdoctor has no credentials of its own
	private := testregistry.Process(t, robot, robotToken)
	h := private.Host
	for _, n := range []string{"ic/provider-ic", "pps/provider-pps", "wrong/provider-wrong", "nomatch/provider-nomatch"} {
		name := n[strings.Index(n, "/")+1:]
		if err := xpkgtest.Push(h+"/"+n+":v1.0.0", pkgFor(name).Index(), remote.WithAuth(&authn.Basic{Username: robot, Password: robotToken})); err != nil {
			t.Fatal(err)
		}
	}
	cp := startCrossplane(t, version)
	ctx := context.Background()
	secret := func(name, registry, password string) {
		cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, registry, base64.StdEncoding.EncodeToString([]byte(robot+":"+password)))
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
			"metadata": map[string]any{"name": name, "namespace": "crossplane-system"},
			"data":     map[string]any{".dockerconfigjson": base64.StdEncoding.EncodeToString([]byte(cfg))}}}
		if _, err := cp.dyn.Resource(gvrSecret).Namespace("crossplane-system").Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	secret("ic-creds", h, robotToken)
	secret("pkg-creds", h, robotToken)
	secret("wrong-creds", h, robotToken+"-expired")
	secret("path-creds", h+"/elsewhere", robotToken)
	ic := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "pkg.crossplane.io/v1beta1", "kind": "ImageConfig",
		"metadata": map[string]any{"name": "private-ic"},
		"spec": map[string]any{"matchImages": []any{map[string]any{"type": "Prefix", "prefix": h + "/ic/"}},
			"registry": map[string]any{"authentication": map[string]any{"pullSecretRef": map[string]any{"name": "ic-creds"}}}}}}
	if _, err := cp.dyn.Resource(gvrImageConfig).Create(ctx, ic, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pps := func(name string) map[string]any {
		return map[string]any{"packagePullSecrets": []any{map[string]any{"name": name}}}
	}
	cp.createProvider(t, "provider-ic", h+"/ic/provider-ic:v1.0.0", nil)
	cp.createProvider(t, "provider-pps", h+"/pps/provider-pps:v1.0.0", pps("pkg-creds"))
	cp.createProvider(t, "provider-wrong", h+"/wrong/provider-wrong:v1.0.0", pps("wrong-creds"))
	cp.createProvider(t, "provider-nomatch", h+"/nomatch/provider-nomatch:v1.0.0", pps("path-creds"))

	// xpdoctor's prediction, from its own reads with Crossplane's credentials.
	out, errOut, code := xpdoctor(t, "--kubeconfig", cp.kubeconfig, "-o", "json", "--inspect", "all", "--timeout", "60s")
	if code == 2 {
		t.Fatalf("diagnose failed: %s", errOut)
	}
	for _, s := range []string{robotToken, base64.StdEncoding.EncodeToString([]byte(robot + ":" + robotToken))} {
		if strings.Contains(out+errOut, s) {
			t.Errorf("a credential leaked in xpdoctor's output")
		}
	}
	var rep struct {
		RegistryCredentials string `json:"registryCredentials"`
		Packages            []struct {
			Name        string
			Credentials *struct {
				Used *struct {
					Secret string
				}
				Refused       bool
				InspectedWith string
			}
		}
		Findings []struct {
			Code    string
			Subject struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	refused := map[string]bool{}
	used := map[string]string{}
	for _, p := range rep.Packages {
		if p.Credentials == nil || p.Credentials.InspectedWith != "crossplane" {
			t.Fatalf("%s was not read with Crossplane's credentials:\n%s", p.Name, out)
		}
		refused[p.Name] = p.Credentials.Refused
		if p.Credentials.Used != nil {
			used[p.Name] = p.Credentials.Used.Secret
		}
	}
	found := map[string][]string{}
	for _, f := range rep.Findings {
		found[f.Subject.Name] = append(found[f.Subject.Name], f.Code)
	}
	want := []struct {
		name, used, cause string
		refused           bool
	}{
		{"provider-ic", "crossplane-system/ic-creds", "", false},
		{"provider-pps", "crossplane-system/pkg-creds", "", false},
		{"provider-wrong", "crossplane-system/wrong-creds", "PullSecretRejected", true},
		{"provider-nomatch", "", "PullSecretNoMatch", true},
	}
	for _, w := range want {
		if refused[w.name] != w.refused || used[w.name] != w.used || (w.cause != "" && !contains(found[w.name], w.cause)) {
			t.Errorf("%s: xpdoctor predicts refused=%v with %q and findings %v; want refused=%v with %q and %s", w.name, refused[w.name], used[w.name], found[w.name], w.refused, w.used, w.cause)
		}
	}

	// What Crossplane does.
	healthy := func(name string) func() bool {
		return func() bool {
			return cp.condition(t, name, "Installed") == "True" && cp.condition(t, name, "Healthy") == "True"
		}
	}
	seen := func(name string) func() string {
		return func() string { return strings.Join(cp.messages(t, name), " | ") }
	}
	failed := func(name string) func() bool {
		return func() bool {
			for _, m := range cp.messages(t, name) {
				if strings.Contains(m, "401 Unauthorized") || strings.Contains(m, "UNAUTHORIZED") {
					return true
				}
			}
			return false
		}
	}
	for _, w := range want {
		if w.refused {
			cp.waitFor(t, w.name+" refused by the registry", 3*time.Minute, failed(w.name), seen(w.name))
			if healthy(w.name)() {
				t.Errorf("%s: Crossplane installed it, xpdoctor predicted a refusal", w.name)
			}
		} else {
			cp.waitFor(t, w.name+" healthy", 3*time.Minute, healthy(w.name), seen(w.name))
		}
	}
	// Crossplane records the ImageConfig whose pull secret it used
	// (status.appliedImageConfigRefs, reason SetImagePullSecret:
	// crossplane-runtime pkg/xpkg/client.go@v2.3.3 Get).
	pic, err := cp.dyn.Resource(gvrProvider).Get(ctx, "provider-ic", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refs, _, _ := unstructured.NestedSlice(pic.Object, "status", "appliedImageConfigRefs")
	if !strings.Contains(fmt.Sprint(refs), "private-ic") || !strings.Contains(fmt.Sprint(refs), "SetImagePullSecret") {
		t.Errorf("Crossplane's provider-ic does not record the ImageConfig pull secret: appliedImageConfigRefs %v", refs)
	}
	// Asked again after Crossplane's failures, xpdoctor names the same causes.
	out, _, _ = xpdoctor(t, "--kubeconfig", cp.kubeconfig, "-o", "json", "--inspect", "all", "--timeout", "60s")
	after := codes(t, out)
	for _, w := range want {
		if w.cause != "" && !contains(after[w.name], "error:"+w.cause) {
			t.Errorf("%s after Crossplane failed: %v, want %s", w.name, after[w.name], w.cause)
		}
		if w.cause == "" && len(after[w.name]) > 0 {
			t.Errorf("%s: healthy in Crossplane, xpdoctor says %v", w.name, after[w.name])
		}
	}
}
