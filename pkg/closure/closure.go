// Package closure finds everything a Crossplane package depends on, resolved
// the way Crossplane resolves it, so a private registry can hold it all.
package closure

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/imageconfig"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Node is one package of the closure.
type Node struct {
	// Ref is the resolved source reference (repository:tag or @digest).
	Ref string `json:"ref"`
	// Repository is Ref without its tag or digest.
	Repository string `json:"repository"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	Family     string `json:"family,omitempty"`
	// Constraint is the dependsOn version that selected this node ("" for the root).
	Constraint string `json:"constraint,omitempty"`
	// Chain is how the root leads here.
	Chain []string `json:"chain"`
	// HasDependencies is true when its package.yaml has dependsOn.
	HasDependencies bool `json:"hasDependencies,omitempty"`
}

// Error is a resolution failure with the chain of packages that led to it.
type Error struct {
	Chain []string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", strings.Join(e.Chain, " -> "), e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// maxNodes bounds a closure (a family of ~150 providers is the largest seen).
const maxNodes = 1000

// Resolve walks dependsOn from root: each package's package.yaml is read
// with the minimal-bytes inspect path, each version constraint resolved
// against the repository's tags as Crossplane does. Cycles, unsatisfiable
// constraints and unreadable dependencies fail with their chain.
func Resolve(ctx context.Context, c *xpkg.Client, root string) ([]Node, error) {
	var out []Node
	seen := map[string]int{} // repository -> index in out
	type item struct {
		ref, constraint string
		chain           []string
	}
	queue := []item{{ref: root}}
	for len(queue) > 0 {
		// Breadth first, one level at a time: the level is read at once
		// (warm), then decided in order from the cache, so the result is
		// the one a walk reading one package after the other gives.
		wave := queue
		queue = nil
		refs := make([]string, len(wave))
		for i, it := range wave {
			refs[i] = it.ref
		}
		warm(ctx, c, refs)
		for _, it := range wave {
			ref, err := c.ParseReference(it.ref)
			if err != nil {
				return nil, &Error{Chain: it.chain, Err: err}
			}
			repo := ref.Context().String()
			chain := append(append([]string{}, it.chain...), ref.String())
			if i, ok := seen[repo]; ok {
				if out[i].Ref != ref.String() {
					return nil, &Error{Chain: chain, Err: fmt.Errorf("%s is needed as %s and as %s (via %s): Crossplane can install only one version", repo, out[i].Ref, ref.String(), strings.Join(out[i].Chain, " -> "))}
				}
				continue
			}
			if len(out) >= maxNodes {
				return nil, &Error{Chain: chain, Err: fmt.Errorf("more than %d packages in the closure", maxNodes)}
			}
			r := c.Read(ctx, ref, xpkg.ReadOptions{})
			if r.Err != nil {
				return nil, &Error{Chain: chain, Err: fmt.Errorf("cannot read %s: %s (%s)", ref, r.Err.Detail, r.Err.Advice())}
			}
			img := r.SelectedImage()
			if img == nil || img.Err != nil || img.Package == nil || img.Package.Meta == nil {
				return nil, &Error{Chain: chain, Err: fmt.Errorf("%s has no readable package metadata (not a Crossplane package?)", ref)}
			}
			m := img.Package.Meta
			seen[repo] = len(out)
			out = append(out, Node{Ref: ref.String(), Repository: repo, Kind: m.Kind, Name: m.Name, Family: m.Family, Constraint: it.constraint, Chain: chain, HasDependencies: len(m.DependsOn) > 0})
			for _, d := range m.DependsOn {
				depRepo, err := name.NewRepository(d.Package)
				if err != nil {
					return nil, &Error{Chain: chain, Err: fmt.Errorf("dependency %q: %w", d.Package, err)}
				}
				for _, anc := range chain {
					if strings.HasPrefix(anc, depRepo.String()+":") || strings.HasPrefix(anc, depRepo.String()+"@") {
						return nil, &Error{Chain: append(chain, depRepo.String()), Err: fmt.Errorf("dependency cycle")}
					}
				}
				var depRef string
				if crossplane.IsDigest(d.Version) {
					depRef = depRepo.String() + "@" + strings.TrimSpace(d.Version)
				} else {
					if i, ok := seen[depRepo.String()]; ok {
						// Already resolved through another parent: it must satisfy this constraint too.
						tag := strings.TrimPrefix(out[i].Ref, depRepo.String()+":")
						if v, err := crossplane.ResolveDependency(d.Version, []string{tag}); err == nil && v == tag {
							continue
						}
					}
					tags, err := c.ListTags(ctx, depRepo)
					if err != nil {
						return nil, &Error{Chain: append(chain, depRepo.String()), Err: fmt.Errorf("cannot list tags: %w", err)}
					}
					tag, err := crossplane.ResolveDependency(d.Version, tags)
					if err != nil {
						return nil, &Error{Chain: append(chain, depRepo.String()), Err: err}
					}
					depRef = depRepo.String() + ":" + tag
				}
				queue = append(queue, item{ref: depRef, constraint: d.Version, chain: chain})
			}
		}
	}
	return out, nil
}

// warm reads the packages of one level of the closure, and lists the tags
// of the repositories their dependencies name, all at once: the client's
// ReadCache bounds them per registry host and keeps what they read for
// Resolve to decide with. Failures are left for Resolve to meet and report.
func warm(ctx context.Context, c *xpkg.Client, refs []string) {
	var wg sync.WaitGroup
	for _, s := range refs {
		ref, err := c.ParseReference(s)
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Read(ctx, ref, xpkg.ReadOptions{})
			img := r.SelectedImage()
			if r.Err != nil || img == nil || img.Package == nil || img.Package.Meta == nil {
				return
			}
			for _, d := range img.Package.Meta.DependsOn {
				repo, err := name.NewRepository(d.Package)
				if err != nil || crossplane.IsDigest(d.Version) {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _ = c.ListTags(ctx, repo)
				}()
			}
		}()
	}
	wg.Wait()
}

// Destination maps a source reference under a prefix, keeping its
// repository path: xpkg.upbound.io/upbound/p:v1 -> PREFIX/upbound/p:v1.
func Destination(prefix, ref string) string {
	_, path, _ := strings.Cut(ref, "/")
	return strings.TrimSuffix(prefix, "/") + "/" + path
}

// CheckFamilies enforces that every provider family lands in one registry
// and organisation at the destination; otherwise the RBAC manager withholds
// the family's ProviderConfig types from its members (OrgDiffer,
// internal/controller/rbac/provider/roles/reconciler.go@v1.16.0).
func CheckFamilies(prefix string, nodes []Node) error {
	orgs := map[string]map[string][]string{}
	for _, n := range nodes {
		if n.Family == "" {
			continue
		}
		if orgs[n.Family] == nil {
			orgs[n.Family] = map[string][]string{}
		}
		o := xpkg.Org(Destination(prefix, n.Ref))
		orgs[n.Family][o] = append(orgs[n.Family][o], n.Repository)
	}
	var problems []string
	for fam, byOrg := range orgs {
		if len(byOrg) < 2 {
			continue
		}
		var parts []string
		for o, rs := range byOrg {
			parts = append(parts, fmt.Sprintf("%s: %s", o, strings.Join(rs, ", ")))
		}
		sort.Strings(parts)
		problems = append(problems, fmt.Sprintf("family %s would be split across %s", fam, strings.Join(parts, "; ")))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%s: Crossplane's RBAC manager shares a family's ProviderConfig types only within one registry and first path segment; choose a prefix with a path (e.g. REGISTRY/crossplane) so every member lands in one organisation", strings.Join(problems, "; "))
	}
	return nil
}

// ImageConfigs renders, for Crossplane v1.20+, one ImageConfig per source
// registry of the closure that rewrites it to the mirror prefix; the paths
// below the host are kept, so the rewritten references exist.
func ImageConfigs(prefix string, nodes []Node) string {
	hosts := map[string]bool{}
	for _, n := range nodes {
		host, _, _ := strings.Cut(n.Ref, "/")
		hosts[host] = true
	}
	var hs []string
	for h := range hosts {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	rs := make([]imageconfig.Rewrite, len(hs))
	for i, h := range hs {
		rs[i] = imageconfig.Rewrite{From: h, To: prefix}
	}
	out, err := imageconfig.YAML(imageconfig.DefaultAPIVersion, rs)
	if err != nil {
		return "# " + err.Error() + "\n"
	}
	return out
}

// OlderCrossplane says what to do without ImageConfig rewrites (before v1.20).
func OlderCrossplane(prefix string, nodes []Node) string {
	var b strings.Builder
	b.WriteString("# Crossplane before v1.20 cannot rewrite package sources: install every package by its mirror reference,\n")
	b.WriteString("# and set skipDependencyResolution: true on the ones whose dependencies you install yourself\n")
	b.WriteString("# (the Lock then does not track them: crossplane/crossplane#4588).\n")
	for _, n := range nodes {
		skip := ""
		if n.HasDependencies {
			skip = "  # skipDependencyResolution: true"
		}
		fmt.Fprintf(&b, "%s %s%s\n", n.Kind, Destination(prefix, n.Ref), skip)
	}
	return b.String()
}
