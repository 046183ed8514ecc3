package cmd

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// The credentials of TestSecretsStaySecret: each must never be printed,
// in any form, by any command, at any verbosity, in any format.
const (
	secretUser         = "robot"
	secretPassword     = "xpd-PASSWORD-7c1f0e"
	secretIssued       = "xpd-ISSUED-TOKEN-5b2a91"
	secretIdentity     = "xpd-IDENTITY-TOKEN-3e8d44"
	secretRegistryTok  = "xpd-REGISTRY-TOKEN-9f0c12"
	secretSignature    = "xpd-SIGNATURE-a1b2c3d4e5"
	secretAccessKey    = "AKIAXPDOCTORTESTKEY"
	secretSessionToken = "xpd-SESSION-TOKEN-77aa01"
	secretURLPassword  = "xpd-URL-PASSWORD-0b9e"
	secretPullPassword = "xpd-PULL-SECRET-4d21c0"
	secretOtherPull    = "xpd-UNUSED-PULL-SECRET-88f3"
	secretKubeToken    = "xpd-KUBE-TOKEN-6a5b4c"
	secretKubePassword = "xpd-KUBE-PASSWORD-31d7"
)

// forms are the ways a credential shows up: as is, and base64-encoded
// with its user as in a Basic Authorization header or a docker config.
func forms() []string {
	out := []string{secretPassword, secretIssued, secretIdentity, secretRegistryTok, secretSignature, secretAccessKey,
		secretSessionToken, secretURLPassword, secretPullPassword, secretOtherPull, secretKubeToken, secretKubePassword}
	for _, p := range []string{secretPassword, secretPullPassword, secretOtherPull, secretURLPassword} {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(secretUser+":"+p)), base64.StdEncoding.EncodeToString([]byte("s3user:"+p)))
	}
	return out
}

// dockerConfig writes a docker config.json with one auths entry and points
// DOCKER_CONFIG at it.
func dockerConfig(t *testing.T, host string, entry map[string]string) {
	t.Helper()
	var fields []string
	for k, v := range entry {
		fields = append(fields, fmt.Sprintf("%q:%q", k, v))
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{"auths":{%q:{%s}}}`, host, strings.Join(fields, ","))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// secretDump is a support dump whose Provider pulls ref with the pull
// secret creds (user:password for host), next to a pull secret for a
// registry never contacted.
func secretDump(host, ref, password string) string {
	cfg := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, basicAuth(secretUser, password))))
	other := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"auths":{"other.example":{"username":%q,"password":%q}}}`, secretUser, secretOtherPull)))
	return fmt.Sprintf(`apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: crossplane, namespace: crossplane-system}
  spec:
    template:
      spec:
        containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:v2.3.4"}]
- apiVersion: v1
  kind: Secret
  metadata: {name: creds, namespace: crossplane-system}
  type: kubernetes.io/dockerconfigjson
  data: {.dockerconfigjson: %s}
- apiVersion: v1
  kind: Secret
  metadata: {name: unused, namespace: crossplane-system}
  type: kubernetes.io/dockerconfigjson
  data: {.dockerconfigjson: %s}
- apiVersion: pkg.crossplane.io/v1
  kind: Provider
  metadata: {name: provider-private}
  spec:
    package: %s
    packagePullSecrets: [{name: creds}, {name: unused}]
  status:
    conditions:
    - {type: Healthy, status: "False", reason: UnhealthyPackageRevision, message: "cannot unpack package: failed to fetch package digest from %s"}
`, cfg, other, ref, ref)
}

