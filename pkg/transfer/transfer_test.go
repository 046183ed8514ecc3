package transfer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

func push(t testing.TB, ref string, obj any) {
	t.Helper()
	if err := xpkgtest.Push(ref, obj); err != nil {
		t.Fatal(err)
	}
}

func reg(src, dst string) transfer.Request {
	return transfer.Request{Source: transfer.Endpoint{Kind: transfer.Registry, Ref: src}, Destination: transfer.Endpoint{Kind: transfer.Registry, Ref: dst}}
}

func copyAll(t testing.TB, eng *transfer.Engine, reqs ...transfer.Request) *transfer.Result {
	t.Helper()
	p, err := eng.Plan(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Execute(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Round trips: one ping per registry whatever the number of repositories,
// one HEAD per blob and repository (the plan), no HEAD before an upload or
// in verification, and the tag pushed once.
func TestRoundTrips(t *testing.T) {
	var srcLog, dstLog testregistry.Requests
	src := testregistry.InProcess(t, srcLog.Wrap)
	dst := testregistry.InProcess(t, dstLog.Wrap)
	var reqs []transfer.Request
	for i := 0; i < 3; i++ {
		p := xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-%d", i), Runtime: []v1.Layer{xpkgtest.RandomLayer(uint64(i), 4096)}}
		ref := fmt.Sprintf("%s/upbound/provider-%d:v1", src.Host, i)
		push(t, ref, p.Index())
		reqs = append(reqs, reg(ref, fmt.Sprintf("%s/mirror/provider-%d:v1", dst.Host, i)))
	}
	srcLog.Reset()
	dstLog.Reset()
	eng := transfer.New(xpkg.NewClient(), transfer.Options{})
	defer eng.Close()
	res := copyAll(t, eng, reqs...)
	tot := res.Totals()
	if tot.BlobsCopied == 0 || res.Count(transfer.TagCreated) != 3 {
		t.Fatalf("result %+v", tot)
	}
	if n := srcLog.Count("GET", "/v2/") - srcLog.Count("GET", "/v2/upbound"); n != 1 {
		t.Errorf("%d pings to the source, want 1", n)
	}
	if n := dstLog.Count("GET", "/v2/") - dstLog.Count("GET", "/v2/mirror"); n != 1 {
		t.Errorf("%d pings to the destination, want 1", n)
	}
	if n, want := dstLog.Count("HEAD", "/blobs/"), tot.BlobsCopied+tot.BlobsPresent+tot.BlobsMounted; n != want {
		t.Errorf("%d blob HEADs for %d blobs: one per blob is enough", n, want)
	}
	if n := dstLog.Count("PUT", "/manifests/v1"); n != 3 {
		t.Errorf("%d tag pushes, want 3", n)
	}
	// A repeat copy reads the two top manifests and nothing else.
	srcLog.Reset()
	dstLog.Reset()
	res = copyAll(t, eng, reqs...)
	if res.Count(transfer.TagUnchanged) != 3 || dstLog.Count("HEAD", "") != 0 || dstLog.Count("PUT", "") != 0 || dstLog.Count("POST", "") != 0 {
		t.Errorf("repeat copy: %+v, destination requests %v", res.Totals(), dstLog.Seen())
	}
	if n := srcLog.Count("GET", "/manifests/sha256:"); n != 0 {
		t.Errorf("a repeat copy read %d child manifests", n)
	}
}

// A family sharing a runtime layer, mirrored into one registry at once: the
// shared blob is uploaded once and mounted into the other repositories
// (distribution supports mounts); a registry that answers a mount with 202
// (go-containerregistry's in-process one) gets a normal upload.
func TestFamilyMountsSharedBlobs(t *testing.T) {
	for _, dst := range testregistry.All(t) {
		t.Run(dst.Name, func(t *testing.T) {
			src := testregistry.InProcess(t)
			shared := xpkgtest.RandomLayer(42, 1<<20)
			var reqs []transfer.Request
			for i := 0; i < 4; i++ {
				p := xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-aws-m%d", i), Runtime: []v1.Layer{shared}}
				ref := fmt.Sprintf("%s/upbound/provider-aws-m%d:v1", src.Host, i)
				push(t, ref, p.Image(amd64))
				reqs = append(reqs, reg(ref, fmt.Sprintf("%s/upbound/provider-aws-m%d:v1", dst.Host, i)))
			}
			eng := transfer.New(xpkg.NewClient(), transfer.Options{})
			defer eng.Close()
			tot := copyAll(t, eng, reqs...).Totals()
			want := map[string]int{"in-process": 0, "docker-registry": 3}[dst.Name]
			if tot.BlobsMounted != want || tot.BlobsCopied+tot.BlobsMounted != 12 {
				t.Fatalf("mounted %d (want %d), copied %d", tot.BlobsMounted, want, tot.BlobsCopied)
			}
			if dst.Name == "docker-registry" && tot.BytesCopied >= 2<<20 {
				t.Fatalf("the shared layer was uploaded more than once: %d bytes", tot.BytesCopied)
			}
		})
	}
}

// A mount only saves an upload: a destination that fails every mount (500)
// still gets every blob, uploaded, as crane does (go-containerregistry#1404).
func TestFailedMountFallsBackToUpload(t *testing.T) {
	var mounts atomic.Int64
	failMounts := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
				mounts.Add(1)
				http.Error(w, "mount broken", http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	src := testregistry.InProcess(t)
	dst := testregistry.InProcess(t, failMounts)
	shared := xpkgtest.RandomLayer(7, 64<<10)
	var reqs []transfer.Request
	for i := 0; i < 3; i++ {
		p := xpkgtest.Package{Kind: "Provider", Name: fmt.Sprintf("provider-m%d", i), Runtime: []v1.Layer{shared}}
		ref := fmt.Sprintf("%s/upbound/provider-m%d:v1", src.Host, i)
		push(t, ref, p.Image(amd64))
		reqs = append(reqs, reg(ref, fmt.Sprintf("%s/upbound/provider-m%d:v1", dst.Host, i)))
	}
	eng := transfer.New(xpkg.NewClient(), transfer.Options{})
	defer eng.Close()
	res := copyAll(t, eng, reqs...)
	if mounts.Load() == 0 {
		t.Fatal("no mount was attempted: the test proves nothing")
	}
	if tot := res.Totals(); tot.BlobsMounted != 0 || res.Count(transfer.TagCreated) != 3 {
		t.Fatalf("result %+v", tot)
	}
	// A fresh plan of the same copies finds everything there.
	again := copyAll(t, transfer.New(xpkg.NewClient(), transfer.Options{}), reqs...)
	if again.Count(transfer.TagUnchanged) != 3 {
		t.Fatalf("after the fallback uploads, a repeat copy is not up to date: %+v", again.Totals())
	}
}

// wrongOnGet serves flipped bytes for full blob reads, but answers ranged
// reads and HEADs truthfully: only re-hashing finds it out.
var wrongOnGet = testregistry.FlipBlobBytes(func(r *http.Request) bool { return r.Header.Get("Range") == "" })

// --verify=full re-reads and hashes every blob; the default checks presence
// and size. Each says what it did.
func TestVerifyFull(t *testing.T) {
	src := testregistry.InProcess(t)
	dst := testregistry.InProcess(t, wrongOnGet)
	ref := src.Host + "/upbound/p:v1"
	push(t, ref, xpkgtest.Package{Name: "p"}.Image(amd64))
	eng := transfer.New(xpkg.NewClient(), transfer.Options{})
	defer eng.Close()
	res := copyAll(t, eng, reg(ref, dst.Host+"/mirror/p:v1"))
	if !strings.Contains(res.Items[0].Verified, "presence and size") {
		t.Fatalf("verified: %q", res.Items[0].Verified)
	}
	full := transfer.New(xpkg.NewClient(), transfer.Options{Verify: transfer.VerifyFull})
	defer full.Close()
	p, err := full.Plan(context.Background(), []transfer.Request{reg(ref, dst.Host+"/mirror/p:v1")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = full.Execute(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "serves wrong bytes for a blob: expected sha256:") {
		t.Fatalf("err = %v", err)
	}
	p, _ = full.Plan(context.Background(), []transfer.Request{reg(ref, dst.Host+"/mirror/q:v1")})
	if _, err := full.Execute(context.Background(), p); err == nil {
		t.Fatal("a destination serving wrong bytes passed --verify=full")
	}
	c := xpkg.NewClient()
	if r, _ := c.ParseReference(dst.Host + "/mirror/q:v1"); r != nil {
		if _, err := c.GetManifest(context.Background(), r); err == nil {
			t.Fatal("the tag was set although full verification failed")
		}
	}
}

// At 20% injected faults (500, 503, 429 + Retry-After, connection resets)
// on both registries, 20 copies all finish with identical digests.
func TestCopyUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out Retry-After")
	}
	clean := testregistry.InProcess(t)
	p := xpkgtest.Package{Kind: "Provider", Name: "provider-faults", Objects: 3}
	p.Runtime = append(p.Runtime, xpkgtest.RandomLayer(3, 256<<10))
	push(t, clean.Host+"/upstream/provider-faults:v1", p.Index())
	srcFaults, dstFaults := testregistry.NewFaults(0.2, 1), testregistry.NewFaults(0.2, 2)
	src := testregistry.InProcess(t, srcFaults.Wrap)
	srcFaults.Pause(true)
	push(t, src.Host+"/upstream/provider-faults:v1", p.Index())
	srcFaults.Pause(false)
	dst := testregistry.InProcess(t, dstFaults.Wrap)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var reqs []transfer.Request
	for i := 0; i < 20; i++ {
		reqs = append(reqs, reg(src.Host+"/upstream/provider-faults:v1", fmt.Sprintf("%s/mirror%02d/provider-faults:v1", dst.Host, i)))
	}
	eng := transfer.New(xpkg.NewClient(), transfer.Options{})
	defer eng.Close()
	plan, err := eng.Plan(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		if it.Digest != res.Items[0].Digest || it.Tag != transfer.TagCreated {
			t.Fatalf("%+v", it)
		}
	}
	if err := eng.Verify(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if srcFaults.Injected.Load() == 0 || dstFaults.Injected.Load() == 0 {
		t.Fatalf("no faults were injected (%d, %d): the test proves nothing", srcFaults.Injected.Load(), dstFaults.Injected.Load())
	}
	t.Logf("faults injected: source %d, destination %d", srcFaults.Injected.Load(), dstFaults.Injected.Load())
}

// A registry that does not create repositories on push (ECR) gets the
// command that creates it.
func TestMissingRepositoryAdvice(t *testing.T) {
	dst := testregistry.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"errors":[{"code":"NAME_UNKNOWN","message":"The repository with name 'mirror/p' does not exist in the registry with id '123456789012'"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	src := testregistry.InProcess(t)
	push(t, src.Host+"/up/p:v1", xpkgtest.Package{Name: "p"}.Image(amd64))
	eng := transfer.New(xpkg.NewClient(), transfer.Options{})
	defer eng.Close()
	p, err := eng.Plan(context.Background(), []transfer.Request{reg(src.Host+"/up/p:v1", dst.Host+"/mirror/p:v1")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.Execute(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "repository mirror/p does not exist") {
		t.Fatalf("err = %v", err)
	}
}
