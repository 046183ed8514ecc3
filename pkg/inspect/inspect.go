// Package inspect judges package images in a registry the way each
// Crossplane version would: it collects with package xpkg, decides with
// package crossplane (pure), and returns a report for package report to render.
package inspect

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// APIVersion versions the JSON/YAML reports. v1alpha2: inspect and diagnose
// report one Finding type, whose image is "image" (v1alpha1 inspect called
// it "subject").
const APIVersion = "xpdoctor.io/v1alpha2"

// Report is the result of `xpdoctor inspect`.
type Report struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Images     []Image `json:"images"`
}

// Image is the judgement of one reference.
type Image struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	IsIndex   bool   `json:"isIndex"`
	// Platforms are the images under the reference; Selected marks the one
	// Crossplane reads.
	Platforms []Platform `json:"platforms"`
	// Package is the package metadata Crossplane would read.
	Package  *xpkg.PackageFile    `json:"package,omitempty"`
	Verdicts []crossplane.Verdict `json:"verdicts"`
	Findings []findings.Finding   `json:"findings"`
	Upstream *xpkg.Comparison     `json:"upstream,omitempty"`
	// BytesFetched counts what xpdoctor downloaded for this image (and its
	// upstream, when compared).
	BytesFetched int64 `json:"bytesFetched"`
	// Error is set when the reference could not be read at all.
	Error string `json:"error,omitempty"`
	// NearestTags are the tags nearest to a tag the repository lacks.
	NearestTags []string `json:"nearestTags,omitempty"`
}

// Platform is one image of a reference.
type Platform struct {
	Platform string `json:"platform,omitempty"`
	Selected bool   `json:"selected"`
	*xpkg.ImageReport
}

// Options for Judge.
type Options struct {
	Targets []crossplane.Target
	Judge   crossplane.JudgeOptions
	// Dependencies, when set, makes Run check each dependsOn where
	// Crossplane's dependency resolver looks for it (one level: what the
	// dependencies depend on is `mirror --closure`'s to walk).
	Dependencies *DependencyOptions
}

// DependencyOptions tune the dependency check.
type DependencyOptions struct {
	// Rewrites are the cluster's ImageConfig rewrites, when known
	// (Crossplane v1.20+ applies them to dependencies too).
	Rewrites []crossplane.ImageRewrite
}

// maxDependencies bounds the dependsOn entries looked up per image.
const maxDependencies = 64

// Judge turns what was read into verdicts and findings. Pure.
func Judge(r *xpkg.Report, upstream *xpkg.Report, o Options) Image {
	img := Image{Reference: r.Reference, Digest: r.Digest, MediaType: r.MediaType, IsIndex: r.IsIndex, BytesFetched: r.BytesFetched, Verdicts: []crossplane.Verdict{}, Findings: []findings.Finding{}}
	for i, p := range r.Platforms {
		img.Platforms = append(img.Platforms, Platform{Platform: p.Platform, Selected: i == r.Selected, ImageReport: p.Image})
	}
	if r.Err != nil {
		// The image's reference is beside it: not named twice.
		img.Error = r.Err.Error()
		if r.Err.Ref == r.Reference {
			img.Error = r.Err.Detail
		}
		img.NearestTags = r.Err.NearestTags
	}
	if sel := r.SelectedImage(); sel != nil {
		img.Package = sel.Package
	}
	for _, t := range o.Targets {
		img.Verdicts = append(img.Verdicts, crossplane.Judge(t, r, o.Judge))
	}
	var fs []findings.Finding
	fs = append(fs, verdictFindings(r, img.Verdicts)...)
	fs = append(fs, headFindings(r)...)
	fs = append(fs, structureFindings(r, img.Verdicts)...)
	if upstream != nil {
		img.BytesFetched += upstream.BytesFetched
		if upstream.Err != nil {
			fs = append(fs, finding(findings.UpstreamUnreadable, findings.Warning, r.Reference,
				fmt.Sprintf("cannot read upstream %s: %s", upstream.Reference, upstream.Err.Detail), upstream.Err.Advice()))
		} else if r.Err == nil {
			img.Upstream = xpkg.Compare(r, upstream)
			fs = append(fs, comparisonFindings(r, img.Upstream)...)
		}
	}
	findings.Sort(fs)
	img.Findings = dedupe(fs)
	return img
}

