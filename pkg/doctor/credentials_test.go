package doctor

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func pullSecret(name, host, user, pass string) string {
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + ", namespace: crossplane-system}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: " +
		base64.StdEncoding.EncodeToString([]byte(cfg)) + "}\n---\n"
}

// A missing dependency on the package's own private registry: xpdoctor
// lists its tags with what Crossplane's dependency resolver sends (the
// ServiceAccount's and an ImageConfig's pull secrets, never the package's
// packagePullSecrets), so it is refused as Crossplane is; an ImageConfig
// pull secret for the dependency's prefix lets both list them.
func TestDependencyTagsWithTheResolversCredentials(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.InProcess(t, testregistry.BasicAuth("robot", "dep-pass"))
	h := reg.Host
	for _, n := range []string{"provider-dep", "provider-app"} {
		if err := xpkgtest.Push(h+"/acme/"+n+":v1.0.0", xpkgtest.Package{Kind: "Provider", Name: n}.Image(v1.Platform{OS: "linux", Architecture: "amd64"}),
			remote.WithAuth(&authn.Basic{Username: "robot", Password: "dep-pass"})); err != nil {
			t.Fatal(err)
		}
	}
	base := crossplaneDeployment("v2.3.4") + "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: crossplane, namespace: crossplane-system}\n---\n" +
		pullSecret("pkg-creds", h, "robot", "dep-pass") +
		strings.Replace(provider("provider-app", h+"/acme/provider-app:v1.0.0", "Unknown",
			"cannot resolve package dependencies: missing dependencies: ["+h+"/acme/provider-dep]"),
			"spec: {package: \""+h+"/acme/provider-app:v1.0.0\"}", "spec: {package: \""+h+"/acme/provider-app:v1.0.0\", packagePullSecrets: [{name: pkg-creds}]}", 1)
	res, err := Run(context.Background(), Options{FromFile: writeDump(t, base), Inspect: InspectProblems, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	lk := res.Report
	f := findingOf(t, lk, "provider-app")
	if f.Code != findings.DependencyUnresolvable || !strings.Contains(f.Message+strings.Join(f.Evidence, " "), "refuses to list the tags of "+h+"/acme/provider-dep to the credentials Crossplane's dependency resolver sends") {
		t.Fatalf("%+v", f)
	}
	withIC := base + "apiVersion: pkg.crossplane.io/v1beta1\nkind: ImageConfig\nmetadata: {name: deps}\nspec:\n  matchImages: [{type: Prefix, prefix: \"" + h + "/acme/\"}]\n  registry: {authentication: {pullSecretRef: {name: pkg-creds}}}\n"
	res, err = Run(context.Background(), Options{FromFile: writeDump(t, withIC), Inspect: InspectProblems, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if f := findingOf(t, res.Report, "provider-app"); strings.Contains(f.Message+strings.Join(f.Evidence, " "), "refuses to list") {
		t.Fatalf("with the ImageConfig's pull secret the resolver may list the tags: %+v", f)
	}
}
