// Package testenv starts a real kube-apiserver and etcd (envtest) loaded
// with Crossplane's pkg.crossplane.io CRDs from a pinned Crossplane module.
package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// CrossplaneModule is the Crossplane release whose CRDs the tests load.
const CrossplaneModule = "github.com/crossplane/crossplane/v2@v2.3.4"

// RequireEnv makes missing envtest binaries a failure instead of a skip; .ci/run sets it.
const RequireEnv = "XPDOCTOR_REQUIRE_ENVTEST"

// CRDs returns the pkg.crossplane.io CRD files of CrossplaneModule.
func CRDs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(CRDDir(t, CrossplaneModule), "pkg.crossplane.io_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no pkg.crossplane.io CRDs for %s", CrossplaneModule)
	}
	return files
}

// CRDDir is cluster/crds of a Crossplane module version (module@version),
// downloaded through the module proxy.
func CRDDir(t testing.TB, module string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", module, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", module, err, out)
	}
	return filepath.Join(m.Dir, "cluster", "crds")
}

// Env is a running control plane.
type Env struct {
	// Config is the admin's client config.
	Config *rest.Config
	// Kubeconfig is a kubeconfig file for the admin, with context "envtest".
	Kubeconfig string
}

// Start starts a control plane, with Crossplane's CRDs unless bare, and
// stops it when the test ends. It skips when KUBEBUILDER_ASSETS is unset,
// unless RequireEnv is set (run test/build-envtest.sh to build them).
func Start(t testing.TB, bare bool) *Env {
	t.Helper()
	var crds []string
	if !bare {
		crds = CRDs(t)
	}
	return StartWith(t, crds)
}

// StartWith starts a control plane with these CRD files.
func StartWith(t testing.TB, crds []string) *Env {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("KUBEBUILDER_ASSETS is unset and %s is set: run test/build-envtest.sh", RequireEnv)
		}
		t.Skip("KUBEBUILDER_ASSETS is unset: run `make test`, which builds the envtest binaries")
	}
	ctrllog.SetLogger(logr.Discard())
	env := &envtest.Environment{ErrorIfCRDPathMissing: true}
	env.CRDDirectoryPaths = crds
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return &Env{Config: cfg, Kubeconfig: path}
}
