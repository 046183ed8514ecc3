package transfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// An export that would not fit on the disk is refused before anything is
// written, with what it needs and what is free.
func TestSpaceRefusedBeforeWriting(t *testing.T) {
	reg := testregistry.InProcess(t)
	ref := reg.Host + "/upbound/p:v1"
	p := xpkgtest.Package{Name: "p", Runtime: []v1.Layer{xpkgtest.RandomLayer(1, 64<<10)}}
	if err := xpkgtest.Push(ref, p.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	defer func(f func(string) int64) { freeBytes = f }(freeBytes)
	freeBytes = func(string) int64 { return 1000 }
	dir := t.TempDir()
	for _, ep := range []Endpoint{{Kind: Layout, Path: filepath.Join(dir, "layout"), Ref: ref}, {Kind: Archive, Path: filepath.Join(dir, "carry.tar"), Ref: ref}} {
		eng := New(xpkg.NewClient(), Options{})
		plan, err := eng.Plan(context.Background(), []Request{{Source: Endpoint{Kind: Registry, Ref: ref}, Destination: ep}})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Space) != 1 || plan.Space[0].Need < 64<<10 || plan.Space[0].Free != 1000 {
			t.Fatalf("space %+v", plan.Space)
		}
		_, err = eng.Execute(context.Background(), plan)
		var se *SpaceError
		if !errors.As(err, &se) {
			t.Fatalf("%s: err = %v", ep.Kind, err)
		}
		eng.Close()
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("wrote %v", entries)
	}
}