// verdictFindings gives one finding per failure reason, with the versions
// it breaks and the exact message each of them emits.
func verdictFindings(r *xpkg.Report, vs []crossplane.Verdict) []findings.Finding {
	byReason := map[findings.Code][]crossplane.Verdict{}
	var order []findings.Code
	for _, v := range vs {
		if v.Reason == "" {
			continue
		}
		if _, ok := byReason[v.Reason]; !ok {
			order = append(order, v.Reason)
		}
		byReason[v.Reason] = append(byReason[v.Reason], v)
	}
	var out []findings.Finding
	for _, reason := range order {
		group := byReason[reason]
		versions := make([]string, 0, len(group))
		evidence := make([]string, 0, len(group))
		for _, v := range group {
			versions = append(versions, v.Crossplane)
			evidence = append(evidence, fmt.Sprintf("%s: %s", v.Crossplane, v.Message))
		}
		spec := findings.Catalogue[reason]
		msg := fmt.Sprintf("%s; breaks Crossplane %s", spec.Title, strings.Join(versions, ", "))
		if r.Err != nil {
			msg = fmt.Sprintf("%s: %s", spec.Title, r.Err.Detail)
		} else if sel := r.SelectedImage(); sel != nil && sel.Err != nil {
			msg = fmt.Sprintf("%s: %s", spec.Title, sel.Err.Detail)
		}
		fix := spec.Fix
		if r.Err != nil && (reason == findings.ManifestNotFound || reason == findings.RegistryUnauthorized) {
			// What xpdoctor was told, for this registry and repository.
			fix = r.Err.Advice()
		}
		switch reason {
		case findings.DependencyUnresolvable:
			msg, fix, evidence = dependencyFinding(group)
		case findings.MultipleBaseLayers:
			msg = multipleBaseMessage(r, group, msg)
		case findings.PackageYAMLNotFound:
			evidence = append(evidence, otherBaseEvidence(r)...)
		case findings.PackageYAMLInvalid:
			if sel := r.SelectedImage(); sel != nil && sel.Package != nil && sel.Package.ParseErrorLine > 0 {
				// Crossplane counts lines from the document's start; say where in the file.
				evidence = append(evidence, fmt.Sprintf("the error is at line %d of %s", sel.Package.ParseErrorLine, sel.Package.Path))
			}
		}
		f := finding(reason, findings.Error, r.Reference, msg, fix)
		f.Evidence = evidence
		out = append(out, f)
	}
	return out
}

// multipleBaseMessage names, for the versions that install without a word,
// the package they install and the one the image was built to carry.
func multipleBaseMessage(r *xpkg.Report, vs []crossplane.Verdict, msg string) string {
	sel := r.SelectedImage()
	for _, v := range vs {
		if v.Installs == nil || sel == nil || sel.OtherBase == nil {
			continue
		}
		in := v.Installs
		meant := "another package.yaml"
		if p := sel.OtherBase.Package; p != nil && p.Meta != nil {
			meant = p.Meta.Kind + "/" + p.Meta.Name
		}
		msg += fmt.Sprintf("; Crossplane %s installs %s/%s from layer %d (CRDs/XRDs of %s) instead of %s from layer %d, and reports it healthy",
			v.Crossplane, in.Kind, in.Name, in.Layer, orNone(strings.Join(in.Groups, ", ")), meant, sel.OtherBase.Layer+1)
	}
	return msg
}

// otherBaseEvidence points at the package.yaml of an annotated layer that
// Crossplane does not read because an earlier layer is annotated too.
func otherBaseEvidence(r *xpkg.Report) []string {
	sel := r.SelectedImage()
	if sel == nil || sel.OtherBase == nil || sel.OtherBase.Package == nil || len(sel.BaseLayers) < 2 {
		return nil
	}
	return []string{fmt.Sprintf("package.yaml is in annotated layer %d, but Crossplane reads only the first annotated layer, %d, which has none",
		sel.OtherBase.Layer+1, sel.BaseLayers[0]+1)}
}

