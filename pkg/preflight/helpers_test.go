package preflight

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// registry holds real package images in go-containerregistry's registry and
// reads them back with xpkg, so every verdict is judged from a real read.
type registry struct {
	t    *testing.T
	host string
}

func newRegistry(t *testing.T) *registry {
	return &registry{t: t, host: testregistry.InProcess(t).Host}
}

// push writes obj (an image or index) at host/path and returns the reference.
func (r *registry) push(path string, obj any) string {
	r.t.Helper()
	ref := r.host + "/" + path
	if err := xpkgtest.Push(ref, obj); err != nil {
		r.t.Fatal(err)
	}
	return ref
}

// read reads ref the way diagnose does, with a new client each time: a
// client keeps what it read (xpkg.ReadCache), and the tests push other
// images to the same reference.
func (r *registry) read(ref string) *xpkg.Report {
	r.t.Helper()
	client := xpkg.NewClient()
	parsed, err := client.ParseReference(ref)
	if err != nil {
		r.t.Fatal(err)
	}
	return client.Read(context.Background(), parsed, xpkg.ReadOptions{})
}

// pkg builds, pushes and reads a package image; it returns the reference.
func (r *registry) pkg(path string, p xpkgtest.Package) (string, *xpkg.Report) {
	r.t.Helper()
	ref := r.push(path, p.Image(amd64))
	return ref, r.read(ref)
}

func provider(name, pkg string, mods ...func(*cluster.Package)) cluster.Package {
	p := cluster.Package{Kind: "Provider", Name: name, Package: pkg, CurrentRevision: name + "-aaaaaaaaaaaa", RuntimeConfigRef: "default"}
	for _, m := range mods {
		m(&p)
	}
	return p
}

func ofKind(kind string) func(*cluster.Package) { return func(p *cluster.Package) { p.Kind = kind } }

// revision is the current revision of p, with v1.x conditions unless v2.
func revision(p cluster.Package, v2 bool) cluster.Revision {
	conds := []cluster.Condition{{Type: "Healthy", Status: "True", Reason: "HealthyPackageRevision"}}
	if v2 {
		conds = []cluster.Condition{{Type: "RevisionHealthy", Status: "True", Reason: "HealthyPackageRevision"}}
	}
	return cluster.Revision{Kind: cluster.RevisionKind(p.Kind), Name: p.CurrentRevision, Parent: p.Name, Image: p.Package, DesiredState: "Active", Conditions: conds}
}

// snapshot holds pkgs, their current revisions, and Crossplane's Deployment
// (args given) unless args is nil.
func snapshot(v2 bool, args []string, pkgs ...cluster.Package) *cluster.Snapshot {
	s := &cluster.Snapshot{Source: "test", CrossplaneNamespace: "crossplane-system", Packages: pkgs, Lock: &cluster.Lock{}, CompositionsRead: true}
	if args != nil {
		s.CrossplaneImage = "xpkg.crossplane.io/crossplane/crossplane:v1.20.0"
		s.CrossplaneArgs = args
	}
	for _, p := range pkgs {
		s.Revisions = append(s.Revisions, revision(p, v2))
		src, ver := splitReference(p.Package)
		s.Lock.Packages = append(s.Lock.Packages, cluster.LockPackage{Name: p.CurrentRevision, Kind: p.Kind, Source: src, Version: ver})
	}
	return s
}

var coreArgs = []string{"core", "start"}

func run(t *testing.T, in Input) *Report {
	t.Helper()
	rep, err := Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// checkOf finds a check of a package ("Kind/name") or of Crossplane ("").
func checkOf(rep *Report, subject, check string) *Check {
	if subject == "" {
		for i := range rep.Crossplane {
			if rep.Crossplane[i].Check == check {
				return &rep.Crossplane[i]
			}
		}
		return nil
	}
	for _, p := range rep.Packages {
		if key(p.Kind, p.Name) != subject {
			continue
		}
		for i := range p.Checks {
			if p.Checks[i].Check == check {
				return &p.Checks[i]
			}
		}
	}
	return nil
}

// want is an expected check: Status "" means the check must be absent.
type want struct {
	subject, check string
	status         Status
	// contains are substrings of the message, or of the fix when prefixed "fix:".
	contains []string
	existing bool
}

func assertChecks(t *testing.T, rep *Report, wants []want) {
	t.Helper()
	for _, w := range wants {
		c := checkOf(rep, w.subject, w.check)
		if w.status == "" {
			if c != nil {
				t.Errorf("%s %s: want no check, got %s: %s", w.subject, w.check, c.Status, c.Message)
			}
			continue
		}
		if c == nil {
			t.Errorf("%s %s: missing (report: %s)", w.subject, w.check, dump(rep))
			continue
		}
		if c.Status != w.status {
			t.Errorf("%s %s: status %s, want %s: %s", w.subject, w.check, c.Status, w.status, c.Message)
		}
		if c.Existing != w.existing {
			t.Errorf("%s %s: existing %v, want %v", w.subject, w.check, c.Existing, w.existing)
		}
		for _, s := range w.contains {
			text, field := c.Message, "message"
			if f, ok := strings.CutPrefix(s, "fix:"); ok {
				text, field, s = c.Fix, "fix", f
			}
			if !strings.Contains(text, s) {
				t.Errorf("%s %s: %s %q lacks %q", w.subject, w.check, field, text, s)
			}
		}
		if c.Status != Safe && c.Check != CheckUpgrade && len(c.Sources) == 0 && c.Check != CheckImage {
			t.Errorf("%s %s: no sources", w.subject, w.check)
		}
	}
}

func dump(rep *Report) string {
	var b strings.Builder
	for _, c := range rep.Crossplane {
		b.WriteString("\n  Crossplane " + c.Check + " " + string(c.Status) + ": " + c.Message)
	}
	for _, p := range rep.Packages {
		for _, c := range p.Checks {
			b.WriteString("\n  " + key(p.Kind, p.Name) + " " + c.Check + " " + string(c.Status) + ": " + c.Message)
		}
	}
	return b.String()
}
