package xpkg_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// At 20% injected faults (500, 503, 429 + Retry-After, connection resets)
// on both registries, 20 copies all finish with identical digests.
func TestCopyUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out Retry-After")
	}
	clean := testregistry.InProcess(t)
	p := xpkgtest.Package{Kind: "Provider", Name: "provider-faults", Objects: 3}
	p.Runtime = append(p.Runtime, xpkgtest.RandomLayer(3, 256<<10))
	srcRef := clean.Host + "/upstream/provider-faults:v1"
	push(t, srcRef, p.Index())

	srcFaults, dstFaults := testregistry.NewFaults(0.2, 1), testregistry.NewFaults(0.2, 2)
	// The faulty source serves the same content: it fronts a copy.
	src := testregistry.InProcess(t, srcFaults.Wrap)
	srcFaults.Pause(true)
	push(t, src.Host+"/upstream/provider-faults:v1", p.Index())
	srcFaults.Pause(false)
	dst := testregistry.InProcess(t, dstFaults.Wrap)

	c := xpkg.NewClient()
	want := read(t, srcRef, xpkg.ReadOptions{Shallow: true}).Digest
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Five copies at a time, as a mirroring job would run them.
	errs := make(chan error, 20)
	sem := make(chan struct{}, 5)
	for i := 0; i < 20; i++ {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			s, _ := c.ParseReference(src.Host + "/upstream/provider-faults:v1")
			d, _ := c.ParseReference(fmt.Sprintf("%s/mirror%02d/provider-faults:v1", dst.Host, i))
			plan, err := c.PlanCopy(ctx, s, d, false)
			if err == nil {
				_, err = c.Copy(ctx, plan, 4)
			}
			if err == nil {
				err = c.Verify(ctx, plan)
			}
			if err == nil && plan.Digest != want {
				err = fmt.Errorf("digest %s, want %s", plan.Digest, want)
			}
			if err != nil {
				err = fmt.Errorf("copy %d: %w", i, err)
			}
			errs <- err
		}()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if srcFaults.Injected.Load() == 0 || dstFaults.Injected.Load() == 0 {
		t.Fatalf("no faults were injected (%d, %d): the test proves nothing", srcFaults.Injected.Load(), dstFaults.Injected.Load())
	}
	t.Logf("faults injected: source %d, destination %d", srcFaults.Injected.Load(), dstFaults.Injected.Load())
}

func TestMissingRepositoryAdvice(t *testing.T) {
	reg := testregistry.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"The repository with name 'mirror/p' does not exist in the registry with id '123456789012'"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	src := testregistry.InProcess(t)
	push(t, src.Host+"/up/p:v1", xpkgtest.Package{Name: "p"}.Image(amd64))
	c := xpkg.NewClient()
	s, _ := c.ParseReference(src.Host + "/up/p:v1")
	d, _ := c.ParseReference(reg.Host + "/mirror/p:v1")
	plan, err := c.PlanCopy(context.Background(), s, d, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Copy(context.Background(), plan, 2)
	if err == nil || !strings.Contains(err.Error(), "repository mirror/p does not exist") {
		t.Fatalf("err = %v", err)
	}
	ecr, _ := name.NewRepository("123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound/provider-aws-s3")
	msg, ok := xpkg.MissingRepository(ecr, &transport.Error{StatusCode: 404, Errors: []transport.Diagnostic{{Code: transport.NameUnknownErrorCode}}})
	if !ok || !strings.Contains(msg, "aws ecr create-repository --repository-name upbound/provider-aws-s3 --region us-east-1 --registry-id 123456789012") {
		t.Fatalf("%q", msg)
	}
}

// A family of packages sharing a runtime layer, mirrored into one registry:
// the shared blob is uploaded once and mounted into the other repositories
// (distribution supports mounts); a registry that answers a mount with 202
// (go-containerregistry's in-process one) gets a normal upload.
func TestFamilyMirrorMountsSharedBlobs(t *testing.T) {
	for _, dst := range testregistry.All(t) {
		t.Run(dst.Name, func(t *testing.T) {
			familyMirror(t, dst, map[string]int{"in-process": 0, "docker-registry": 2}[dst.Name])
		})
	}
}

func familyMirror(t *testing.T, dst testregistry.Registry, wantMounted int) {
	src := testregistry.InProcess(t)
	shared := xpkgtest.RandomLayer(42, 1<<20)
	c := xpkg.NewClient()
	var mounted, copied int
	for i := 0; i < 3; i++ {
		p := xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-aws-m%d", i), Runtime: []v1.Layer{shared}}
		ref := fmt.Sprintf("%s/upbound/provider-aws-m%d:v1", src.Host, i)
		push(t, ref, p.Image(amd64))
		s, _ := c.ParseReference(ref)
		d, _ := c.ParseReference(fmt.Sprintf("%s/upbound/provider-aws-m%d:v1", dst.Host, i))
		plan, err := c.PlanCopy(context.Background(), s, d, false)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Copy(context.Background(), plan, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Verify(context.Background(), plan); err != nil {
			t.Fatal(err)
		}
		mounted += res.BlobsMounted
		copied += res.BlobsCopied
	}
	if mounted != wantMounted {
		t.Fatalf("mounted %d blobs, want %d (copied %d)", mounted, wantMounted, copied)
	}
}