// dependencyFinding says which dependency cannot be installed, why, and
// what to do, from the verdicts that failed on it.
func dependencyFinding(vs []crossplane.Verdict) (msg, fix string, evidence []string) {
	type blocker struct {
		dv       crossplane.DependencyVerdict
		versions []string
	}
	var bs []*blocker
	byKey := map[string]*blocker{}
	for _, v := range vs {
		evidence = append(evidence, fmt.Sprintf("%s: revision: %s", v.Crossplane, v.Message))
		for _, dv := range v.Dependencies {
			if dv.Failure == "" {
				continue
			}
			key := dv.Package + "|" + dv.Source + "|" + dv.Failure
			b, ok := byKey[key]
			if !ok {
				b = &blocker{dv: dv}
				byKey[key] = b
				bs = append(bs, b)
			}
			b.versions = append(b.versions, v.Crossplane)
			break // the resolver stops at the first one it cannot install
		}
	}
	var parts, fixes []string
	for _, b := range bs {
		where := b.dv.Source
		if b.dv.RewrittenBy != "" {
			where += " (rewritten by ImageConfig " + b.dv.RewrittenBy + ")"
		}
		parts = append(parts, fmt.Sprintf("dependency %s %s cannot be installed from %s", b.dv.Package, b.dv.Constraint, where))
		evidence = append(evidence, fmt.Sprintf("%s: %s: %s", strings.Join(b.versions, ", "), b.dv.FailureOn, b.dv.Failure))
		fixes = append(fixes, dependencyFix(b.dv))
	}
	if len(parts) == 0 {
		return findings.Catalogue[findings.DependencyUnresolvable].Title, findings.Catalogue[findings.DependencyUnresolvable].Fix, evidence
	}
	// Versions word the same failure differently; say it once.
	return strings.Join(dedupeStrings(parts), "; "), strings.Join(dedupeStrings(fixes), "; "), evidence
}

// refusedCredentials matches go-containerregistry's texts for a registry that
// refused the credentials: transport.Error's "unexpected status code 401
// Unauthorized" when the body has no error code, and the distribution spec's
// UNAUTHORIZED and DENIED codes. A bare "401" or "403" would also match a port
// such as 127.0.0.1:40399.
var refusedCredentials = regexp.MustCompile(`\b40[13] (Unauthorized|Forbidden)\b|\bUNAUTHORIZED\b|\bDENIED\b`)

// dependencyFix fits the remediation to why the dependency failed.
func dependencyFix(dv crossplane.DependencyVerdict) string {
	switch {
	case strings.Contains(dv.Failure, "does not have a valid version"):
		return fmt.Sprintf("push a version of %s that satisfies %q (crane ls %s lists the tags), or change the dependsOn constraint", dv.Source, dv.Constraint, dv.Repository)
	case refusedCredentials.MatchString(dv.Failure):
		// resolver/reconciler.go@v1.20.0: tags are listed without the
		// package's pull secrets; only an ImageConfig's pull secret applies.
		return fmt.Sprintf("give the dependency resolver credentials for %s: an ImageConfig matching it with spec.registry.authentication.pullSecretRef (the resolver ignores the package's packagePullSecrets)", dv.Repository)
	case strings.Contains(dv.Failure, "constraint on dependency is invalid"):
		return fmt.Sprintf("fix the dependsOn version %q: it must be a semantic version constraint or a digest", dv.Constraint)
	}
	where := dv.Repository
	if where != dv.Package {
		where = dv.Package + " (Crossplane looks in " + dv.Repository + ")"
	}
	return fmt.Sprintf("make %s available where Crossplane looks: mirror it there with `kubectl xpdoctor mirror`, or on Crossplane v1.20+ point an ImageConfig rewrite at the registry that has it", where)
}

