package kubeflags

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
)

// kubeconfig has two clusters, users and contexts; b has a namespace and
// a token file, so overrides that must clear file-based values show.
func kubeconfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenFile := write("token", "from-file")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://one.example:6443", certificate-authority-data: "` + "Y2E=" + `"}
- name: c2
  cluster: {server: "https://two.example:6443", insecure-skip-tls-verify: true}
users:
- name: u1
  user: {token: "t1", client-certificate-data: "Y2VydA==", client-key-data: "a2V5"}
- name: u2
  user: {tokenFile: "` + tokenFile + `"}
contexts:
- name: a
  context: {cluster: c1, user: u1}
- name: b
  context: {cluster: c2, user: u2, namespace: team}
current-context: a
`
	return write("config", cfg)
}

// isolate keeps the machine's kubeconfig and in-cluster config out.
func isolate(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("KUBERNETES_MASTER", "")
}

// The flags are kubectl's: same names, shorthands, types, defaults and help,
// read from cli-runtime itself. --cache-dir is left out: it only places
// cli-runtime's discovery cache, which xpdoctor never used.
func TestSameFlagsAsKubectl(t *testing.T) {
	theirs := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
	genericclioptions.NewConfigFlags(true).AddFlags(theirs)
	ours := pflag.NewFlagSet("xpdoctor", pflag.ContinueOnError)
	NewConfigFlags(true).AddFlags(ours)
	theirs.VisitAll(func(k *pflag.Flag) {
		if k.Name == "cache-dir" {
			return
		}
		o := ours.Lookup(k.Name)
		if o == nil {
			t.Errorf("--%s is missing", k.Name)
			return
		}
		if o.Shorthand != k.Shorthand || o.Usage != k.Usage || o.DefValue != k.DefValue || o.Value.Type() != k.Value.Type() {
			t.Errorf("--%s: ours -%s %q %q %s, kubectl's -%s %q %q %s", k.Name, o.Shorthand, o.DefValue, o.Usage, o.Value.Type(), k.Shorthand, k.DefValue, k.Usage, k.Value.Type())
		}
	})
	ours.VisitAll(func(o *pflag.Flag) {
		if theirs.Lookup(o.Name) == nil {
			t.Errorf("--%s is not a kubectl flag", o.Name)
		}
	})
}

// The same command line gives the same REST config and namespace as
// kubectl's ConfigFlags.
func TestSameConfigAsKubectl(t *testing.T) {
	isolate(t)
	kc := kubeconfig(t)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	cases := [][]string{
		nil,
		{"--context", "b"},
		{"--cluster", "c2"},
		{"--user", "u2"},
		{"-n", "crossplane-system"},
		{"--context", "b", "--namespace", "other"},
		{"-s", "https://three.example"},
		{"--server", "https://three.example", "--tls-server-name", "api.internal"},
		{"--context", "b", "--token", "typed"},
		{"--as", "alice", "--as-group", "g1", "--as-group", "g2", "--as-uid", "42", "--as-user-extra", "scopes=a", "--as-user-extra", "scopes=b", "--as-user-extra", "no-equals"},
		{"--insecure-skip-tls-verify", "--cluster", "c1"},
		{"--certificate-authority", ca},
		{"--client-certificate", "/x/cert", "--client-key", "/x/key"},
		{"--request-timeout", "7s"},
		{"--proxy-url", "http://proxy.example:3128"},
		{"--disable-compression"},
	}
	for _, args := range cases {
		args = append([]string{"--kubeconfig", kc}, args...)
		name := strings.Join(args[2:], " ")
		theirs := genericclioptions.NewConfigFlags(true)
		ours := NewConfigFlags(true)
		parse(t, theirs.AddFlags, args)
		parse(t, ours.AddFlags, args)

		want, wantErr := theirs.ToRESTConfig()
		got, gotErr := ours.ToRESTConfig()
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%s: error %v, kubectl's %v", name, gotErr, wantErr)
		}
		if wantErr != nil {
			continue
		}
		if w, g := proxyOf(t, want), proxyOf(t, got); w != g {
			t.Errorf("%s: proxy %q, kubectl's %q", name, g, w)
		}
		want.Proxy, got.Proxy = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: REST config\n%#v\nkubectl's\n%#v", name, got, want)
		}
		wantNS, wantExplicit, _ := theirs.ToRawKubeConfigLoader().Namespace()
		gotNS, gotExplicit, _ := ours.ToRawKubeConfigLoader().Namespace()
		if gotNS != wantNS || gotExplicit != wantExplicit {
			t.Errorf("%s: namespace %q %v, kubectl's %q %v", name, gotNS, gotExplicit, wantNS, wantExplicit)
		}
	}
}

func parse(t *testing.T, add func(*pflag.FlagSet), args []string) {
	t.Helper()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	add(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
}

func proxyOf(t *testing.T, c *rest.Config) string {
	if c.Proxy == nil {
		return ""
	}
	req, _ := http.NewRequest(http.MethodGet, c.Host, nil)
	u, err := c.Proxy(req)
	if err != nil || u == nil {
		return ""
	}
	return u.String()
}

// Where the kubeconfig comes from: --kubeconfig (TestSameConfigAsKubectl),
// else KUBECONFIG, else ~/.kube/config (client-go fixes that path when the
// process starts, so it is not tested here), else kubectl's default.
func TestKubeconfigSources(t *testing.T) {
	isolate(t)
	kc := kubeconfig(t)

	// No kubeconfig: kubectl's default server, which kubectl reports as
	// "The connection to the server localhost:8080 was refused".
	f := NewConfigFlags(true)
	if c, err := f.ToRESTConfig(); err != nil || c.Host != "http://localhost:8080" {
		t.Fatalf("no kubeconfig: %v %v", c, err)
	}
	if f.CurrentContext() != "" {
		t.Errorf("no kubeconfig: context %q", f.CurrentContext())
	}

	t.Setenv("KUBECONFIG", kc)
	f = NewConfigFlags(true)
	if c, err := f.ToRESTConfig(); err != nil || c.Host != "https://one.example:6443" || f.CurrentContext() != "a" {
		t.Fatalf("KUBECONFIG: %v %v", c, err)
	}

	f = NewConfigFlags(true)
	*f.Context = "b"
	if c, err := f.ToRESTConfig(); err != nil || c.Host != "https://two.example:6443" || f.CurrentContext() != "b" {
		t.Fatalf("KUBECONFIG with --context b: %v %v", c, err)
	}
}

// --context, --cluster and --user complete from the kubeconfig the command
// line names, through cobra's __complete as a shell calls it.
func TestCompletesKubeconfigNames(t *testing.T) {
	isolate(t)
	kc := kubeconfig(t)
	complete := func(args ...string) string {
		root := &cobra.Command{Use: "kubectl-x", RunE: func(*cobra.Command, []string) error { return nil }}
		sub := &cobra.Command{Use: "diagnose", RunE: func(*cobra.Command, []string) error { return nil }}
		NewConfigFlags(true).AddFlags(root.Flags())
		NewConfigFlags(true).AddFlags(sub.Flags())
		root.AddCommand(sub)
		RegisterCompletions(root)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--kubeconfig", kc, "--context", ""}, "a\nb\n:4\n"},
		{[]string{"diagnose", "--kubeconfig", kc, "--context", "b"}, "b\n:4\n"},
		{[]string{"diagnose", "--kubeconfig", kc, "--cluster", ""}, "c1\nc2\n:4\n"},
		{[]string{"--kubeconfig", kc, "--user", "u"}, "u1\nu2\n:4\n"},
		{[]string{"--user", ""}, ":4\n"}, // no kubeconfig: nothing, no files
	}
	for _, c := range cases {
		if got := complete(c.args...); got != c.want {
			t.Errorf("%v: %q, want %q", c.args, got, c.want)
		}
	}
	t.Setenv("KUBECONFIG", kc)
	if got := complete("--context", ""); !strings.HasPrefix(got, "a\nb\n:4\n") {
		t.Errorf("KUBECONFIG: %q", got)
	}
}

// ForContext keeps every flag but the context: a field added to ConfigFlags
// and forgotten there would read another cluster's user or server.
func TestForContextKeepsEveryOtherFlag(t *testing.T) {
	f := NewConfigFlags(true)
	g := f.ForContext("b")
	fv, gv := reflect.ValueOf(f).Elem(), reflect.ValueOf(g).Elem()
	for i := 0; i < fv.NumField(); i++ {
		field := fv.Type().Field(i)
		if !field.IsExported() {
			continue
		}
		if field.Name == "Context" {
			if *g.Context != "b" || *f.Context != "" {
				t.Errorf("context: copy %q, original %q", *g.Context, *f.Context)
			}
			continue
		}
		if fv.Field(i).Pointer() != gv.Field(i).Pointer() {
			t.Errorf("ForContext does not keep %s", field.Name)
		}
	}
}
