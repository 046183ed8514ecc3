package serve

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
)

// kubectl accepts docs/serve.yaml against a real API server, in a cluster
// where Crossplane runs in crossplane-system: applied, it creates every
// object in one go (the Namespace first); applied again with a server-side
// dry run, every object passes admission and validation. (A first apply
// cannot be a dry run: kubectl does not dry-run into a namespace it would
// create.)
func TestManifestAppliesServerSide(t *testing.T) {
	env := testenv.Start(t, false)
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Skipf("no kubectl in KUBEBUILDER_ASSETS: %v", err)
	}
	manifest := filepath.Join("..", "..", "docs", "serve.yaml")
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	objects := strings.Count(string(raw), "\n---\n") + 1
	apply := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command(kubectl, append([]string{"--kubeconfig", env.Kubeconfig, "apply", "-f", manifest}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl apply -f docs/serve.yaml %v: %v\n%s", args, err, out)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	testenv.Create(t, env.Config, "apiVersion: v1\nkind: Namespace\nmetadata: {name: crossplane-system}\n")
	created := apply()
	for _, l := range created {
		if !strings.HasSuffix(l, " created") {
			t.Errorf("apply: %s", l)
		}
	}
	dry := apply("--dry-run=server")
	for _, l := range dry {
		if !strings.HasSuffix(l, " (server dry run)") {
			t.Errorf("apply --dry-run=server: %s", l)
		}
	}
	if len(created) != objects || len(dry) != objects {
		t.Fatalf("%d objects, %d created, %d through the dry run", objects, len(created), len(dry))
	}
}

// The read-only roles in docs/serve.yaml are those of docs/rbac.yaml.
func TestManifestRolesAreRBACDocs(t *testing.T) {
	roles := func(path string) map[string]any {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]any{}
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			var o struct {
				Kind     string
				Metadata struct{ Name, Namespace string }
				Rules    any
			}
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if o.Kind == "ClusterRole" || o.Kind == "Role" {
				out[o.Kind+"/"+o.Metadata.Namespace+"/"+o.Metadata.Name] = o.Rules
			}
		}
		return out
	}
	docs, serve := roles(filepath.Join("..", "..", "docs", "rbac.yaml")), roles(filepath.Join("..", "..", "docs", "serve.yaml"))
	for _, k := range []string{"ClusterRole//xpdoctor-diagnose", "Role/crossplane-system/xpdoctor-pull-secrets"} {
		if docs[k] == nil || !reflect.DeepEqual(docs[k], serve[k]) {
			t.Errorf("%s differs:\ndocs/rbac.yaml  %v\ndocs/serve.yaml %v", k, docs[k], serve[k])
		}
	}
}