func dedupeStrings(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// headFindings reports a registry whose HEAD fails where its GET works:
// Crossplane falls back to GET (internal/xpkg/fetch.go@v1.20.0 Head), so
// the package installs, at the cost of a manifest download per reconcile.
func headFindings(r *xpkg.Report) []findings.Finding {
	h := r.Head
	if h == nil || h.Error == "" || r.Err != nil {
		return nil
	}
	return []findings.Finding{finding(findings.RegistryProtocolError, findings.Warning, r.Reference,
		"the registry's HEAD of the manifest fails while GET works: "+h.Error+"; Crossplane falls back to GET", findings.Catalogue[findings.RegistryProtocolError].Fix)}
}

// structureFindings reports mirror damage that does not by itself break
// every version: a missing annotation, recompressed layers, several base
// layers or too many layers where some versions cope.
func structureFindings(r *xpkg.Report, vs []crossplane.Verdict) []findings.Finding {
	sel := r.SelectedImage()
	if sel == nil || sel.Err != nil {
		return nil
	}
	var out []findings.Finding
	if len(sel.BaseLayers) == 0 {
		msg := "no layer is annotated io.crossplane.xpkg: base; Crossplane falls back to flattening the whole image"
		var ev []string
		for _, l := range sel.Labels {
			if l.Value == xpkg.PackageAnnotation {
				msg += "; the config still labels a layer as base, so a tool that does not keep annotations re-pushed it"
				ev = append(ev, fmt.Sprintf("config label %s:%s = base (matches a layer: %v)", xpkg.AnnotationKey, l.LayerDigest, l.MatchesLayer))
			}
		}
		for _, v := range vs {
			if v.Outcome == crossplane.OutcomeFlatten {
				ev = append(ev, fmt.Sprintf("%s: %s", v.Crossplane, v.Message))
			}
		}
		f := finding(findings.BaseLayerAnnotationMissing, findings.Warning, r.Reference, msg, findings.Catalogue[findings.BaseLayerAnnotationMissing].Fix)
		f.Evidence = ev
		out = append(out, f)
	}
	for _, l := range sel.Labels {
		if l.Value == xpkg.PackageAnnotation && !l.MatchesLayer {
			out = append(out, finding(findings.LayersRecompressed, findings.Warning, r.Reference,
				fmt.Sprintf("config label names base layer %s, which is not a layer of this manifest: the layers were recompressed after the package was built", l.LayerDigest),
				findings.Catalogue[findings.LayersRecompressed].Fix))
		}
	}
	if len(sel.BaseLayers) > 1 && !anyReason(vs, findings.MultipleBaseLayers) {
		msg := fmt.Sprintf("%d layers are annotated as base; the versions judged read the first", len(sel.BaseLayers))
		if sel.OtherBase != nil && sel.OtherBase.SameContent(sel.Package) {
			msg += ", which holds the same package.yaml"
		}
		out = append(out, finding(findings.MultipleBaseLayers, findings.Warning, r.Reference, msg+"; Crossplane up to v2.1 refuses the image", findings.Catalogue[findings.MultipleBaseLayers].Fix))
	}
	if len(sel.Layers) > 256 && !anyReason(vs, findings.TooManyLayers) {
		out = append(out, finding(findings.TooManyLayers, findings.Warning, r.Reference,
			fmt.Sprintf("the image has %d layers; Crossplane up to v2.1 refuses more than 256", len(sel.Layers)), findings.Catalogue[findings.TooManyLayers].Fix))
	}
	return out
}

func comparisonFindings(r *xpkg.Report, c *xpkg.Comparison) []findings.Finding {
	if c.Identical {
		return nil
	}
	var out []findings.Finding
	ev := append([]string{"cause: " + c.Cause}, c.Differences...)
	f := finding(findings.MirrorDigestDiffers, findings.Warning, r.Reference,
		fmt.Sprintf("digest %s differs from upstream %s (%s)", r.Digest, c.UpstreamDigest, c.Upstream), findings.Catalogue[findings.MirrorDigestDiffers].Fix)
	f.Evidence = ev
	out = append(out, f)
	if c.IndexCollapsed || c.PlatformsLost {
		out = append(out, finding(findings.IndexCollapsed, findings.Warning, r.Reference,
			fmt.Sprintf("upstream %s is a multi-platform index; the mirror kept fewer platforms", c.Upstream), findings.Catalogue[findings.IndexCollapsed].Fix))
	}
	if c.LayersDiffer && !c.ConfigDiffers {
		out = append(out, finding(findings.LayersRecompressed, findings.Warning, r.Reference,
			"layer digests differ from the upstream's while the config is the same: the layers were recompressed", findings.Catalogue[findings.LayersRecompressed].Fix))
	}
	return out
}

func finding(code findings.Code, sev findings.Severity, image, msg, fix string) findings.Finding {
	return findings.Finding{Code: code, Severity: sev, Image: image, Message: msg, Remediation: fix}
}

func anyReason(vs []crossplane.Verdict, reason findings.Code) bool {
	for _, v := range vs {
		if v.Reason == reason {
			return true
		}
	}
	return false
}

// dedupe keeps the first finding per code and image (they are sorted, so
// the most severe one).
func dedupe(fs []findings.Finding) []findings.Finding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := string(f.Code) + "|" + f.Image
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}

// Healthy reports whether every verdict parses through the base layer and
// no finding is an error: the exit-0 condition.
func (i Image) Healthy() bool {
	for _, v := range i.Verdicts {
		if v.Outcome != crossplane.OutcomeBaseLayer {
			return false
		}
	}
	return findings.Worst(i.Findings) != findings.Error
}

// Request is one image to inspect, and optionally its upstream.
type Request struct {
	Reference string
	Upstream  string
	// Keychain, when set, reads Reference with these credentials instead
	// of the client's: diagnose gives each package the pull secrets
	// Crossplane uses for it. The upstream is always read with the
	// client's own (the user's) credentials.
	Keychain authn.Keychain
	// DependencyKeychain, when set, looks up the dependencies with these
	// credentials: Crossplane's resolver never uses the package's own
	// pull secrets.
	DependencyKeychain authn.Keychain
}

