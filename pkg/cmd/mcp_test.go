package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/mcpserver"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// The tools `kubectl xpdoctor mcp` registers: each only reads. A new tool
// is added here on purpose, after checking it cannot write.
var readOnlyTools = []string{"bundle", "diagnose", "explain", "inspect", "preflight"}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mcpSession runs `kubectl xpdoctor mcp ARGS` in-process, through Main and
// the real command tree, with its server on one of the SDK's in-memory
// transports, and connects the SDK's client to the other. The server must
// stop, exit 0, when the client closes.
func mcpSession(t *testing.T, args ...string) (*mcp.ClientSession, *syncBuffer) {
	t.Helper()
	serverSide, clientSide := mcp.NewInMemoryTransports()
	old := mcpTransport
	mcpTransport = func(IOStreams) mcp.Transport { return serverSide }
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Main(append([]string{"mcp"}, args...), strings.NewReader(""), io.Discard, stderr) }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "xpdoctor-test", Version: "v0"}, nil).Connect(ctx, clientSide, nil)
	if err != nil {
		t.Fatalf("connecting to the server: %v\n%s", err, stderr)
	}
	t.Cleanup(func() {
		cs.Close()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("mcp exited %d when the client closed: %s", code, stderr)
			}
		case <-time.After(time.Minute):
			t.Error("the server did not stop when the client closed")
		}
		mcpTransport = old
	})
	return cs, stderr
}

