package xpkg_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// A read-only client reads as any other, and every write it is asked for
// fails with ErrReadOnly without a request reaching the registry; the same
// calls on a client without the option do write (so the test tests
// something).
func TestReadOnlyClientNeverWrites(t *testing.T) {
	var rq testregistry.Requests
	reg := testregistry.InProcess(t, rq.Wrap)
	ref := reg.Host + "/upbound/provider-nop:v1"
	if err := xpkgtest.Push(ref, xpkgtest.Package{Kind: "Provider", Name: "provider-nop"}.Image(amd64)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	writes := func(c *xpkg.Client) []error {
		repo, _ := name.NewRepository(reg.Host + "/copy/provider-nop")
		dst, _ := name.ParseReference(reg.Host + "/copy/provider-nop:v1")
		blob := []byte("a blob")
		digest := "sha256:" + sha256Hex(blob)
		_, mountErr := c.MountBlob(ctx, repo, "upbound/provider-nop", digest)
		return []error{
			c.PushBlob(ctx, repo, digest, int64(len(blob)), bytes.NewReader(blob)),
			c.PushManifest(ctx, dst, []byte(`{"schemaVersion":2}`), types.OCIManifestSchema1),
			mountErr,
		}
	}
	rq.Reset()
	ro := xpkg.NewClient(xpkg.WithReadOnly())
	r, _ := name.ParseReference(ref)
	if rep := ro.Read(ctx, r, xpkg.ReadOptions{}); rep.Err != nil || rep.Digest == "" {
		t.Fatalf("a read-only client cannot read: %v", rep.Err)
	}
	for i, err := range writes(ro) {
		if !errors.Is(err, xpkg.ErrReadOnly) {
			t.Errorf("write %d: err = %v, want ErrReadOnly", i, err)
		}
	}
	for _, s := range rq.Seen() {
		if m, _, _ := strings.Cut(s, " "); m != http.MethodGet && m != http.MethodHead {
			t.Errorf("the registry received %s from a read-only client", s)
		}
	}
	rq.Reset()
	for i, err := range writes(xpkg.NewClient()) {
		if errors.Is(err, xpkg.ErrReadOnly) {
			t.Errorf("write %d of a read-write client refused: %v", i, err)
		}
	}
	if seen := strings.Join(rq.Seen(), "\n"); !strings.Contains(seen, "PUT /v2/copy/provider-nop/manifests/v1") {
		t.Errorf("the read-write client wrote nothing; the test tests nothing:\n%s", seen)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
