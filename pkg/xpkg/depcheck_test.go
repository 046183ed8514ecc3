package xpkg_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoKubernetesImports keeps the registry side, the transfer engine and
// the Crossplane knowledge free of Kubernetes client code, as go-containerregistry's
// depcheck tests do for its packages.
func TestNoKubernetesImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/xpdoctor/xpdoctor/pkg/xpkg", "github.com/xpdoctor/xpdoctor/pkg/transfer", "github.com/xpdoctor/xpdoctor/pkg/crossplane").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/controller-runtime") {
			t.Errorf("pkg/xpkg, pkg/transfer or pkg/crossplane depends on %s", dep)
		}
	}
}