// Run reads and judges every request at once: the client's ReadCache
// bounds the reads in flight per registry host and reads an image shared by
// several requests once. Bytes are counted per read (xpkg.CountBytes), and
// Images follow the order of reqs whatever order the answers arrive in.
// When ctx ends, the reads still waiting give up and report it.
func Run(ctx context.Context, c *xpkg.Client, reqs []Request, o Options, ro xpkg.ReadOptions) (*Report, error) {
	refs := make([]name.Reference, len(reqs))
	ups := make([]name.Reference, len(reqs))
	for i, req := range reqs {
		ref, err := c.ParseReference(req.Reference)
		if err != nil {
			return nil, err
		}
		refs[i] = ref
		if req.Upstream != "" {
			uref, err := c.ParseReference(req.Upstream)
			if err != nil {
				return nil, fmt.Errorf("upstream of %s: %w", req.Reference, err)
			}
			ups[i] = uref
		}
	}
	rep := &Report{APIVersion: APIVersion, Kind: "InspectReport", Images: make([]Image, len(reqs))}
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Images[i] = inspectOne(ctx, c, reqs[i], refs[i], ups[i], o, ro)
		}()
	}
	wg.Wait()
	return rep, nil
}

// inspectOne reads one image, and its upstream at the same time, then
// judges them.
func inspectOne(ctx context.Context, c *xpkg.Client, req Request, ref, upstream name.Reference, o Options, ro xpkg.ReadOptions) Image {
	rc, dc := c, c
	if req.Keychain != nil {
		rc = c.WithCredentials(req.Keychain)
	}
	if req.DependencyKeychain != nil {
		dc = c.WithCredentials(req.DependencyKeychain)
	}
	var up *xpkg.Report
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		if upstream != nil {
			// The upstream is read shallowly: comparing needs manifests and configs only.
			up = c.Read(ctx, upstream, xpkg.ReadOptions{MaxUncompressedBytes: ro.MaxUncompressedBytes, Shallow: true})
		}
	}()
	r := rc.Read(ctx, ref, ro)
	oi := o
	var depBytes int64
	if o.Dependencies != nil {
		dctx, counted := xpkg.CountBytes(ctx)
		oi.Judge.Dependencies = lookupDependencies(dctx, dc, r, o)
		depBytes = counted.Load()
	}
	<-upDone
	img := Judge(r, up, oi)
	img.BytesFetched += depBytes
	return img
}

// lookupDependencies asks the registry what Crossplane's dependency
// resolver asks for each dependsOn entry of the package, for every version
// judged: the tags of the repository it looks in, or, for a digest
// constraint, that manifest. Each repository is asked once.
func lookupDependencies(ctx context.Context, c *xpkg.Client, r *xpkg.Report, o Options) *crossplane.DependencyObservations {
	sel := r.SelectedImage()
	if sel == nil || sel.Package == nil || sel.Package.Meta == nil || len(sel.Package.Meta.DependsOn) == 0 {
		return nil
	}
	obs := &crossplane.DependencyObservations{Rewrites: o.Dependencies.Rewrites, Tags: map[string]crossplane.TagList{}, Digests: map[string]*xpkg.RegistryError{}}
	deps := sel.Package.Meta.DependsOn
	if len(deps) > maxDependencies {
		deps = deps[:maxDependencies]
	}
	// Every repository and digest is asked once, all at once.
	var mu sync.Mutex
	var wg sync.WaitGroup
	asked := map[string]bool{}
	for _, t := range o.Targets {
		for _, d := range deps {
			lk := t.LookupDependency(d, obs.Rewrites)
			if lk.Problem != "" {
				continue
			}
			ref, err := c.ParseReference(lk.Repository)
			if err != nil {
				continue
			}
			repo := ref.Context()
			if crossplane.IsDigest(d.Version) {
				key := lk.Repository + "@" + strings.TrimSpace(d.Version)
				if asked[key] {
					continue
				}
				asked[key] = true
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := c.GetManifest(ctx, repo.Digest(strings.TrimSpace(d.Version)))
					mu.Lock()
					obs.Digests[key] = registryError(lk.Repository, err)
					mu.Unlock()
				}()
				continue
			}
			if asked[lk.Repository] {
				continue
			}
			asked[lk.Repository] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				tags, err := c.ListTags(ctx, repo)
				mu.Lock()
				obs.Tags[lk.Repository] = crossplane.TagList{Tags: tags, Err: registryError(lk.Repository, err)}
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return obs
}

func registryError(ref string, err error) *xpkg.RegistryError {
	if err == nil {
		return nil
	}
	var re *xpkg.RegistryError
	if errors.As(err, &re) {
		return re
	}
	return &xpkg.RegistryError{Kind: xpkg.ErrInvalid, Ref: ref, Detail: xpkg.Describe(err)}
}
