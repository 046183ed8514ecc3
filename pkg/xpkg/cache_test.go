package xpkg_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

func dockerConfig(host, user, pass string) []byte {
	return []byte(fmt.Sprintf(`{"auths":{%q:{"username":%q,"password":%q}}}`, host, user, pass))
}

// Two clients of one run (two clusters' pull secrets) share a ReadCache:
// the second client's read of the same image, with the same credentials,
// and reads asked for at the same time, send nothing more; a client whose
// credentials differ reads for itself and gets its own answer, never the
// one the other credentials earned.
func TestReadCacheSharesReadsPerCredentials(t *testing.T) {
	var rq testregistry.Requests
	reg := testregistry.InProcess(t, testregistry.BasicAuth("alice", "right"), rq.Wrap)
	ref := reg.Host + "/upbound/provider-shared:v1"
	p := xpkgtest.Package{Kind: "Provider", Name: "provider-shared"}
	if err := xpkgtest.Push(ref, p.Index(amd64, arm64), remote.WithAuth(&authn.Basic{Username: "alice", Password: "right"})); err != nil {
		t.Fatal(err)
	}
	rq.Reset()
	cache := xpkg.NewReadCache(4)
	newClient := func(pass string) *xpkg.Client {
		kr, err := xpkg.NewKeyring([]xpkg.PullSecret{{Namespace: "crossplane-system", Name: "creds", Type: xpkg.SecretTypeDockerConfigJSON,
			Data: map[string][]byte{xpkg.DockerConfigJSONKey: dockerConfig(reg.Host, "alice", pass)}}})
		if err != nil {
			t.Fatal(err)
		}
		return xpkg.NewClient(xpkg.WithReadCache(cache), xpkg.WithKeychain(kr))
	}
	first, second, wrong := newClient("right"), newClient("right"), newClient("wrong")
	parsed, err := first.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	reports := make([]*xpkg.Report, 6)
	for i := range reports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := first
			if i%2 == 1 {
				c = second
			}
			reports[i] = c.Read(context.Background(), parsed, xpkg.ReadOptions{})
		}()
	}
	wg.Wait()
	for i, r := range reports {
		if r.Err != nil || r.SelectedImage() == nil || r.SelectedImage().Package == nil {
			t.Fatalf("read %d: %+v", i, r)
		}
		if r != reports[0] {
			t.Errorf("read %d is a read of its own, not the shared one", i)
		}
	}
	if n := rq.Count("GET", "/manifests/v1"); n != 1 {
		t.Errorf("six reads with the same credentials sent %d GETs of the tag, want 1: %v", n, rq.Seen())
	}
	shared := len(rq.Seen())
	w := wrong.Read(context.Background(), parsed, xpkg.ReadOptions{})
	if w.Err == nil || w.Err.Kind != xpkg.ErrUnauthorized {
		t.Fatalf("a client with the wrong password got %+v, want its own 401, not the cached read", w.Err)
	}
	if len(rq.Seen()) == shared {
		t.Error("the client with other credentials sent nothing: it was answered from the other credentials' read")
	}
}

// go-containerregistry pings https and http at once for a registry it may
// reach over HTTP (loopback); a plain-HTTP registry's answer to the https
// ping is kept for the run like the http one, so that reading many
// repositories costs one https attempt, not one per repository.
func TestPlainHTTPRegistryIsAskedForTLSOnce(t *testing.T) {
	reg := testregistry.InProcess(t)
	var refs []string
	for i := 0; i < 6; i++ {
		ref := fmt.Sprintf("%s/upbound/provider-%d:v1", reg.Host, i)
		push(t, ref, xpkgtest.Package{Kind: "Provider", Name: "provider"}.Image(amd64))
		refs = append(refs, ref)
	}
	var mu sync.Mutex
	var https, reads int
	c := xpkg.NewClient(xpkg.WithLogger(func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(line, " https://") {
			https++
		}
		reads++
	}))
	var wg sync.WaitGroup
	for _, ref := range refs {
		r, err := c.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rep := c.Read(context.Background(), r, xpkg.ReadOptions{}); rep.Err != nil {
				t.Error(rep.Err)
			}
		}()
	}
	wg.Wait()
	if https != 1 {
		t.Errorf("%d https attempts of %d requests for 6 repositories of a plain-HTTP registry, want 1", https, reads)
	}
}

// fix and mirror push to a repository and then judge it again with the
// same client: the read made before the push is not served after it.
func TestPushedManifestIsReadAgain(t *testing.T) {
	reg := testregistry.InProcess(t)
	ref := reg.Host + "/mirror/provider:v1"
	push(t, ref, xpkgtest.Package{Kind: "Provider", Name: "provider-old"}.Image(amd64))
	c := xpkg.NewClient()
	parsed, err := c.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	before := c.Read(context.Background(), parsed, xpkg.ReadOptions{})
	if before.Err != nil {
		t.Fatal(before.Err)
	}
	img := xpkgtest.Package{Kind: "Provider", Name: "provider-new"}.Image(amd64)
	if err := xpkgtest.PushBlobs(parsed.Context(), img); err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := img.MediaType()
	if err := c.PushManifest(context.Background(), parsed, raw, mt); err != nil {
		t.Fatal(err)
	}
	after := c.Read(context.Background(), parsed, xpkg.ReadOptions{})
	if after.Err != nil || after.Digest == before.Digest || after.SelectedImage().Package.Meta.Name != "provider-new" {
		t.Fatalf("after the push the read says %s (%v), before it %s", after.Digest, after.Err, before.Digest)
	}
}
