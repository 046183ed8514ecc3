package xpkg

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func basicAuth(u, p string) string { return base64.StdEncoding.EncodeToString([]byte(u + ":" + p)) }

func dockerconfigjson(name string, entries map[string]string) PullSecret {
	var parts []string
	for host, entry := range entries {
		parts = append(parts, fmt.Sprintf("%q: %s", host, entry))
	}
	return PullSecret{Namespace: "crossplane-system", Name: name, Type: SecretTypeDockerConfigJSON,
		Data: map[string][]byte{DockerConfigJSONKey: []byte(`{"auths": {` + strings.Join(parts, ",") + `}}`)}}
}

func userpass(u, p string) string { return fmt.Sprintf(`{"username": %q, "password": %q}`, u, p) }

func authEntry(u, p string) string { return fmt.Sprintf(`{"auth": %q}`, basicAuth(u, p)) }

// upstream is the pkg/authn/kubernetes keychain that Crossplane v2.3.4
// links (go.mod: pkg/authn/kubernetes v0.0.0-20250225234217-098045d5e61f,
// the same keychain.go as the versions v1.13 to v2.2 pin).
func upstream(t *testing.T, secrets []PullSecret) (authn.Keychain, error) {
	t.Helper()
	var ks []corev1.Secret
	for _, s := range secrets {
		ks = append(ks, corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name}, Type: corev1.SecretType(s.Type), Data: s.Data})
	}
	return kauth.NewFromPullSecrets(context.Background(), ks)
}

