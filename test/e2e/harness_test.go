// Package e2e runs real Crossplane core (out of cluster, against envtest),
// real docker-registry processes and a real docker daemon, and checks that
// xpdoctor's judgements agree with what Crossplane does.
package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
)

// RequireEnv enables the suite; `make test-e2e` sets it with the binaries built.
const RequireEnv = "XPDOCTOR_E2E"

var (
	gvrProvider = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "providers"}
	gvrRevision = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "providerrevisions"}
	gvrSecret   = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrNS       = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrSA       = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	gvrDeploy   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrEvent    = schema.GroupVersionResource{Version: "v1", Resource: "events"}
)

func requireE2E(t *testing.T) {
	t.Helper()
	if os.Getenv(RequireEnv) == "" {
		t.Skip("end-to-end suite: run `make test-e2e` (or `make test`)")
	}
}

func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startDockerd starts a docker daemon by hand (vfs storage, no iptables,
// no bridge; test-infrastructure.md s.3) and returns its DOCKER_HOST.
func startDockerd(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dockerd"); err != nil {
		t.Fatal("dockerd is not installed: apt-get install -y --no-install-recommends docker.io")
	}
	dir, err := os.MkdirTemp("", "xpd-dockerd") // short path: the socket path must stay under 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd := exec.Command("dockerd", "--data-root="+filepath.Join(dir, "data"), "--exec-root="+filepath.Join(dir, "exec"),
		"--pidfile="+filepath.Join(dir, "dockerd.pid"), "-H", "unix://"+sock, "--iptables=false", "--ip6tables=false",
		"--bridge=none", "--storage-driver=vfs")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dockerd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	host := "unix://" + sock
	env := append(os.Environ(), "DOCKER_HOST="+host)
	for deadline := time.Now().Add(60 * time.Second); ; {
		c := exec.Command("docker", "info")
		c.Env = env
		if c.Run() == nil {
			return host
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("dockerd did not start:\n%s", b)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// dockerMirror copies src to dst the way that broke production.
func dockerMirror(t *testing.T, dockerHost, src, dst string) {
	t.Helper()
	env := append(os.Environ(), "DOCKER_HOST="+dockerHost, "DOCKER_CONFIG="+t.TempDir())
	mustRun(t, env, "docker", "pull", src)
	mustRun(t, env, "docker", "tag", src, dst)
	mustRun(t, env, "docker", "push", dst)
}

// crossplane is Crossplane core running out of cluster against envtest.
type crossplane struct {
	version    string
	kubeconfig string
	dyn        dynamic.Interface
	logPath    string
}

func startCrossplane(t *testing.T, version string) *crossplane {
	t.Helper()
	bin := filepath.Join(os.Getenv("XPDOCTOR_CROSSPLANE_BIN_DIR"), "crossplane-"+version)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Crossplane core %s is not built (test/build-crossplane.sh %s): %v", version, version, err)
	}
	v1 := strings.HasPrefix(version, "v1.")
	module := "github.com/crossplane/crossplane/v2@" + version
	if v1 {
		module = "github.com/crossplane/crossplane@" + version
	}
	crdDir := testenv.CRDDir(t, module)
	files, _ := filepath.Glob(filepath.Join(crdDir, "pkg.crossplane.io_*.yaml"))
	env := testenv.StartWith(t, files)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	for _, o := range []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "crossplane-system"}}},
	} {
		if _, err := dyn.Resource(gvrNS).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "crossplane", "namespace": "crossplane-system"}}}
	if _, err := dyn.Resource(gvrSA).Namespace("crossplane-system").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// What the Helm chart creates: diagnose reads the version from its image.
	dep := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "crossplane", "namespace": "crossplane-system", "labels": map[string]any{"app": "crossplane"}},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "crossplane"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "crossplane"}},
				"spec": map[string]any{"serviceAccountName": "crossplane", "containers": []any{map[string]any{"name": "crossplane", "image": "xpkg.crossplane.io/crossplane/crossplane:" + version}}}}}}}
	if _, err := dyn.Resource(gvrDeploy).Namespace("crossplane-system").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	penv := append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "POD_NAMESPACE=crossplane-system", "POD_SERVICE_ACCOUNT=crossplane")
	tlsFlags := []string{"--tlsca-secret-name=crossplane-root-ca", "--tls-server-secret-name=crossplane-tls-server", "--tls-client-secret-name=crossplane-tls-client"}
	if v1 {
		// v1's init has no CRD path flag: it reads /crds
		// (cmd/crossplane/core/init.go@v1.20.0 NewCoreCRDs("/crds", ...)) and
		// calls the webhook flag --webhook-enabled. Give it the module's CRDs
		// at /crds in a private mount namespace: other processes see at most
		// an empty /crds directory.
		if err := os.MkdirAll("/crds", 0o755); err != nil {
			t.Fatalf("Crossplane %s's core init reads /crds: %v", version, err)
		}
		args := append([]string{"--mount", "--propagation", "private", "sh", "-c", `mount --bind "$0" /crds && exec "$@"`, crdDir, bin, "core", "init", "--webhook-enabled=false"}, tlsFlags...)
		mustRun(t, penv, "unshare", args...)
	} else {
		mustRun(t, penv, bin, append([]string{"core", "init", "--cr-ds-path=" + crdDir, "--enable-webhooks=false"}, tlsFlags...)...)
	}
	sec, err := dyn.Resource(gvrSecret).Namespace("crossplane-system").Get(ctx, "crossplane-tls-client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "tls-client")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(sec.Object, "data")
	for _, k := range []string{"ca.crt", "tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(certs, k), decode(t, data[k]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// In a cluster the cache is an emptyDir; Crossplane does not create it.
	if err := os.MkdirAll(filepath.Join(dir, "cache"), 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "crossplane.log")
	logf, _ := os.Create(logPath)
	cmd := exec.Command(bin, "core", "start", "--enable-webhooks=false", "--tls-client-certs-dir="+certs,
		"--xpkg-cache-dir="+filepath.Join(dir, "cache"), fmt.Sprintf("--metrics-port=%d", freePort(t)),
		fmt.Sprintf("--health-probe-port=%d", freePort(t)))
	cmd.Env = penv
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logf.Close() })
	stop := make(chan struct{})
	done := make(chan struct{})
	go keepRuntimesAvailable(dyn, stop, done)
	t.Cleanup(func() { close(stop); <-done })
	return &crossplane{version: version, kubeconfig: env.Kubeconfig, dyn: dyn, logPath: logPath}
}

