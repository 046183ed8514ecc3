package cluster

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The pull secrets Crossplane hands its keychain for a package, in its
// order: the package's own, the best-matching ImageConfig's, then the
// ServiceAccount's; a name given twice once; the dependency resolver never
// gets the package's own.
func TestPackagePullSecretsOrder(t *testing.T) {
	s := &Snapshot{CrossplaneNamespace: "xp",
		ServiceAccountPullSecrets: []string{"sa-1", "pkg-1"},
		ImageConfigs: []ImageConfig{
			{Name: "a-short", Prefixes: []string{"reg.io/"}, PullSecret: "ic-short"},
			{Name: "b-long", Prefixes: []string{"reg.io/team/"}, PullSecret: "ic-long"},
			{Name: "c-tie", Prefixes: []string{"reg.io/team/"}, PullSecret: "ic-tie"},
			// The longest prefix, but no pull secret: not a candidate.
			{Name: "d-rewrite", Prefixes: []string{"reg.io/team/pkg"}, RewritePrefix: "other.io/"},
		},
		SecretReads: map[string]string{"pkg-1": SecretFound, "ic-long": SecretNotFound},
	}
	p := Package{Kind: "Provider", Name: "p", Package: "reg.io/team/pkg:v1", PullSecrets: []string{"pkg-1", "pkg-2"}}
	got := fmt.Sprint(s.PackagePullSecrets(p))
	want := fmt.Sprint([]SecretRef{
		{Namespace: "xp", Name: "pkg-1", From: FromPackagePullSecrets, State: SecretFound},
		{Namespace: "xp", Name: "pkg-2", From: FromPackagePullSecrets},
		{Namespace: "xp", Name: "ic-long", From: fromImageConfig + "b-long", State: SecretNotFound},
		{Namespace: "xp", Name: "sa-1", From: FromServiceAccount},
	})
	if got != want {
		t.Errorf("package secrets\n got %s\nwant %s", got, want)
	}
	got = fmt.Sprint(s.DependencyPullSecrets("reg.io/other/dep"))
	want = fmt.Sprint([]SecretRef{
		{Namespace: "xp", Name: "ic-short", From: fromImageConfig + "a-short"},
		{Namespace: "xp", Name: "sa-1", From: FromServiceAccount},
		{Namespace: "xp", Name: "pkg-1", From: FromServiceAccount, State: SecretFound},
	})
	if got != want {
		t.Errorf("dependency secrets\n got %s\nwant %s", got, want)
	}
}

// Crossplane's keychain reads the ServiceAccount Crossplane runs as (its
// Deployment's serviceAccountName, POD_SERVICE_ACCOUNT in the Helm chart),
// whichever order a dump lists them in; "crossplane" when it names none.
func TestCrossplaneServiceAccountIsTheDeployments(t *testing.T) {
	sa := func(name, secret string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
			"metadata": map[string]any{"name": name, "namespace": "xp"}, "imagePullSecrets": []any{map[string]any{"name": secret}}}}
	}
	dep := func(sa string) *unstructured.Unstructured {
		spec := map[string]any{"containers": []any{map[string]any{"name": "crossplane", "image": "xpkg.crossplane.io/crossplane/crossplane:v2.3.4"}}}
		if sa != "" {
			spec["serviceAccountName"] = sa
		}
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "crossplane", "namespace": "xp"}, "spec": map[string]any{"template": map[string]any{"spec": spec}}}}
	}
	for _, tc := range []struct {
		name  string
		objs  []*unstructured.Unstructured
		wants string
	}{
		{"named, listed after its ServiceAccounts", []*unstructured.Unstructured{sa("crossplane", "default-sa"), sa("xp-custom", "custom-sa"), dep("xp-custom")}, "[custom-sa]"},
		{"named, listed before", []*unstructured.Unstructured{dep("xp-custom"), sa("crossplane", "default-sa"), sa("xp-custom", "custom-sa")}, "[custom-sa]"},
		{"not named", []*unstructured.Unstructured{dep(""), sa("crossplane", "default-sa")}, "[default-sa]"},
	} {
		s := &Snapshot{}
		for _, o := range tc.objs {
			s.Add(o)
		}
		s.Finish()
		if got := fmt.Sprint(s.ServiceAccountPullSecrets); got != tc.wants {
			t.Errorf("%s: ServiceAccount pull secrets %s, want %s", tc.name, got, tc.wants)
		}
	}
}
