package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// unreachableServer refuses connections: nothing listens on port 1.
const unreachableServer = "https://127.0.0.1:1"

// fleetKubeconfig writes one kubeconfig with a context per API server
// (name to config; a nil config is unreachableServer) and returns its path.
func fleetKubeconfig(t testing.TB, servers map[string]*rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	for name, cfg := range servers {
		cluster := &clientcmdapi.Cluster{Server: unreachableServer}
		user := &clientcmdapi.AuthInfo{Token: "not-a-secret-" + name}
		if cfg != nil {
			cluster = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
			user = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
		}
		kc.Clusters[name], kc.AuthInfos[name] = cluster, user
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
		kc.CurrentContext = name
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiagnoseSeveralClusters diagnoses two real API servers and one that
// cannot be reached into one report: the incident of testdata/cluster.yaml
// on "prod", the same packages but the failing ones on "staging", and
// "gone". The unreachable cluster's row says why and the others are
// reported in full; each image the two clusters share is read from the
// registry once; exit 2 only when no cluster could be read.
func TestDiagnoseSeveralClusters(t *testing.T) {
	pinClock(t)
	var rq testregistry.Requests
	prod, _, host := incidentCluster(t, rq.Wrap)
	staging := testenv.Start(t, false)
	raw, err := os.ReadFile(filepath.Join("testdata", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// staging runs the healthy part of the incident: the same images.
	var healthy []string
	for _, doc := range strings.Split(strings.ReplaceAll(string(raw), "REGISTRY", host), "\n---\n") {
		if !strings.Contains(doc, "provider-runtime") && !strings.Contains(doc, "function-runtime") && !strings.Contains(doc, "configuration-platform") &&
			!strings.Contains(doc, "provider-pull") && !strings.Contains(doc, "provider-crash") && !strings.Contains(doc, "provider-aws-s3") {
			healthy = append(healthy, doc)
		}
	}
	create(t, staging.Config, strings.Join(healthy, "\n---\n"))
	kubeconfig := fleetKubeconfig(t, map[string]*rest.Config{"prod": prod.Config, "staging": staging.Config, "gone": nil})
	scrub := func(s string) string { return strings.ReplaceAll(s, host, "REGISTRY") }

	// One cluster alone, every image inspected: the registry reads one run makes.
	rq.Reset()
	single, errOut, code := run(t, "--kubeconfig", kubeconfig, "--context", "prod", "--inspect", "all", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("prod alone: exit %d %s", code, errOut)
	}
	readsAlone := rq.Count("GET", "/manifests/")
	rq.Reset()

	out, errOut, code := run(t, "--kubeconfig", kubeconfig, "--context", "prod,gone", "--context", "staging", "--inspect", "all", "-o", "json", "--timeout", "60s")
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	var rep diagnose.FleetReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Kind != diagnose.FleetKind || strings.Join(rep.Contexts, ",") != "prod,gone,staging" || len(rep.Clusters) != 3 {
		t.Fatalf("report %s %v %d clusters", rep.Kind, rep.Contexts, len(rep.Clusters))
	}
	if g := rep.Clusters["gone"]; g.Report != nil || !strings.Contains(g.Error, "cannot read the cluster at "+unreachableServer) {
		t.Errorf("gone: %+v", g)
	}
	p, s := rep.Clusters["prod"].Report, rep.Clusters["staging"].Report
	if p == nil || s == nil || p.Source != "prod" || s.Source != "staging" || len(p.Packages) != 9 || len(s.Packages) != 3 {
		t.Fatalf("prod %+v\nstaging %+v", p, s)
	}
	// prod's report is the one it gets alone (but for its source).
	var alone diagnose.Report
	if err := json.Unmarshal([]byte(single), &alone); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(alone)
	b, _ := json.Marshal(p)
	if string(a) != string(b) {
		t.Errorf("prod in the fleet differs from prod alone:\n%s\n%s", a, b)
	}
	if findings.Worst(s.Findings) == findings.Error {
		t.Errorf("staging runs only healthy packages: %+v", s.Findings)
	}
	if reads := rq.Count("GET", "/manifests/"); reads != readsAlone {
		t.Errorf("two clusters running the same images made %d manifest reads, one alone %d: the registry reads are not shared", reads, readsAlone)
	}

	// The table: a CLUSTER column, the unreachable cluster's row says why.
	table, _, _ := run(t, "--kubeconfig", kubeconfig, "--context", "prod,staging,gone")
	var goneRow string
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "gone ") {
			goneRow = line
		}
	}
	if !strings.HasPrefix(table, "CLUSTER   KIND") || !strings.Contains(goneRow, "not read: cannot read the cluster at https://127.0.0.1:1") ||
		!strings.Contains(table, "\nCluster prod: Crossplane v2.1.3. ") || !strings.Contains(table, "\nCluster staging: Crossplane v2.1.3. ") ||
		!strings.Contains(table, "2 of 3 cluster(s) read.") || strings.Contains(table, "not-a-secret") {
		t.Errorf("table:\n%s", scrub(table))
	}

	// --all-contexts is every context of the kubeconfig, sorted; YAML is the same report.
	y, _, code := run(t, "--kubeconfig", kubeconfig, "--all-contexts", "-o", "yaml")
	var all diagnose.FleetReport
	if err := yaml.Unmarshal([]byte(y), &all); err != nil || code != ExitFindings || strings.Join(all.Contexts, ",") != "gone,prod,staging" {
		t.Errorf("--all-contexts: exit %d %v %v", code, err, all.Contexts)
	}

	// Healthy clusters and one not read: exit 1, the report is incomplete.
	if _, _, code := run(t, "--kubeconfig", kubeconfig, "--context", "staging,gone"); code != ExitFindings {
		t.Errorf("staging and gone: exit %d, want 1", code)
	}
	if _, _, code := run(t, "--kubeconfig", kubeconfig, "--context", "staging,gone", "--exit-zero"); code != ExitOK {
		t.Errorf("--exit-zero: exit %d", code)
	}
	// No cluster read: exit 2, each row saying why.
	out, errOut, code = run(t, "--kubeconfig", kubeconfig, "--context", "gone,nowhere")
	if code != ExitError || !strings.Contains(out, "not read: ") || !strings.Contains(out, "nowhere") ||
		strings.Count(errOut, "error:") != 1 || !strings.Contains(errOut, "no cluster could be read") {
		t.Errorf("none read: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--context", "prod,staging", "--from-file", "x.yaml"}, "does not combine"},
		{[]string{"--context", "prod", "--all-contexts"}, "not both"},
		{[]string{"--context", "prod,staging", "-o", "markdown"}, "several clusters"},
		{[]string{"--context", "prod,,staging"}, "empty context"},
	} {
		out, errOut, code := run(t, append([]string{"--kubeconfig", kubeconfig}, c.args...)...)
		if code != ExitError || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q %q", c.args, code, out, errOut)
		}
	}
}
