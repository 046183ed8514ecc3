package cmd

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// A mirror killed midway never leaves a tag pointing at missing content,
// and a rerun finishes the job.
func TestMirrorSurvivesKill(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kubectl-xpdoctor")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/kubectl-xpdoctor").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	src := testregistry.InProcess(t)
	p := xpkgtest.Package{Kind: "Provider", Name: "provider-kill", Objects: 2}
	for i := 0; i < 6; i++ {
		p.Runtime = append(p.Runtime, xpkgtest.RandomLayer(uint64(10+i), 1<<20)) // large: -j 1 streams one at a time
	}
	srcRef := src.Host + "/upbound/provider-kill:v1"
	if err := xpkgtest.Push(srcRef, p.Index()); err != nil {
		t.Fatal(err)
	}
	// The destination is slow to accept blobs, so the kill lands mid-copy.
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != http.MethodPost {
				time.Sleep(150 * time.Millisecond)
			}
			next.ServeHTTP(w, r)
		})
	}
	dst := testregistry.InProcess(t, slow)
	dstRef := dst.Host + "/mirror/provider-kill:v1"

	// Watch the tag the whole time: whenever it exists, its graph must be complete.
	var violations, sawTag atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	c := xpkg.NewClient()
	go func() {
		defer close(done)
		eng := transfer.New(c, transfer.Options{Force: true})
		req := []transfer.Request{{Source: transfer.Endpoint{Kind: transfer.Registry, Ref: srcRef}, Destination: transfer.Endpoint{Kind: transfer.Registry, Ref: dstRef}}}
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			plan, err := eng.Plan(context.Background(), req)
			if err != nil || plan.Items[0].CurrentDigest == "" {
				continue
			}
			sawTag.Add(1)
			if err := eng.Verify(context.Background(), plan); err != nil {
				violations.Add(1)
				t.Errorf("tag visible with missing content: %v", err)
			}
		}
	}()

	env := append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	cmd := exec.Command(bin, "mirror", srcRef, dstRef, "--yes", "-j", "1")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if d, _ := manifestDigestOrEmpty(c, dstRef); d != "" {
		t.Fatalf("the kill came too late to test anything: the tag already exists (%s)", d)
	}

	rerun := exec.Command(bin, "mirror", srcRef, dstRef, "--yes")
	rerun.Env = env
	out, err := rerun.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already present") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(5 * time.Second); sawTag.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	<-done
	sameGraph(t, srcRef, dstRef)
	if sawTag.Load() == 0 {
		t.Fatal("the watcher never saw the tag: it checked nothing")
	}
	if strings.Contains(string(out), "mounted, 0 already present") {
		t.Fatalf("the rerun re-copied everything; the killed run left nothing:\n%s", out)
	}
}

func manifestDigestOrEmpty(c *xpkg.Client, ref string) (string, error) {
	r, err := c.ParseReference(ref)
	if err != nil {
		return "", err
	}
	m, err := c.GetManifest(context.Background(), r)
	if err != nil {
		return "", err
	}
	return m.Digest.String(), nil
}
