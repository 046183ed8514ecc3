// Package testenv starts a real kube-apiserver and etcd (envtest) loaded
// with Crossplane's pkg.crossplane.io CRDs from a pinned Crossplane module.
package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
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

// Create creates every object of a YAML or JSON stream, finding each kind's
// resource through discovery, then writes a status it carries with
// UpdateStatus (the API server ignores status on create). Events keep theirs.
func Create(t testing.TB, cfg *rest.Config, stream string) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(cfg)
	dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	ctx := context.Background()
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("no resource for %s: %v", gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		status, hasStatus := obj["status"]
		created, err := ri.Create(ctx, u, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if hasStatus && u.GetKind() != "Event" {
			created.Object["status"] = status
			if _, err := ri.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("status of %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
	}
}
