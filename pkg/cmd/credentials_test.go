package cmd

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// The credentials of TestCredentialsAsCrossplaneResolvesThem; none may be
// printed in any form.
const (
	credRight    = "xpd-RIGHT-PASSWORD-1f2e3d"
	credWrong    = "xpd-WRONG-PASSWORD-9a8b7c"
	credIdentity = "xpd-IDENTITY-REFRESH-55aa"
	credIssued   = "xpd-ISSUED-BEARER-66bb"
	credRegistry = "xpd-REGISTRY-BEARER-77cc"
	credBadIdent = "xpd-STALE-IDENTITY-88dd"
)

func credForms() []string {
	out := []string{credRight, credWrong, credIdentity, credIssued, credRegistry, credBadIdent}
	for _, p := range []string{credRight, credWrong} {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(secretUser+":"+p)))
	}
	return out
}

// dumpSecret is a pull secret of a support dump: entries maps a docker
// config registry key to its JSON entry.
type dumpSecret struct {
	name    string
	typ     string // default kubernetes.io/dockerconfigjson
	entries map[string]string
	raw     string // the data value as is, instead of entries
}

type dumpProvider struct {
	name        string
	ref         string
	pullSecrets []string
}

type dumpImageConfig struct {
	name, prefix, secret string
}

func userPassEntry(user, pass string) string {
	return fmt.Sprintf(`{"auth": %q}`, basicAuth(user, pass))
}

// credentialDump is a support dump as `kubectl get ... -o yaml` of the
// packages plus Crossplane's ServiceAccount and the pull secrets gives:
// Crossplane v2.3.4, its ServiceAccount with saSecrets, the secrets, the
// ImageConfigs and the Providers (with no status: the registry is the
// only witness).
func credentialDump(saSecrets []string, secrets []dumpSecret, ics []dumpImageConfig, pkgs []dumpProvider) string {
	var b strings.Builder
	b.WriteString(`apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: crossplane, namespace: crossplane-system}
  spec:
    template:
      spec:
        serviceAccountName: crossplane
        containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:v2.3.4"}]
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: crossplane, namespace: crossplane-system}
  imagePullSecrets: [`)
	for i, s := range saSecrets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{name: %s}", s)
	}
	b.WriteString("]\n")
	for _, s := range secrets {
		typ, key := s.typ, ".dockerconfigjson"
		if typ == "" {
			typ = "kubernetes.io/dockerconfigjson"
		}
		if typ == "kubernetes.io/dockercfg" {
			key = ".dockercfg"
		}
		data := s.raw
		if data == "" {
			var parts []string
			for k, v := range s.entries {
				parts = append(parts, fmt.Sprintf("%q: %s", k, v))
			}
			sort.Strings(parts)
			data = "{" + strings.Join(parts, ", ") + "}"
			if key == ".dockerconfigjson" {
				data = `{"auths": ` + data + "}"
			}
		}
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: Secret\n  metadata: {name: %s, namespace: crossplane-system}\n  type: %s\n  data: {%s: %s}\n",
			s.name, typ, key, base64.StdEncoding.EncodeToString([]byte(data)))
	}
	for _, ic := range ics {
		fmt.Fprintf(&b, "- apiVersion: pkg.crossplane.io/v1beta1\n  kind: ImageConfig\n  metadata: {name: %s}\n  spec:\n    matchImages: [{type: Prefix, prefix: %q}]\n    registry: {authentication: {pullSecretRef: {name: %s}}}\n", ic.name, ic.prefix, ic.secret)
	}
	for _, p := range pkgs {
		fmt.Fprintf(&b, "- apiVersion: pkg.crossplane.io/v1\n  kind: Provider\n  metadata: {name: %s}\n  spec:\n    package: %q\n", p.name, p.ref)
		if len(p.pullSecrets) > 0 {
			b.WriteString("    packagePullSecrets: [")
			for i, s := range p.pullSecrets {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "{name: %s}", s)
			}
			b.WriteString("]\n")
		}
	}
	return b.String()
}

