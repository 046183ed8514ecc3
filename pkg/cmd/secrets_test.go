package cmd

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// Credentials never appear in output or in files xpdoctor writes, whether
// the registry accepts them or refuses them.
func TestSecretsStaySecret(t *testing.T) {
	const user, token = "robot", "xpd-HYGIENE-TOKEN-42"
	reg := testregistry.InProcess(t, testregistry.BasicAuth(user, token))
	src := reg.Host + "/upbound/provider-nop:v1.6.0"
	if err := xpkgtest.Push(src, provider.Index(), remote.WithAuth(&authn.Basic{Username: user, Password: token})); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + token))
	wrong := base64.StdEncoding.EncodeToString([]byte(user + ":" + token + "-wrong"))
	work := t.TempDir()
	layout := filepath.Join(work, "layout")
	var outputs []string
	for _, cfgAuth := range []string{auth, wrong} {
		dockerDir := t.TempDir()
		cfg := `{"auths":{"` + reg.Host + `":{"auth":"` + cfgAuth + `"}}}`
		if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dockerDir)
		for _, args := range [][]string{
			{"inspect", src, "-o", "wide"},
			{"inspect", src, "-o", "json"},
			{"mirror", src, reg.Host + "/mirror/provider-nop:v1.6.0"},
			{"mirror", src, reg.Host + "/mirror/provider-nop:v1.6.0", "--yes"},
			{"mirror", src, "oci:" + layout, "--yes"},
			{"mirror", "--closure", src, reg.Host + "/closure", "--yes", "--emit-imageconfig"},
		} {
			out, errOut, _ := runB(t, append(args, "-v", "9")...)
			outputs = append(outputs, out, errOut)
		}
	}
	_ = filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			outputs = append(outputs, string(b))
		}
		return nil
	})
	joined := strings.Join(outputs, "\n")
	for _, secret := range []string{token, auth, wrong} {
		if strings.Contains(joined, secret) {
			t.Fatalf("a credential leaked: %q", secret)
		}
	}
	if !strings.Contains(joined, "registry: GET http://"+reg.Host+"/v2/") {
		t.Fatal("-v 9 logged no registry requests: the test checks nothing")
	}
	if !strings.Contains(joined, "RegistryUnauthorized") || !strings.Contains(joined, "BaseLayer") {
		t.Fatal("the runs did not exercise both accepted and refused credentials")
	}
}