// Credentials never appear in output or in files xpdoctor writes, whether
// the registry accepts them, refuses them, echoes them in its errors or
// redirects to signed storage URLs that fail: for every credential form
// (basic auth, user:password in URLs, tokens from a token endpoint,
// identity tokens, registry tokens, signed URL queries, pull secrets,
// kubeconfig credentials), at -v 9, through inspect, diagnose and mirror
// in every output format.
func TestSecretsStaySecret(t *testing.T) {
	provider := provider
	type scenario struct {
		name string
		// setup starts the registry, pushes the package and sets the
		// docker config; it returns the reference and what the runs must
		// show, so the test checks something.
		setup func(t *testing.T) (ref string, mustSee []string)
		// password is what the dump's pull secret holds for the registry.
		password string
	}
	push := func(t *testing.T, ref string, auth authn.Authenticator) {
		t.Helper()
		if err := xpkgtest.Push(ref, provider.Index(), remote.WithAuth(auth)); err != nil {
			t.Fatal(err)
		}
	}
	token := testregistry.Token{User: secretUser, Password: secretPassword, IdentityToken: secretIdentity, RegistryToken: secretRegistryTok, Issued: secretIssued}
	// A closed port: the signed storage URL the registry redirects to fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	signedQuery := "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + secretAccessKey + "%2F20261127%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=" + secretSessionToken +
		"&X-Amz-Signature=" + secretSignature + "&token=" + secretIssued
	// S3 answering SignatureDoesNotMatch quotes the signature and key id it got.
	s3 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>%s</AWSAccessKeyId><SignatureProvided>%s</SignatureProvided><Authorization>%s</Authorization></Error>",
			r.URL.Query().Get("X-Amz-Credential"), r.URL.Query().Get("X-Amz-Signature"), r.Header.Get("Authorization"))
	}))
	t.Cleanup(s3.Close)
	scenarios := []scenario{
		{name: "basic auth accepted", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.InProcess(t, testregistry.BasicAuth(secretUser, secretPassword))
			ref := reg.Host + "/upbound/provider-nop:v1.6.0"
			push(t, ref, &authn.Basic{Username: secretUser, Password: secretPassword})
			dockerConfig(t, reg.Host, map[string]string{"auth": basicAuth(secretUser, secretPassword)})
			return ref, []string{"BaseLayer", "registry: GET http://" + reg.Host + "/v2/"}
		}},
		{name: "basic auth refused", password: secretPassword + "-wrong", setup: func(t *testing.T) (string, []string) {
			reg := testregistry.InProcess(t, testregistry.BasicAuth(secretUser, secretPassword+"-right"))
			dockerConfig(t, reg.Host, map[string]string{"username": secretUser, "password": secretPassword})
			return reg.Host + "/upbound/provider-nop:v1.6.0", []string{"RegistryUnauthorized"}
		}},
		{name: "docker-registry htpasswd", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.Process(t, secretUser, secretPassword)
			ref := reg.Host + "/upbound/provider-nop:v1.6.0"
			push(t, ref, &authn.Basic{Username: secretUser, Password: secretPassword})
			dockerConfig(t, reg.Host, map[string]string{"auth": basicAuth(secretUser, secretPassword)})
			return ref, []string{"BaseLayer"}
		}},
		{name: "docker-registry htpasswd refused", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.Process(t, secretUser, secretPassword+"-right")
			dockerConfig(t, reg.Host, map[string]string{"auth": basicAuth(secretUser, secretPassword)})
			return reg.Host + "/upbound/provider-nop:v1.6.0", []string{"RegistryUnauthorized"}
		}},
		{name: "token flow", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.InProcess(t, token.Wrap)
			ref := reg.Host + "/upbound/provider-nop:v1.6.0"
			push(t, ref, &authn.Basic{Username: secretUser, Password: secretPassword})
			dockerConfig(t, reg.Host, map[string]string{"auth": basicAuth(secretUser, secretPassword)})
			return ref, []string{"BaseLayer", "registry: GET http://" + reg.Host + "/token "}
		}},
		{name: "identity token", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.InProcess(t, token.Wrap)
			ref := reg.Host + "/upbound/provider-nop:v1.6.0"
			push(t, ref, &authn.Basic{Username: secretUser, Password: secretPassword})
			dockerConfig(t, reg.Host, map[string]string{"username": "<token>", "identitytoken": secretIdentity})
			return ref, []string{"BaseLayer", "registry: POST http://" + reg.Host + "/token"}
		}},
		{name: "registry token", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.InProcess(t, token.Wrap)
			ref := reg.Host + "/upbound/provider-nop:v1.6.0"
			push(t, ref, &authn.Basic{Username: secretUser, Password: secretPassword})
			dockerConfig(t, reg.Host, map[string]string{"registrytoken": secretRegistryTok})
			return ref, []string{"BaseLayer"}
		}},
		{name: "registry echoes the bearer token", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.InProcess(t, testregistry.EchoCredentials, token.Wrap)
			dockerConfig(t, reg.Host, map[string]string{"auth": basicAuth(secretUser, secretPassword)})
			return reg.Host + "/upbound/provider-nop:v1.6.0", []string{"DENIED", "<redacted>"}
		}},
		{name: "registry echoes basic credentials", password: secretPullPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.InProcess(t, testregistry.EchoCredentials, testregistry.BasicAuth(secretUser, secretPullPassword))
			dockerConfig(t, reg.Host, map[string]string{"auth": basicAuth(secretUser, secretPullPassword)})
			return reg.Host + "/upbound/provider-nop:v1.6.0", []string{"DENIED", "<redacted>"}
		}},
		{name: "blob redirect to a signed URL that fails", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			reg := testregistry.InProcess(t, testregistry.SignedRedirect("http://"+closed+"/bucket/docker/registry/v2/blobs/data?"+signedQuery))
			ref := reg.Host + "/upbound/provider-nop:v1.6.0"
			push(t, ref, authn.Anonymous)
			return ref, []string{"/bucket/docker/registry/v2/blobs/data?<redacted>", "connection refused"}
		}},
		{name: "signed URL with userinfo answered by an echoing S3", password: secretPassword, setup: func(t *testing.T) (string, []string) {
			u := strings.Replace(s3.URL, "http://", "http://s3user:"+secretURLPassword+"@", 1)
			reg := testregistry.InProcess(t, testregistry.SignedRedirect(u+"/bucket/blob?"+signedQuery))
			ref := reg.Host + "/upbound/provider-nop:v1.6.0"
			push(t, ref, authn.Anonymous)
			return ref, []string{"SignatureDoesNotMatch"}
		}},
	}
	var outputs []string
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Setenv("DOCKER_CONFIG", t.TempDir())
			ref, mustSee := sc.setup(t)
			host, _, _ := strings.Cut(ref, "/")
			work := t.TempDir()
			dump := filepath.Join(work, "dump.yaml")
			if err := os.WriteFile(dump, []byte(secretDump(host, ref, sc.password)), 0o600); err != nil {
				t.Fatal(err)
			}
			var runs [][]string
			for _, o := range []string{"table", "wide", "json", "yaml"} {
				runs = append(runs, []string{"inspect", ref, "-o", o})
			}
			for _, o := range []string{"table", "wide", "json", "yaml", "markdown"} {
				runs = append(runs, []string{"diagnose", "--from-file", dump, "--inspect", "all", "-o", o})
			}
			runs = append(runs,
				[]string{"mirror", ref, host + "/mirror/provider-nop:v1.6.0"},
				[]string{"mirror", ref, host + "/mirror/provider-nop:v1.6.0", "--yes"},
				[]string{"mirror", ref, "oci:" + filepath.Join(work, "layout"), "--yes"},
				[]string{"mirror", "--closure", ref, host + "/closure", "--yes", "--emit-imageconfig"},
				[]string{"fix", "--from-file", dump, "--upstream-registry", host + "/upbound=" + host + "/upbound"},
			)
			var got []string
			for _, args := range runs {
				out, errOut, _ := runB(t, append(args, "-v", "9", "--timeout", "20s")...)
				got = append(got, out, errOut)
			}
			_ = filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() && p != dump {
					b, _ := os.ReadFile(p)
					got = append(got, string(b))
				}
				return nil
			})
			joined := strings.Join(got, "\n")
			for _, secret := range forms() {
				if i := strings.Index(joined, secret); i >= 0 {
					t.Errorf("a credential leaked: %q in ...%s...", secret, joined[max(0, i-200):min(len(joined), i+100)])
				}
			}
			for _, want := range mustSee {
				if !strings.Contains(joined, want) {
					t.Errorf("the runs never showed %q: the scenario tests nothing\n%s", want, joined)
				}
			}
			outputs = append(outputs, joined)
		})
	}
	// The cluster's own credentials: a kubeconfig whose server URL carries
	// a password, and a bearer token, with an API server that fails.
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://admin:" + secretKubePassword + "@127.0.0.1:1\"}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: " + secretKubeToken + "}\n"
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"table", "json"} {
		out, errOut, code := run(t, "--kubeconfig", kc, "-o", o, "-v", "9", "--timeout", "10s")
		if code != ExitError || !strings.Contains(errOut, "cannot read the cluster") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, secret := range forms() {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("a kubeconfig credential leaked: %q in %s", secret, errOut)
			}
		}
	}
}