// expectation is what diagnose must say of one package: the secret whose
// entry Crossplane sends ("" none), and the findings ("" none).
type expectation struct {
	used     string
	findings []string
	// root is the table's FINDING: the first of findings unless set.
	root string
	// cell is the wide PULL SECRET column: used, else "none" (or "none
	// matched"), unless set.
	cell string
}

type diagnoseJSON struct {
	RegistryCredentials string `json:"registryCredentials"`
	Packages            []struct {
		Name        string `json:"name"`
		Finding     string `json:"finding"`
		Credentials *struct {
			Used *struct {
				Secret string `json:"secret"`
				Key    string `json:"entry"`
			} `json:"used"`
			InspectedWith string `json:"inspectedWith"`
			Refused       bool   `json:"refused"`
		} `json:"credentials"`
	} `json:"packages"`
	Findings []struct {
		Code    string `json:"code"`
		Subject struct {
			Name string `json:"name"`
		} `json:"subject"`
		Message string `json:"message"`
	} `json:"findings"`
}

// checkDiagnosis runs diagnose on the dump in every output format at -v 9
// and checks each package's credentials and findings, and that no
// credential is printed.
func checkDiagnosis(t *testing.T, dump string, want map[string]expectation, mustSee ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(path, []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, o := range []string{"wide", "table", "yaml", "markdown", "json"} {
		out, errOut, _ := runB(t, "diagnose", "--from-file", path, "--inspect", "all", "-o", o, "-v", "9", "--timeout", "30s")
		all = append(all, out, errOut)
		if o == "table" && os.Getenv("XPDOCTOR_SHOW") != "" {
			t.Log(out)
		}
		if o == "wide" {
			// The PULL SECRET column names the secret Crossplane sends.
			for name, w := range want {
				cell := w.used
				if w.cell != "" {
					cell = w.cell
				}
				if cell == "" {
					cell = "none"
				}
				row := ""
				for _, l := range strings.Split(out, "\n") {
					if f := strings.Fields(l); len(f) > 1 && f[1] == name {
						row = l
					}
				}
				if !strings.Contains(row, cell) {
					t.Errorf("%s: the wide row does not name %q: %q", name, cell, row)
				}
			}
		}
		if o != "json" {
			continue
		}
		var rep diagnoseJSON
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("diagnose -o json: %v\n%s\n%s", err, out, errOut)
		}
		if rep.RegistryCredentials != "crossplane" {
			t.Errorf("registryCredentials = %q, want crossplane", rep.RegistryCredentials)
		}
		for _, p := range rep.Packages {
			w, ok := want[p.Name]
			if !ok {
				continue
			}
			delete(want, p.Name)
			if p.Credentials == nil {
				t.Errorf("%s: no credentials in the report", p.Name)
				continue
			}
			if p.Credentials.InspectedWith != "crossplane" {
				t.Errorf("%s: inspected with %s credentials, want Crossplane's", p.Name, p.Credentials.InspectedWith)
			}
			used := ""
			if p.Credentials.Used != nil {
				used = p.Credentials.Used.Secret
			}
			if used != w.used {
				t.Errorf("%s: Crossplane sends the entry of %q, want %q", p.Name, used, w.used)
			}
			root := w.root
			if root == "" && len(w.findings) > 0 {
				root = w.findings[0]
			}
			if p.Finding != root {
				t.Errorf("%s: root cause %q, want %q", p.Name, p.Finding, root)
			}
			var codes []string
			for _, f := range rep.Findings {
				if f.Subject.Name == p.Name {
					codes = append(codes, f.Code)
				}
			}
			sort.Strings(codes)
			wantCodes := append([]string{}, w.findings...)
			sort.Strings(wantCodes)
			if strings.Join(codes, ",") != strings.Join(wantCodes, ",") {
				t.Errorf("%s: findings %v, want %v\n%s", p.Name, codes, wantCodes, out)
			}
		}
		for name := range want {
			t.Errorf("package %s is not in the report", name)
		}
	}
	joined := strings.Join(all, "\n")
	for _, s := range append(credForms(), forms()...) {
		if i := strings.Index(joined, s); i >= 0 {
			t.Errorf("a credential leaked: %q in ...%s...", s, joined[max(0, i-200):min(len(joined), i+100)])
		}
	}
	for _, s := range mustSee {
		if !strings.Contains(joined, s) {
			t.Errorf("the runs never showed %q\n%s", s, joined)
		}
	}
}