// keepRuntimesAvailable plays the kube-controller-manager and kubelet that
// envtest lacks: it marks every package runtime Deployment Available
// (test-infrastructure.md s.5, "patching Deployment status").
func keepRuntimesAvailable(dyn dynamic.Interface, stop, done chan struct{}) {
	defer close(done)
	ctx := context.Background()
	for {
		select {
		case <-stop:
			return
		case <-time.After(500 * time.Millisecond):
		}
		l, err := dyn.Resource(gvrDeploy).Namespace("crossplane-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for i := range l.Items {
			d := &l.Items[i]
			if d.GetName() == "crossplane" {
				continue
			}
			if conds, _, _ := unstructured.NestedSlice(d.Object, "status", "conditions"); len(conds) > 0 {
				continue
			}
			now := time.Now().UTC().Format(time.RFC3339)
			d.Object["status"] = map[string]any{"observedGeneration": d.GetGeneration(), "replicas": int64(1), "readyReplicas": int64(1),
				"availableReplicas": int64(1), "updatedReplicas": int64(1),
				"conditions": []any{map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
					"message": "Deployment has minimum availability.", "lastTransitionTime": now, "lastUpdateTime": now}}}
			_, _ = dyn.Resource(gvrDeploy).Namespace("crossplane-system").UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}
	}
}

func (c *crossplane) createProvider(t *testing.T, name, pkg string, extra map[string]any) {
	t.Helper()
	spec := map[string]any{"package": pkg}
	for k, v := range extra {
		spec[k] = v
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "metadata": map[string]any{"name": name}, "spec": spec}}
	if _, err := c.dyn.Resource(gvrProvider).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// messages returns every condition message of the provider and its
// revisions, and every event message about them.
func (c *crossplane) messages(t *testing.T, name string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	add := func(u *unstructured.Unstructured) {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any)["message"].(string); ok && m != "" {
				out = append(out, m)
			}
		}
	}
	if p, err := c.dyn.Resource(gvrProvider).Get(ctx, name, metav1.GetOptions{}); err == nil {
		add(p)
	}
	revs, _ := c.dyn.Resource(gvrRevision).List(ctx, metav1.ListOptions{LabelSelector: "pkg.crossplane.io/package=" + name})
	if revs != nil {
		for i := range revs.Items {
			add(&revs.Items[i])
		}
	}
	evs, _ := c.dyn.Resource(gvrEvent).Namespace("default").List(ctx, metav1.ListOptions{})
	if evs != nil {
		for _, e := range evs.Items {
			involved, _, _ := unstructured.NestedString(e.Object, "involvedObject", "name")
			if strings.HasPrefix(involved, name) {
				m, _, _ := unstructured.NestedString(e.Object, "message")
				out = append(out, m)
			}
		}
	}
	return out
}

func (c *crossplane) condition(t *testing.T, name, typ string) string {
	p, err := c.dyn.Resource(gvrProvider).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	conds, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	for _, cd := range conds {
		m := cd.(map[string]any)
		if m["type"] == typ {
			return fmt.Sprint(m["status"])
		}
	}
	return ""
}

// waitFor polls until ok returns true, failing with what it last saw.
func (c *crossplane) waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool, seen func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(c.logPath)
			tail := string(log)
			if len(tail) > 4000 {
				tail = tail[len(tail)-4000:]
			}
			t.Fatalf("Crossplane %s: timed out waiting for %s; last seen: %s\ncore log tail:\n%s", c.version, what, seen(), tail)
		}
		time.Sleep(time.Second)
	}
}
