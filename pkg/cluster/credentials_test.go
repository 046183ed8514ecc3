package cluster

import (
	"fmt"
	"testing"
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