// TestCredentialsAsCrossplaneResolvesThem: diagnose reads each package's
// image with exactly the pull secrets Crossplane uses for that package,
// by Crossplane's keychain rules, against Debian's docker-registry with
// htpasswd auth and the in-process registry with token auth; it says
// which secret Crossplane sends, and why the registry refuses.
func TestCredentialsAsCrossplaneResolvesThem(t *testing.T) {
	push := func(t *testing.T, ref string, auth authn.Authenticator) {
		t.Helper()
		if err := xpkgtest.Push(ref, provider.Index(), remote.WithAuth(auth)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("htpasswd", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir()) // no local credentials to fall back on
		reg := testregistry.Process(t, secretUser, credRight)
		h := reg.Host
		right := &authn.Basic{Username: secretUser, Password: credRight}
		for _, repo := range []string{"team-a/provider-a", "team-b/provider-b", "team-a/provider-path", "team-b/provider-path", "wild/provider", "ic/provider", "plain/provider", "sa/provider", "legacy/provider"} {
			push(t, h+"/"+repo+":v1.6.0", right)
		}
		right2 := userPassEntry(secretUser, credRight)
		wrong := userPassEntry(secretUser, credWrong)
		_, port, _ := strings.Cut(h, ":")

		t.Run("two packages on one host, each with its own secret", func(t *testing.T) {
			checkDiagnosis(t, credentialDump(nil,
				[]dumpSecret{{name: "creds-a", entries: map[string]string{h: right2}}, {name: "creds-b", entries: map[string]string{h: wrong}}}, nil,
				[]dumpProvider{{name: "provider-a", ref: h + "/team-a/provider-a:v1.6.0", pullSecrets: []string{"creds-a"}},
					{name: "provider-b", ref: h + "/team-b/provider-b:v1.6.0", pullSecrets: []string{"creds-b"}}}),
				map[string]expectation{
					"provider-a": {used: "crossplane-system/creds-a"},
					// creds-a reads provider-b's image too: verified, so said.
					"provider-b": {used: "crossplane-system/creds-b", findings: []string{"PullSecretRejected", "RegistryUnauthorized", "PullSecretUnreferenced"}},
				}, "credentials: Crossplane's keychain for "+h+"/team-b/provider-b:v1.6.0 reads crossplane-system/creds-b (spec.packagePullSecrets)")
		})
		t.Run("a path-scoped entry matches one repository and not another", func(t *testing.T) {
			checkDiagnosis(t, credentialDump(nil,
				[]dumpSecret{{name: "team-a", entries: map[string]string{h + "/team-a": right2}}}, nil,
				[]dumpProvider{{name: "provider-in", ref: h + "/team-a/provider-path:v1.6.0", pullSecrets: []string{"team-a"}},
					{name: "provider-out", ref: h + "/team-b/provider-path:v1.6.0", pullSecrets: []string{"team-a"}}}),
				map[string]expectation{
					"provider-in":  {used: "crossplane-system/team-a"},
					"provider-out": {findings: []string{"PullSecretNoMatch", "RegistryUnauthorized"}},
				}, "entries: crossplane-system/team-a: "+h+"/team-a")
		})
		t.Run("a wildcard host", func(t *testing.T) {
			checkDiagnosis(t, credentialDump(nil,
				[]dumpSecret{{name: "wild", entries: map[string]string{"*.0.0.1:" + port: right2}}}, nil,
				[]dumpProvider{{name: "provider-wild", ref: h + "/wild/provider:v1.6.0", pullSecrets: []string{"wild"}}}),
				map[string]expectation{"provider-wild": {used: "crossplane-system/wild"}})
		})
		t.Run("an ImageConfig pull secret, and a package it does not cover", func(t *testing.T) {
			checkDiagnosis(t, credentialDump(nil,
				[]dumpSecret{{name: "ic-creds", entries: map[string]string{h: right2}}},
				[]dumpImageConfig{{name: "private", prefix: h + "/ic/", secret: "ic-creds"}},
				[]dumpProvider{{name: "provider-ic", ref: h + "/ic/provider:v1.6.0"}, {name: "provider-plain", ref: h + "/plain/provider:v1.6.0"}}),
				map[string]expectation{
					"provider-ic": {used: "crossplane-system/ic-creds"},
					// Nothing names a secret for it; ic-creds would work.
					"provider-plain": {findings: []string{"RegistryUnauthorized", "PullSecretUnreferenced"}},
				}, "spec.registry.authentication.pullSecretRef of ImageConfig private")
		})
		t.Run("the ServiceAccount's pull secrets and a legacy .dockercfg", func(t *testing.T) {
			checkDiagnosis(t, credentialDump([]string{"sa-creds"},
				[]dumpSecret{{name: "sa-creds", typ: "kubernetes.io/dockercfg", entries: map[string]string{h: right2}}}, nil,
				[]dumpProvider{{name: "provider-sa", ref: h + "/sa/provider:v1.6.0"}}),
				map[string]expectation{"provider-sa": {used: "crossplane-system/sa-creds"}}, "imagePullSecrets of Crossplane's ServiceAccount")
		})
		t.Run("only the first matching entry is used", func(t *testing.T) {
			// Both secrets match the host; Crossplane sends the first
			// (the package's own), never the second.
			checkDiagnosis(t, credentialDump([]string{"sa-right"},
				[]dumpSecret{{name: "pkg-wrong", entries: map[string]string{h: wrong}}, {name: "sa-right", entries: map[string]string{h: right2}}}, nil,
				[]dumpProvider{{name: "provider-first", ref: h + "/legacy/provider:v1.6.0", pullSecrets: []string{"pkg-wrong"}}}),
				map[string]expectation{"provider-first": {used: "crossplane-system/pkg-wrong", findings: []string{"PullSecretRejected", "RegistryUnauthorized", "PullSecretUnreferenced"}}},
				"never tries crossplane-system/sa-right entry "+h)
		})
		t.Run("a secret that is not a docker config", func(t *testing.T) {
			checkDiagnosis(t, credentialDump(nil,
				[]dumpSecret{{name: "broken", raw: `{"auths": {"` + h + `": {"auth": "` + credWrong + `"}}}`}}, nil,
				[]dumpProvider{{name: "provider-broken", ref: h + "/plain/provider:v1.6.0", pullSecrets: []string{"broken"}}}),
				map[string]expectation{"provider-broken": {findings: []string{"PullSecretInvalid"}, cell: "invalid"}},
				"pull secret crossplane-system/broken cannot be read as a docker config")
		})
	})
	t.Run("a registry that lies about a credential that would work", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		// Basic auth for the right password; for the other secret's
		// password it answers 200 with a login page instead of a manifest.
		lies := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, p, ok := r.BasicAuth(); ok && p == credWrong {
					w.Header().Set("Content-Type", "text/html")
					_, _ = io.WriteString(w, "<!doctype html><html><body>Sign in</body></html>")
					return
				}
				next.ServeHTTP(w, r)
			})
		}
		reg := testregistry.InProcess(t, testregistry.BasicAuth(secretUser, credRight), lies)
		h := reg.Host
		push(t, h+"/lying/provider:v1.6.0", &authn.Basic{Username: secretUser, Password: credRight})
		checkDiagnosis(t, credentialDump(nil,
			[]dumpSecret{{name: "own", entries: map[string]string{h: userPassEntry(secretUser, "not-it")}}, {name: "other", entries: map[string]string{h: userPassEntry(secretUser, credWrong)}}}, nil,
			[]dumpProvider{{name: "provider-lied-to", ref: h + "/lying/provider:v1.6.0", pullSecrets: []string{"own"}},
				{name: "provider-other", ref: h + "/lying/provider:v1.6.0", pullSecrets: []string{"other"}}}),
			map[string]expectation{
				// "other" answered 200 with HTML: not a manifest, so not a
				// credential that works.
				"provider-lied-to": {used: "crossplane-system/own", findings: []string{"PullSecretRejected", "RegistryUnauthorized"}},
				"provider-other":   {used: "crossplane-system/other", findings: []string{"ManifestInvalid"}},
			})
	})
	t.Run("token", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		tk := testregistry.Token{User: secretUser, Password: credRight, IdentityToken: credIdentity, RegistryToken: credRegistry, Issued: credIssued}
		reg := testregistry.InProcess(t, tk.Wrap)
		h := reg.Host
		for _, repo := range []string{"id/provider", "rt/provider", "stale/provider"} {
			push(t, h+"/"+repo+":v1.6.0", &authn.Basic{Username: secretUser, Password: credRight})
		}
		checkDiagnosis(t, credentialDump(nil,
			[]dumpSecret{
				{name: "identity", entries: map[string]string{h + "/id": fmt.Sprintf(`{"username": "<token>", "identitytoken": %q}`, credIdentity)}},
				{name: "registry", entries: map[string]string{h + "/rt": fmt.Sprintf(`{"registrytoken": %q}`, credRegistry)}},
				{name: "stale", entries: map[string]string{h + "/stale": fmt.Sprintf(`{"identitytoken": %q}`, credBadIdent)}},
			}, nil,
			[]dumpProvider{{name: "provider-id", ref: h + "/id/provider:v1.6.0", pullSecrets: []string{"identity"}},
				{name: "provider-rt", ref: h + "/rt/provider:v1.6.0", pullSecrets: []string{"registry"}},
				{name: "provider-stale", ref: h + "/stale/provider:v1.6.0", pullSecrets: []string{"stale"}}}),
			map[string]expectation{
				"provider-id":    {used: "crossplane-system/identity"},
				"provider-rt":    {used: "crossplane-system/registry"},
				"provider-stale": {used: "crossplane-system/stale", findings: []string{"PullSecretRejected", "RegistryUnauthorized"}},
			}, "(identity token)")
	})
}