// callTool calls a tool and returns its text; a successful result's
// structured content must be the same JSON.
func callTool(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (text string, isError bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	if len(res.Content) != 1 {
		t.Fatalf("%s: %d contents", tool, len(res.Content))
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("%s: content %T", tool, res.Content[0])
	}
	if !res.IsError {
		var fromText, structured any
		b, _ := json.Marshal(res.StructuredContent)
		if json.Unmarshal([]byte(tc.Text), &fromText) != nil || json.Unmarshal(b, &structured) != nil || !jsonEqual(fromText, structured) {
			t.Errorf("%s: the structured content is not the text's JSON:\n%s\n%s", tool, tc.Text, b)
		}
	}
	return tc.Text, res.IsError
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// sameText fails unless the tool's text is what the CLI printed.
func sameText(t *testing.T, what, tool, cli string) {
	t.Helper()
	if tool != cli {
		t.Errorf("%s: the tool's result is not what the CLI prints\n--- tool\n%s\n--- cli\n%s", what, tool, cli)
	}
}

// summaryOf renders the summary of the CLI's JSON report as the server does.
func summaryOf(t *testing.T, cliJSON string) string {
	t.Helper()
	var rep diagnose.Report
	if err := json.Unmarshal([]byte(cliJSON), &rep); err != nil {
		t.Fatal(err)
	}
	var b, c bytes.Buffer
	if err := (report.Printer{Format: report.JSON}).Structured(&b, mcpserver.Summarize(&rep)); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&c, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// Every tool the server registers only reads, says so, and takes no
// argument its schema does not name; the server's description says it is
// read-only; and the clients the mcp command's flags build cannot write:
// a create through its Kubernetes client and a push through its registry
// clients fail before any request reaches the server.
func TestMCPToolsAreReadOnly(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	cs, _ := mcpSession(t, "--from-file", filepath.Join("testdata", "cluster.yaml"))
	hello := cs.InitializeResult()
	for what, text := range map[string]string{"instructions": hello.Instructions, "description": hello.ServerInfo.Description} {
		if !strings.Contains(text, "Read-only: no tool mirrors, fixes, applies or changes anything") {
			t.Errorf("the server's %s do not say it is read-only: %q", what, text)
		}
	}
	list, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
		a := tool.Annotations
		if a == nil || !a.ReadOnlyHint || a.DestructiveHint == nil || *a.DestructiveHint || !a.IdempotentHint {
			t.Errorf("%s is not annotated read-only, non-destructive and idempotent: %+v", tool.Name, a)
		}
		schema, _ := tool.InputSchema.(map[string]any)
		if extra, ok := schema["additionalProperties"].(bool); !ok || extra {
			t.Errorf("%s accepts arguments its schema does not name: %v", tool.Name, schema["additionalProperties"])
		}
		if !strings.Contains(tool.Description, fmt.Sprint(mcpserver.MaxResultBytes)) && tool.Name != "explain" {
			t.Errorf("%s does not state its size bound: %s", tool.Name, tool.Description)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != strings.Join(readOnlyTools, ",") {
		t.Fatalf("tools %v, want exactly the read-only %v", names, readOnlyTools)
	}
	if text, isErr := callTool(t, cs, "bundle", nil); !isErr || !strings.Contains(text, "the dump is the bundle") {
		t.Errorf("bundle on a dump: %v %s", isErr, text)
	}

	// The clients: an API server and a registry that count what reaches them.
	var apiRequests atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiRequests.Add(1)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(api.Close)
	var rq testregistry.Requests
	reg := testregistry.InProcess(t, rq.Wrap)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "+api.URL+"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: admin-token}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newMCPFlags()
	c := &cobra.Command{Use: "mcp"}
	f.addInput(c, IOStreams{ErrOut: io.Discard})
	if err := c.ParseFlags([]string{"--kubeconfig", kubeconfig}); err != nil {
		t.Fatal(err)
	}
	o, err := f.doctorOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := doctor.RESTConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	providers := kinds["Provider"].GVR
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "metadata": map[string]any{"name": "p"}}}
	dyn := dynamic.NewForConfigOrDie(cfg).Resource(providers)
	ctx := context.Background()
	_, createErr := dyn.Create(ctx, obj, metav1.CreateOptions{})
	deleteErr := dyn.Delete(ctx, "p", metav1.DeleteOptions{})
	_, patchErr := dyn.Patch(ctx, "p", "application/merge-patch+json", []byte(`{}`), metav1.PatchOptions{})
	for what, err := range map[string]error{"create": createErr, "delete": deleteErr, "patch": patchErr} {
		if !errors.Is(err, cluster.ErrReadOnly) {
			t.Errorf("%s through the mcp command's Kubernetes client: %v, want cluster.ErrReadOnly", what, err)
		}
	}
	if n := apiRequests.Load(); n != 0 {
		t.Errorf("%d write requests reached the API server", n)
	}
	dst, _ := name.ParseReference(reg.Host + "/copy/provider-nop:v1")
	for what, client := range map[string]*xpkg.Client{"inspect's client": f.client(), "doctor's client": xpkg.NewClient(o.Registry...)} {
		err := client.PushManifest(ctx, dst, []byte(`{"schemaVersion":2}`), types.OCIManifestSchema1)
		blobErr := client.PushBlob(ctx, dst.Context(), "sha256:"+strings.Repeat("0", 64), 1, strings.NewReader("x"))
		if !errors.Is(err, xpkg.ErrReadOnly) || !errors.Is(blobErr, xpkg.ErrReadOnly) {
			t.Errorf("pushing through %s: %v, %v; want xpkg.ErrReadOnly", what, err, blobErr)
		}
	}
	if seen := rq.Seen(); len(seen) > 0 {
		t.Errorf("requests reached the registry: %v", seen)
	}
	// The same flags without the mcp command do write (the test tests something).
	g := newDiagnoseFlags()
	g.add(&cobra.Command{Use: "diagnose"}, IOStreams{ErrOut: io.Discard})
	if err := g.client().PushManifest(ctx, dst, []byte(`{"schemaVersion":2}`), types.OCIManifestSchema1); errors.Is(err, xpkg.ErrReadOnly) {
		t.Errorf("diagnose's own client is read-only too: the assertion above proves nothing")
	}
}

// methodLog records the method of every request through a transport.
type methodLog struct {
	mu   sync.Mutex
	seen map[string]int
}

func (m *methodLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		m.mu.Lock()
		m.seen[r.Method]++
		m.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Against a real API server with the incident of testdata/cluster.yaml:
// every tool's result is what the CLI prints as JSON for the same input,
// the server sends the API server and the registry nothing but reads, and
// a user bound only to docs/rbac.yaml's read-only roles (--as) gets the
// same report.
func TestMCPAgainstAPIServer(t *testing.T) {
	pinClock(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var rq testregistry.Requests
	env, _, host := incidentCluster(t, rq.Wrap)
	base := []string{"--kubeconfig", env.Kubeconfig, "--upstream-registry", host + "/mirror=" + host}
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, code := runB(t, append(args, base...)...)
		if code != ExitFindings && code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	runtimeRef, upstreamRef := host+"/mirror/upbound/provider-runtime:v1.6.0", host+"/upbound/provider-runtime:v1.6.0"
	want := map[string]string{
		"all":      cli("-o", "json"),
		"names":    cli("provider-runtime", "provider-aws-s3", "--kind", "Provider", "-o", "json"),
		"versions": cli("--crossplane-version", "v2.3.4", "--inspect", "all", "-o", "json"),
	}
	inspectOut, _, code := runB(t, "inspect", runtimeRef, "--upstream", upstreamRef, "-o", "json")
	if code != ExitFindings {
		t.Fatalf("inspect: exit %d", code)
	}

	kubeMethods := &methodLog{seen: map[string]int{}}
	wrapKubeTransport = kubeMethods.wrap
	t.Cleanup(func() { wrapKubeTransport = nil })
	rq.Reset()
	cs, _ := mcpSession(t, base...)

	got, isErr := callTool(t, cs, "diagnose", map[string]any{"detail": true})
	if isErr {
		t.Fatalf("diagnose: %s", got)
	}
	sameText(t, "diagnose detail", got, want["all"])
	got, _ = callTool(t, cs, "diagnose", map[string]any{"names": []string{"provider-runtime", "provider-aws-s3"}, "kind": "Provider", "detail": true})
	sameText(t, "diagnose names kind detail", got, want["names"])
	got, _ = callTool(t, cs, "diagnose", map[string]any{"crossplaneVersion": "v2.3.4", "inspect": "all", "detail": true})
	sameText(t, "diagnose crossplaneVersion inspect detail", got, want["versions"])

	summary, _ := callTool(t, cs, "diagnose", nil)
	sameText(t, "diagnose summary", summary, summaryOf(t, want["all"]))
	var sum mcpserver.DiagnoseSummary
	if err := json.Unmarshal([]byte(summary), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Kind != "DiagnoseSummary" || sum.Counts.Packages != 9 || len(sum.Packages) != 9 || sum.Packages[0].Finding == "" {
		t.Errorf("summary: %+v", sum)
	}
	for _, p := range sum.Packages {
		if p.Name == "provider-runtime" && !slices.Contains(p.Codes[findings.Error], findings.PackageYAMLNotFound) {
			t.Errorf("provider-runtime's codes: %v", p.Codes)
		}
	}

	got, _ = callTool(t, cs, "inspect", map[string]any{"references": []string{runtimeRef}, "upstream": upstreamRef})
	sameText(t, "inspect", got, inspectOut)

	explained, isErr := callTool(t, cs, "explain", map[string]any{"code": "PackageYAMLNotFound"})
	doc, _ := findings.Documentation(findings.PackageYAMLNotFound)
	var e mcpserver.Explanation
	if err := json.Unmarshal([]byte(explained), &e); isErr || err != nil || e.Meaning != doc.Text || e.Remediation != findings.Catalogue[findings.PackageYAMLNotFound].Fix ||
		len(e.Evidence) == 0 || e.Evidence[0].Rule != "not-package-yaml" || e.Severity != "error" {
		t.Errorf("explain: %v %s", err, explained)
	}

	got, isErr = callTool(t, cs, "preflight", map[string]any{"targetVersion": "v2.3.4", "detail": true})
	// The tool's detail is what `preflight -o json` prints for the same cluster.
	cliPreflight, _, _ := run(t, "preflight", "--kubeconfig", env.Kubeconfig, "--to", "v2.3.4", "-o", "json")
	if isErr || !strings.Contains(got, `"kind": "PreflightReport"`) || !strings.Contains(got, `"runningVersion": "v2.1.3"`) {
		t.Errorf("preflight: %s", got)
	}
	sameText(t, "preflight detail", got, cliPreflight)
	pre, _ := callTool(t, cs, "preflight", map[string]any{"targetVersion": "v2.3.4"})
	if !strings.Contains(pre, `"kind":"PreflightSummary"`) || !strings.Contains(pre, `"targetVersion":"v2.3.4"`) {
		t.Errorf("preflight summary: %s", pre)
	}

	// bundle: the command's List as JSON, which diagnose reads to the same report.
	bundled, isErr := callTool(t, cs, "bundle", nil)
	if isErr || !strings.Contains(bundled, `"kind":"SupportBundle"`) || len(bundled) > mcpserver.MaxResultBytes {
		t.Fatalf("bundle: %v %d bytes\n%.500s", isErr, len(bundled), bundled)
	}
	bundleFile := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(bundleFile, []byte(bundled), 0o600); err != nil {
		t.Fatal(err)
	}
	fromBundle, _, _ := runB(t, "--from-file", bundleFile, "-o", "json", "--upstream-registry", host+"/mirror="+host)
	if got, want := diagnosis(t, fromBundle), diagnosis(t, want["all"]); !reflect.DeepEqual(got, want) {
		t.Errorf("the bundle tool's List diagnoses otherwise:\n%s", fromBundle)
	}

	// Bad input is a tool error that says what is wrong, once.
	for _, bad := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"diagnose", map[string]any{"kind": "Composition"}, "kind"},
		{"diagnose", map[string]any{"crossplaneVersion": "latest"}, "latest"},
		{"diagnose", map[string]any{"force": true}, "force"},
		{"inspect", map[string]any{"references": []string{"Not A Reference"}}, "not a valid image reference"},
		{"inspect", map[string]any{"references": []string{}}, "references"},
		{"explain", map[string]any{"code": "NoSuchCode"}, "PackageYAMLNotFound"},
		{"preflight", map[string]any{"targetVersion": "v1.2.0"}, "older than v1.13"},
		{"diagnose", map[string]any{"names": []string{"provider-doker"}}, `(NotFound): providers.pkg.crossplane.io "provider-doker" not found`},
		{"diagnose", map[string]any{"names": []string{"provider-runtime", "provider-doker"}, "kind": "Provider"}, `(NotFound): providers.pkg.crossplane.io "provider-doker" not found`},
	} {
		text, isErr := callTool(t, cs, bad.tool, bad.args)
		if !isErr || !strings.Contains(text, bad.want) || strings.Contains(text, "goroutine") {
			t.Errorf("%s %v: error %v: %s", bad.tool, bad.args, isErr, text)
		}
	}

	// Reads only, on both sides.
	kubeMethods.mu.Lock()
	methods := fmt.Sprint(kubeMethods.seen)
	if kubeMethods.seen[http.MethodGet] == 0 || len(kubeMethods.seen) != 1 {
		t.Errorf("the server sent the API server %s, want GETs only", methods)
	}
	kubeMethods.mu.Unlock()
	seen := rq.Seen()
	if len(seen) == 0 {
		t.Error("the server never read the registry: the assertion below tests nothing")
	}
	for _, s := range seen {
		if m, _, _ := strings.Cut(s, " "); m != http.MethodGet && m != http.MethodHead {
			t.Errorf("the server sent the registry %s", s)
		}
	}

	// A user who may only read, through docs/rbac.yaml, gets the same report.
	bindReadOnlyRoles(t, env.Config, "alice")
	alice, _ := mcpSession(t, append(base, "--as", "alice")...)
	got, _ = callTool(t, alice, "diagnose", map[string]any{"detail": true})
	sameText(t, "diagnose as alice", got, want["all"])
}

// hostileFile names a file after a hostile text.
func hostileFile(t *testing.T, text string) string {
	return filepath.Join(t.TempDir(), text)
}

// A support dump whose messages carry escape sequences, bidirectional
// overrides and markdown: the results hold every text exactly, as the
// CLI's JSON does, with no raw control character (JSON escapes them);
// an error quoting outside text comes back escaped as on stderr.
func TestMCPHostileDump(t *testing.T) {
	pinClock(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dump := hostileDump(t)
	cliJSON, _, code := runB(t, "--from-file", dump, "--inspect", "none", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d", code)
	}
	cs, _ := mcpSession(t, "--from-file", dump)
	got, _ := callTool(t, cs, "diagnose", map[string]any{"inspect": "none", "detail": true})
	sameText(t, "hostile diagnose detail", got, cliJSON)
	checkExact(t, "json", got)
	summary, _ := callTool(t, cs, "diagnose", map[string]any{"inspect": "none"})
	sameText(t, "hostile diagnose summary", summary, summaryOf(t, cliJSON))
	for what, text := range map[string]string{"detail": got, "summary": summary} {
		if r, bad := rawControl(text); bad {
			t.Errorf("%s holds the raw control character %U", what, r)
		}
	}
	if !strings.Contains(summary, `provider-\u001b[2J\u202ename|`) {
		t.Errorf("the summary does not hold the hostile name exactly (JSON-escaped):\n%s", summary)
	}

	for _, h := range hostileTexts {
		cs, _ := mcpSession(t, "--from-file", hostileFile(t, h.text))
		text, isErr := callTool(t, cs, "diagnose", nil)
		if !isErr || !strings.Contains(text, "reading support dump") {
			t.Fatalf("%s: error %v: %q", h.name, isErr, text)
		}
		if r, bad := rawControl(text); bad {
			t.Errorf("%s: the error holds the raw control character %U: %q", h.name, r, text)
		}
	}
}

// A registry that echoes the credentials it is sent (a pull secret's
// password, Basic-encoded) in its errors: no tool's result holds them,
// in any form, and the results are still the CLI's.
func TestMCPRedactsEchoedCredentials(t *testing.T) {
	pinClock(t)
	reg := testregistry.InProcess(t, testregistry.EchoCredentials, testregistry.BasicAuth(secretUser, secretPullPassword))
	ref := reg.Host + "/upbound/provider-nop:v1.6.0"
	dockerConfig(t, reg.Host, map[string]string{"auth": basicAuth(secretUser, secretPullPassword)})
	dump := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(dump, []byte(secretDump(reg.Host, ref, secretPullPassword)), 0o600); err != nil {
		t.Fatal(err)
	}
	cliJSON, _, _ := runB(t, "--from-file", dump, "--inspect", "all", "-o", "json")
	cliInspect, _, _ := runB(t, "inspect", ref, "-o", "json")
	cs, _ := mcpSession(t, "--from-file", dump, "-v", "9")
	var results []string
	detail, _ := callTool(t, cs, "diagnose", map[string]any{"inspect": "all", "detail": true})
	sameText(t, "diagnose detail", detail, cliJSON)
	inspected, _ := callTool(t, cs, "inspect", map[string]any{"references": []string{ref}})
	sameText(t, "inspect", inspected, cliInspect)
	summary, _ := callTool(t, cs, "diagnose", map[string]any{"inspect": "all"})
	pre, _ := callTool(t, cs, "preflight", map[string]any{"targetVersion": "v2.3.4", "detail": true})
	results = append(results, detail, inspected, summary, pre)
	joined := strings.Join(results, "\n")
	for _, secret := range forms() {
		if i := strings.Index(joined, secret); i >= 0 {
			t.Errorf("a credential leaked: %q in ...%s...", secret, joined[max(0, i-200):min(len(joined), i+100)])
		}
	}
	for _, want := range []string{"DENIED", `\u003credacted\u003e`, "RegistryUnauthorized"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the results never show %q: the test tests nothing\n%s", want, joined)
		}
	}
}

// sizeDump is a support dump of n Providers, every one failing with its
// own messages (a condition and three Warning events) and pulling the
// same runtime image mirrored in place of its package: the worst case for
// the size of a report.
func sizeDump(t *testing.T, host string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: crossplane, namespace: crossplane-system}\n  spec:\n    template:\n      spec:\n        containers: [{name: crossplane, image: \"xpkg.crossplane.io/crossplane/crossplane:v2.1.3\"}]\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("provider-aws-service-%03d", i)
		msg := fmt.Sprintf(`cannot initialize parser backend: couldn't find "package.yaml" file after checking %d files in the archive (annotated layer: false): EOF`, i%7+1)
		fmt.Fprintf(&b, `- apiVersion: pkg.crossplane.io/v1
  kind: Provider
  metadata: {name: %[1]s}
  spec: {package: "%[2]s/mirror/upbound/provider-runtime:v1.6.0"}
  status:
    currentRevision: %[1]s-58cd9ca57af0
    conditions:
    - {type: Installed, status: "True", reason: ActivePackageRevision, lastTransitionTime: "2026-11-27T05:00:00Z"}
    - {type: Healthy, status: "False", reason: UnhealthyPackageRevision, message: %[3]q, lastTransitionTime: "2026-11-27T05:00:00Z"}
- apiVersion: pkg.crossplane.io/v1
  kind: ProviderRevision
  metadata: {name: %[1]s-58cd9ca57af0, labels: {pkg.crossplane.io/package: %[1]s}}
  spec: {desiredState: Active, image: "%[2]s/mirror/upbound/provider-runtime:v1.6.0", revision: 1}
  status:
    conditions:
    - {type: Healthy, status: "False", reason: UnhealthyPackageRevision, message: %[3]q, lastTransitionTime: "2026-11-27T05:00:00Z"}
`, name, host, msg)
		for e := 0; e < 3; e++ {
			fmt.Fprintf(&b, `- apiVersion: v1
  kind: Event
  metadata: {name: %[1]s.%[2]d, namespace: default}
  involvedObject: {apiVersion: pkg.crossplane.io/v1, kind: ProviderRevision, name: %[1]s-58cd9ca57af0}
  reason: ParsePackage
  message: %[3]q
  type: Warning
  count: %[4]d
  firstTimestamp: "2026-11-27T04:00:00Z"
  lastTimestamp: "2026-11-27T05:00:00Z"
`, name, e, msg+fmt.Sprintf(" (attempt %d)", e), e+2)
		}
	}
	path := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The biggest cluster tested, 300 failing Providers: the summary stays
// under 64 KiB (the tools' descriptions and the README say so); the full
// report is refused with what to ask instead, never cut; the report for
// the names of ten packages fits and is the CLI's.
func TestMCPSizeBounds(t *testing.T) {
	pinClock(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.InProcess(t)
	if err := xpkgtest.Push(reg.Host+"/mirror/upbound/provider-runtime:v1.6.0", xpkgtest.RuntimeImage(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	const n = 300
	dump := sizeDump(t, reg.Host, n)
	full, _, code := runB(t, "--from-file", dump, "-o", "json")
	if code != ExitFindings || strings.Count(full, `"code": "PackageYAMLNotFound"`) != n {
		t.Fatalf("exit %d, %d PackageYAMLNotFound", code, strings.Count(full, `"code": "PackageYAMLNotFound"`))
	}
	cs, _ := mcpSession(t, "--from-file", dump)
	summary, isErr := callTool(t, cs, "diagnose", nil)
	const summaryBound = 64 << 10
	if isErr || len(summary) > summaryBound || strings.Count(summary, `"finding":"PackageYAMLNotFound"`) != n {
		t.Fatalf("summary of %d packages: %d bytes (bound %d), error %v", n, len(summary), summaryBound, isErr)
	}
	sameText(t, "summary", summary, summaryOf(t, full))
	detail, isErr := callTool(t, cs, "diagnose", map[string]any{"detail": true})
	if !isErr || !strings.Contains(detail, fmt.Sprintf("more than the %d bytes", mcpserver.MaxResultBytes)) || !strings.Contains(detail, "fewer names") {
		t.Fatalf("the full report of %d packages (%d bytes) is not refused: %.300s", n, len(full), detail)
	}
	names := []string{}
	for i := 0; i < 10; i++ {
		names = append(names, fmt.Sprintf("provider-aws-service-%03d", i*29))
	}
	some, isErr := callTool(t, cs, "diagnose", map[string]any{"names": names, "detail": true})
	cliSome, _, _ := runB(t, append([]string{"--from-file", dump, "-o", "json"}, names...)...)
	if isErr {
		t.Fatalf("ten packages: %s", some)
	}
	sameText(t, "ten packages", some, cliSome)
	t.Logf("%d failing packages: summary %d bytes, full report %d bytes (refused), ten packages %d bytes", n, len(summary), len(full), len(some))
}