func resolved(t *testing.T, kc authn.Keychain, repo string) authn.AuthConfig {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	a, err := kc.Resolve(r)
	if err != nil {
		t.Fatal(err)
	}
	if a == authn.Anonymous {
		return authn.AuthConfig{}
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth = "" // authn.FromConfig keeps it; only what is sent matters
	return *cfg
}

// TestKeyringMatchesCrossplanesKeychain checks the keyring against the
// keychain Crossplane links, case by case: the credential each would send
// for each repository (or anonymous), and whether the secrets fail it.
func TestKeyringMatchesCrossplanesKeychain(t *testing.T) {
	cases := []struct {
		name    string
		secrets []PullSecret
		repos   map[string]string // repository -> username Crossplane sends ("" anonymous)
		fails   bool
	}{
		{name: "host entry matches every repository of the host and no other host",
			secrets: []PullSecret{dockerconfigjson("a", map[string]string{"reg.example.com": userpass("alice", "pa")})},
			repos:   map[string]string{"reg.example.com/team-a/pkg": "alice", "reg.example.com/x": "alice", "other.example.com/x": "", "example.com/x": ""}},
		{name: "path-scoped entry is a string prefix of the path",
			secrets: []PullSecret{dockerconfigjson("a", map[string]string{"reg.example.com/team-a": userpass("alice", "pa")})},
			repos:   map[string]string{"reg.example.com/team-a/pkg": "alice", "reg.example.com/team-b/pkg": "", "reg.example.com/team-ab/pkg": "alice", "reg.example.com/team": ""}},
		{name: "the longer key wins whichever secret comes first",
			secrets: []PullSecret{
				dockerconfigjson("host", map[string]string{"reg.example.com": userpass("hostwide", "p1")}),
				dockerconfigjson("team", map[string]string{"reg.example.com/team-a": userpass("teama", "p2")}),
			},
			repos: map[string]string{"reg.example.com/team-a/pkg": "teama", "reg.example.com/team-b/pkg": "hostwide"}},
		{name: "two secrets for one host: only the first is ever used",
			secrets: []PullSecret{
				dockerconfigjson("first", map[string]string{"reg.example.com": userpass("first", "p1")}),
				dockerconfigjson("second", map[string]string{"reg.example.com": userpass("second", "p2")}),
			},
			repos: map[string]string{"reg.example.com/pkg": "first"}},
		{name: "wildcard host matches one label per star",
			secrets: []PullSecret{dockerconfigjson("ecr", map[string]string{"*.dkr.ecr.us-east-1.amazonaws.com": userpass("AWS", "tok")})},
			repos: map[string]string{"123456789012.dkr.ecr.us-east-1.amazonaws.com/provider": "AWS",
				"a.b.dkr.ecr.us-east-1.amazonaws.com/provider": "", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/provider": ""}},
		{name: "the port must be the same",
			secrets: []PullSecret{dockerconfigjson("a", map[string]string{"localhost:5000": userpass("alice", "pa")})},
			repos:   map[string]string{"localhost:5000/pkg": "alice", "localhost:5001/pkg": "", "localhost/pkg": ""}},
		{name: "scheme and /v1/ are dropped; docker.io is not index.docker.io",
			secrets: []PullSecret{
				dockerconfigjson("hub", map[string]string{"https://index.docker.io/v1/": userpass("hubuser", "p")}),
				dockerconfigjson("short", map[string]string{"docker.io": userpass("short", "p")}),
			},
			repos: map[string]string{"index.docker.io/crossplane/provider-nop": "hubuser", "docker.io/library/alpine": "hubuser"}},
		{name: "docker.io alone never matches Docker Hub",
			secrets: []PullSecret{dockerconfigjson("short", map[string]string{"docker.io": userpass("short", "p")})},
			repos:   map[string]string{"docker.io/crossplane/provider-nop": ""}},
		{name: "auth overrides username and password",
			secrets: []PullSecret{dockerconfigjson("a", map[string]string{"reg.example.com": fmt.Sprintf(`{"username": "ignored", "password": "x", "auth": %q}`, basicAuth("fromauth", "p"))})},
			repos:   map[string]string{"reg.example.com/pkg": "fromauth"}},
		{name: "identity and registry tokens",
			secrets: []PullSecret{dockerconfigjson("a", map[string]string{"id.example.com": `{"identitytoken": "refresh-me"}`, "rt.example.com": `{"registrytoken": "bearer-me"}`})},
			repos:   map[string]string{"id.example.com/pkg": "", "rt.example.com/pkg": ""}},
		{name: "legacy .dockercfg",
			secrets: []PullSecret{{Namespace: "ns", Name: "legacy", Type: SecretTypeDockercfg, Data: map[string][]byte{DockercfgKey: []byte(`{"reg.example.com": ` + authEntry("legacy", "p") + `}`)}}},
			repos:   map[string]string{"reg.example.com/pkg": "legacy"}},
		{name: "an Opaque secret holding a docker config is not read",
			secrets: []PullSecret{{Namespace: "ns", Name: "opaque", Type: "Opaque", Data: map[string][]byte{DockerConfigJSONKey: []byte(`{"auths": {"reg.example.com": ` + authEntry("opaque", "p") + `}}`)}}},
			repos:   map[string]string{"reg.example.com/pkg": ""}},
		{name: "a .dockercfg key in a dockerconfigjson secret is not read",
			secrets: []PullSecret{{Namespace: "ns", Name: "mixed", Type: SecretTypeDockerConfigJSON, Data: map[string][]byte{DockercfgKey: []byte(`{"reg.example.com": ` + authEntry("mixed", "p") + `}`)}}},
			repos:   map[string]string{"reg.example.com/pkg": ""}},
		{name: "a secret that is not JSON fails the keychain",
			secrets: []PullSecret{dockerconfigjson("good", map[string]string{"reg.example.com": userpass("a", "b")}), {Namespace: "ns", Name: "broken", Type: SecretTypeDockerConfigJSON, Data: map[string][]byte{DockerConfigJSONKey: []byte(`{"auths": `)}}},
			fails:   true},
		{name: "an auth field that is not base64 of user:password fails the keychain",
			secrets: []PullSecret{dockerconfigjson("badauth", map[string]string{"reg.example.com": `{"auth": "bm9jb2xvbg=="}`})},
			fails:   true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mine, err := NewKeyring(tc.secrets)
			theirs, uerr := upstream(t, tc.secrets)
			if (err != nil) != tc.fails || (uerr != nil) != tc.fails {
				t.Fatalf("keyring error %v, Crossplane's keychain error %v; want failure %v", err, uerr, tc.fails)
			}
			if tc.fails {
				if strings.Contains(err.Error(), "bm9jb2xvbg") || strings.Contains(err.Error(), "auths") {
					t.Errorf("the error quotes the secret: %v", err)
				}
				return
			}
			for repo, wantUser := range tc.repos {
				got, want := resolved(t, mine, repo), resolved(t, theirs, repo)
				if got != want {
					t.Errorf("%s: keyring sends %+v, Crossplane's keychain %+v", repo, redacted(got), redacted(want))
				}
				if got.Username != wantUser {
					t.Errorf("%s: user %q, want %q", repo, got.Username, wantUser)
				}
			}
		})
	}
}

func redacted(a authn.AuthConfig) string {
	return fmt.Sprintf("user=%q password?%v identitytoken?%v registrytoken?%v", a.Username, a.Password != "", a.IdentityToken != "", a.RegistryToken != "")
}

// TestKeyringTokens: identity and registry tokens are handed on as such
// (go-containerregistry sends a registry token as Bearer and trades an
// identity token at the token endpoint), and Matches names the secret and
// entry of each match in the order tried.
func TestKeyringTokens(t *testing.T) {
	k, err := NewKeyring([]PullSecret{
		dockerconfigjson("tokens", map[string]string{"id.example.com": `{"identitytoken": "refresh-me"}`, "rt.example.com": `{"registrytoken": "bearer-me"}`}),
		dockerconfigjson("hostwide", map[string]string{"id.example.com": userpass("u", "p")}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := resolved(t, k, "id.example.com/pkg"); a.IdentityToken != "refresh-me" {
		t.Errorf("identity token not handed on: %s", redacted(a))
	}
	if a := resolved(t, k, "rt.example.com/pkg"); a.RegistryToken != "bearer-me" {
		t.Errorf("registry token not handed on: %s", redacted(a))
	}
	repo, _ := name.NewRepository("id.example.com/pkg")
	m := k.Matches(repo)
	if len(m) != 2 || m[0].Secret != "crossplane-system/tokens" || m[0].Kind != CredentialIdentityToken || m[1].Secret != "crossplane-system/hostwide" || m[1].Kind != CredentialUserPassword {
		t.Errorf("matches = %+v", m)
	}
	for _, c := range m {
		if s := fmt.Sprintf("%+v %v", c, c); strings.Contains(s, "refresh-me") || strings.Contains(s, `"p"`) {
			t.Errorf("a Credential prints its secret: %s", s)
		}
	}
}

// BenchmarkKeyring builds a keyring of 20 secrets with 10 entries each
// (one path-scoped, one wildcard) and resolves one repository, as diagnose
// does per package.
func BenchmarkKeyring(b *testing.B) {
	var secrets []PullSecret
	for i := range 20 {
		entries := map[string]string{}
		for j := range 8 {
			entries[fmt.Sprintf("reg%d-%d.example.com", i, j)] = userpass("u", "p")
		}
		entries[fmt.Sprintf("reg.example.com/team-%d", i)] = userpass("u", "p")
		entries[fmt.Sprintf("*.dkr.ecr.region-%d.amazonaws.com", i)] = userpass("AWS", "t")
		secrets = append(secrets, dockerconfigjson(fmt.Sprintf("s%d", i), entries))
	}
	repo, _ := name.NewRepository("reg.example.com/team-7/provider-nop")
	b.ReportAllocs()
	for b.Loop() {
		k, err := NewKeyring(secrets)
		if err != nil {
			b.Fatal(err)
		}
		if m := k.Matches(repo); len(m) != 1 {
			b.Fatalf("matches %v", m)
		}
	}
}