// TestCredentialsFromTheCluster reads the same things from a real
// kube-apiserver, where xpdoctor Gets each named secret as Crossplane
// does: a secret that does not exist is known to be missing (a support
// dump cannot say so), and says so.
func TestCredentialsFromTheCluster(t *testing.T) {
	env := testenv.Start(t, false)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.Process(t, secretUser, credRight)
	h := reg.Host
	for _, repo := range []string{"missing/provider", "nomatch/provider", "ic/provider"} {
		if err := xpkgtest.Push(h+"/"+repo+":v1.6.0", provider.Index(), remote.WithAuth(&authn.Basic{Username: secretUser, Password: credRight})); err != nil {
			t.Fatal(err)
		}
	}
	secret := func(name, registry, entry string) string {
		cfg := fmt.Sprintf(`{"auths": {%q: %s}}`, registry, entry)
		return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: crossplane-system}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: %s}\n",
			name, base64.StdEncoding.EncodeToString([]byte(cfg)))
	}
	docs := []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: crossplane-system}\n",
		`apiVersion: apps/v1
kind: Deployment
metadata: {name: crossplane, namespace: crossplane-system, labels: {app: crossplane}}
spec:
  selector: {matchLabels: {app: crossplane}}
  template:
    metadata: {labels: {app: crossplane}}
    spec:
      serviceAccountName: crossplane
      containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:v2.3.4"}]
`,
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: crossplane, namespace: crossplane-system}\nimagePullSecrets: [{name: sa-gone}]\n",
		secret("other-host", "other.example.com", userPassEntry(secretUser, credRight)),
		secret("ic-creds", h, userPassEntry(secretUser, credRight)),
		fmt.Sprintf("apiVersion: pkg.crossplane.io/v1beta1\nkind: ImageConfig\nmetadata: {name: private}\nspec:\n  matchImages: [{type: Prefix, prefix: %q}]\n  registry: {authentication: {pullSecretRef: {name: ic-creds}}}\n", h+"/ic/"),
		fmt.Sprintf("apiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: provider-missing}\nspec:\n  package: %q\n  packagePullSecrets: [{name: nope}]\n", h+"/missing/provider:v1.6.0"),
		fmt.Sprintf("apiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: provider-nomatch}\nspec:\n  package: %q\n  packagePullSecrets: [{name: other-host}]\n", h+"/nomatch/provider:v1.6.0"),
		fmt.Sprintf("apiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: provider-ic}\nspec:\n  package: %q\n", h+"/ic/provider:v1.6.0"),
	}
	testenv.Create(t, env.Config, strings.Join(docs, "---\n"))
	var all []string
	for _, o := range []string{"json", "table", "wide", "yaml", "markdown"} {
		out, errOut, _ := runB(t, "--kubeconfig", env.Kubeconfig, "--inspect", "all", "-o", o, "-v", "9", "--timeout", "30s")
		all = append(all, out, errOut)
		if o != "json" {
			continue
		}
		var rep diagnoseJSON
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v\n%s\n%s", err, out, errOut)
		}
		got := map[string][]string{}
		root := map[string]string{}
		used := map[string]string{}
		for _, p := range rep.Packages {
			root[p.Name] = p.Finding
			if p.Credentials != nil && p.Credentials.Used != nil {
				used[p.Name] = p.Credentials.Used.Secret
			}
		}
		for _, f := range rep.Findings {
			got[f.Subject.Name] = append(got[f.Subject.Name], f.Code)
		}
		want := map[string]string{
			// nope and the ServiceAccount's sa-gone are both missing.
			"provider-missing": "PullSecretNotFound,PullSecretNotFound,RegistryUnauthorized,PullSecretUnreferenced",
			"provider-nomatch": "PullSecretNoMatch,PullSecretNotFound,RegistryUnauthorized,PullSecretUnreferenced",
			// The ServiceAccount's missing secret is said only where the
			// registry refuses.
			"provider-ic": "",
		}
		for name, w := range want {
			if g := strings.Join(got[name], ","); g != w {
				t.Errorf("%s: findings %s, want %s\n%s", name, g, w, out)
			}
		}
		if root["provider-missing"] != "PullSecretNotFound" || root["provider-nomatch"] != "PullSecretNoMatch" || root["provider-ic"] != "" {
			t.Errorf("root causes %v", root)
		}
		if used["provider-ic"] != "crossplane-system/ic-creds" || used["provider-missing"] != "" {
			t.Errorf("entries sent: %v", used)
		}
	}
	joined := strings.Join(all, "\n")
	for _, s := range append(credForms(), forms()...) {
		if strings.Contains(joined, s) {
			t.Errorf("a credential leaked: %q", s)
		}
	}
	for _, s := range []string{"pull secret crossplane-system/nope, named by spec.packagePullSecrets, does not exist", "crossplane-system/sa-gone (imagePullSecrets of Crossplane's ServiceAccount, not found)"} {
		if !strings.Contains(joined, s) {
			t.Errorf("the runs never showed %q\n%s", s, joined)
		}
	}
}
