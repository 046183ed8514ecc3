package main

import (
	"os"
	"os/exec"
	"path/filepath"
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
	// serve watches with client-go's reflector (tools/cache) on the dynamic
	// client and writes Events with it: the typed informers (and
	// dynamicinformer, which returns them) and the event recorders link
	// kubernetes/scheme.
	"k8s.io/client-go/informers",
	"k8s.io/client-go/dynamic/dynamicinformer",
	"k8s.io/client-go/tools/record",
	"k8s.io/client-go/tools/events",
}

// maxStrippedBytes bounds the stripped binary (peer plugins are 15 to 45
// MB): 20.6 MB with serve's Prometheus client (+2.9 MB) and mcp's SDK; 20.9 MB
// with client-go's util/jsonpath for -o jsonpath (+0.2 MB; cli-runtime's
// printers stay unlinked: reports are not runtime.Objects).
const maxStrippedBytes = 45_000_000

// TestStrippedBinarySize builds the binary as releases do (-s -w) and
// keeps it under maxStrippedBytes.
func TestStrippedBinarySize(t *testing.T) {
	out := filepath.Join(t.TempDir(), "kubectl-xpdoctor")
	if b, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > maxStrippedBytes {
		t.Fatalf("the stripped binary is %.1f MB, more than %d MB: see which packages grew with go tool nm -size -sort size", float64(fi.Size())/1e6, maxStrippedBytes/1_000_000)
	}
	t.Logf("stripped binary: %.1f MB", float64(fi.Size())/1e6)
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
