package main

import (
	"os/exec"
	"strings"
	"testing"
)

// unlinked are the import trees that made the binary 55 MB stripped (peer
// plugins are 15 to 45 MB) while xpdoctor used none of their features:
// genericclioptions links the resource builder (kustomize, OpenAPI), and
// client-go's discovery and typed clients link every built-in API type
// through kubernetes/scheme. pkg/kubeflags and cluster.NewDiscoveryForConfig
// do the same jobs on clientcmd and the dynamic client's REST client.
var unlinked = []string{
	"k8s.io/cli-runtime/pkg/genericclioptions",
	"k8s.io/cli-runtime/pkg/resource",
	"sigs.k8s.io/kustomize/",
	"k8s.io/client-go/discovery",
	"k8s.io/client-go/kubernetes",
	"k8s.io/client-go/openapi",
	"k8s.io/kube-openapi/pkg/spec3",
	"github.com/google/gnostic-models",
	"k8s.io/api/",
}

// TestBinaryLinksNoUnusedKubernetesTrees keeps the binary small: measure
// with `go build -ldflags '-s -w'` and `go tool nm -size -sort size` before
// taking any of these back.
func TestBinaryLinksNoUnusedKubernetesTrees(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, u := range unlinked {
			if dep == strings.TrimSuffix(u, "/") || strings.HasPrefix(dep, u) || strings.HasPrefix(dep, u+"/") {
				t.Errorf("kubectl-xpdoctor links %s (from the tree %s)", dep, u)
			}
		}
	}
}
