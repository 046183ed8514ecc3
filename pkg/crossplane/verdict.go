package crossplane

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Outcome is how a Crossplane version fares with a package image.
type Outcome string

// Outcomes.
const (
	// OutcomeBaseLayer parses by reading the one annotated layer.
	OutcomeBaseLayer Outcome = "BaseLayer"
	// OutcomeFlatten parses, through the slow flattened-image fallback.
	OutcomeFlatten Outcome = "Flatten"
	// OutcomeFail does not install: the package does not parse, or a
	// dependency cannot be resolved.
	OutcomeFail Outcome = "Fail"
	// OutcomeUnknown could not be decided (xpdoctor stopped early).
	OutcomeUnknown Outcome = "Unknown"
)

// Verdict is what one Crossplane version does with one package image.
type Verdict struct {
	// Crossplane is the generation or version judged.
	Crossplane string  `json:"crossplaneVersions"`
	Outcome    Outcome `json:"outcome"`
	// Message is, for Fail, the text Crossplane puts in its event and
	// condition; otherwise what happens.
	Message string `json:"message"`
	// Exact is true when Message is Crossplane's full text; false when part
	// of it is an underlying error that Crossplane may word differently.
	Exact bool `json:"exact"`
	// Reason is the finding code that explains a Fail, a risky Flatten, or
	// a package Crossplane installs other than the one meant.
	Reason findings.Code `json:"reason,omitempty"`
	// Stage is where the failure surfaces; empty when nothing fails.
	Stage Stage `json:"stage,omitempty"`
	// Object is what carries the failure: "package" (the Provider,
	// Configuration or Function) or "revision"; Event is the reason of the
	// Warning event Crossplane emits there.
	Object string `json:"object,omitempty"`
	Event  string `json:"event,omitempty"`
	// RevisionCreated tells whether Crossplane creates a package revision at all.
	RevisionCreated bool `json:"revisionCreated"`
	// DownloadBytes is what Crossplane downloads to parse the package.
	DownloadBytes int64 `json:"downloadBytes,omitempty"`
	// Deadline is the reconcile timeout the parse runs under.
	Deadline string `json:"deadline,omitempty"`
	// Installs is the package Crossplane installs when it reads another
	// package.yaml than the image was built to carry.
	Installs *Installed `json:"installs,omitempty"`
	// Dependencies is how each dependsOn entry resolves for this version.
	Dependencies []DependencyVerdict `json:"dependencies,omitempty"`
}

// Installed names the package content Crossplane installs.
type Installed struct {
	// Layer is the 1-based layer it is read from.
	Layer  int      `json:"layer"`
	Kind   string   `json:"kind,omitempty"`
	Name   string   `json:"name,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// JudgeOptions tune the verdict.
type JudgeOptions struct {
	// Bandwidth is the assumed registry throughput in bytes per second, used
	// to tell whether the flatten path fits its deadline. 0 disables the check.
	Bandwidth int64
	// Dependencies are what the registry answered for the package's
	// dependsOn where Crossplane looks for them (see Target.DependencyLookup);
	// nil leaves dependencies unjudged.
	Dependencies *DependencyObservations
}

// Judge decides what a Crossplane generation (or version) does with the
// image xpkg read. It is a pure function of its inputs.
func Judge(t Target, r *xpkg.Report, o JudgeOptions) Verdict {
	m := t.Messages
	out := Verdict{Crossplane: t.Label(), Deadline: t.Deadline.String(), RevisionCreated: true}
	fail := func(reason findings.Code, stage Stage, tmpl string, exact bool, vars map[string]string) Verdict {
		out.Outcome, out.Reason, out.Exact, out.Stage = OutcomeFail, reason, exact, stage
		out.Object, out.Event, out.RevisionCreated = t.Surface(stage)
		out.Message = Render(tmpl, vars)
		return out
	}
	ref := r.Reference
	if e := stoppedErr(r); e != nil {
		// xpdoctor's own --timeout or an interrupt says nothing about the package.
		out.Outcome, out.Message = OutcomeUnknown, "xpdoctor stopped before it could read the image: "+e.Detail
		return out
	}
	if r.Err != nil {
		tmpl, stage, exact, vars := resolveFailure(t, r)
		return fail(reasonFor(r.Err), stage, tmpl, exact, vars)
	}
	if h := r.Head; h != nil && h.Digest != "" && r.Digest != "" && h.Digest != r.Digest && t.UnpackStages == StageParse {
		// v2.2+ pins every read after HEAD to the digest HEAD named
		// (client.go@v2.3.3 digestRef); a registry whose HEAD names other
		// bytes than its GET serves breaks that fetch.
		return fail(findings.RegistryContentMismatch, StageFetch, m.Fetch, false, map[string]string{"ref": ref,
			"detail": fmt.Sprintf("the registry's HEAD names %s, but GET serves a manifest hashing to %s", h.Digest, r.Digest)})
	}
	img := r.SelectedImage()
	if img == nil {
		index := ref
		if t.UnpackStages == StageParse {
			// v2.2+ fetches by the digest it resolved (client.go@v2.3.3 digestRef).
			index = r.Repository + "@" + r.Digest
		}
		return fail(findings.NoPlatformMatch, StageFetch, m.NoPlatform, true, map[string]string{"ref": ref, "platform": xpkg.PlatformString(&xpkg.CrossplanePlatform), "index": index})
	}
	if img.Err != nil {
		return fail(reasonFor(img.Err), StageFetch, m.Fetch, false, map[string]string{"ref": ref, "detail": img.Err.LibraryText()})
	}
	if t.MaxLayers > 0 && len(img.Layers) > t.MaxLayers {
		return fail(findings.TooManyLayers, StageFetch, m.TooManyLayers, true, map[string]string{"layers": strconv.Itoa(len(img.Layers)), "max": strconv.Itoa(t.MaxLayers)})
	}
	if len(img.BaseLayers) > 1 && t.RejectMultipleBase {
		return fail(findings.MultipleBaseLayers, StageFetch, m.MultipleBase, true, nil)
	}

	annotated := len(img.BaseLayers) > 0
	scan, match := img.FlattenScan, t.FlattenMatch
	if annotated {
		scan, match = img.BaseScan, t.AnnotatedMatch
	}
	if scan == nil {
		out.Outcome, out.Message = OutcomeUnknown, "package.yaml was not looked for in this image (use --all-platforms)"
		return out
	}
	if scan.Err != "" {
		return fail(findings.LayerInvalid, StageFetch, m.InvalidLayer, false, map[string]string{"ref": ref, "detail": scan.Err})
	}
	idx := scan.BaseNameIndex
	if match == MatchExact {
		idx = scan.ExactIndex
	}
	if idx < 0 {
		if scan.Truncated != "" || !scan.Complete {
			out.Outcome, out.Message = OutcomeUnknown, "xpdoctor "+orDefault(scan.Truncated, "stopped reading")+" before finding package.yaml"
			return out
		}
		reason := findings.PackageYAMLNotFound
		if scan.BaseNameIndex >= 0 {
			reason = findings.PackageYAMLNotAtRoot
		}
		return fail(reason, StageFetch, m.NotFound, true, map[string]string{"ref": ref, "files": strconv.Itoa(scan.Entries), "annotated": strconv.FormatBool(annotated)})
	}
	if c := judgeContents(t, img.Package, ref); c != nil {
		return fail(c.reason, c.stage, c.tmpl, c.exact, c.vars)
	}
	if annotated {
		l := img.Layers[img.BaseLayers[0]]
		out.Outcome, out.Exact = OutcomeBaseLayer, true
		out.DownloadBytes = l.Size
		out.Message = fmt.Sprintf("reads %s from annotated layer %d (%s)", scan.BaseNamePath, img.BaseLayers[0]+1, HumanBytes(l.Size))
		if len(img.BaseLayers) > 1 {
			judgeOtherBase(img, &out)
		}
	} else {
		out = judgeFlatten(t, img, scan, o, out)
	}
	if o.Dependencies != nil && img.Package != nil && img.Package.Meta != nil {
		return judgeDependencies(t, img.Package.Meta, o.Dependencies, out)
	}
	return out
}

// resolveFailure is the failure of a reference that could not be read at
// all. Crossplane resolves it with HEAD and, when HEAD fails, GET; its
// message carries both texts (internal/xpkg/fetch.go@v1.20.0 Head). When
// HEAD succeeded the GET that fails is the fetch of the manifest instead.
func resolveFailure(t Target, r *xpkg.Report) (string, Stage, bool, map[string]string) {
	m, e := t.Messages, r.Err
	vars := map[string]string{"ref": r.Reference, "detail": e.LibraryText()}
	switch e.Kind {
	case xpkg.ErrInvalid, xpkg.ErrTooLarge:
		return m.Fetch, StageFetch, false, vars
	}
	digestRef := strings.Contains(r.Reference, "@")
	if digestRef && !t.HeadsDigests {
		// v2.2+ fetches a digest reference without HEAD (client.go@v2.3.3 Get).
		return m.Fetch, StageFetch, e.StatusCode != 0, vars
	}
	if r.Head == nil {
		// Not sent: Crossplane's HEAD text is unknown.
		vars["head"] = "HEAD ..."
		return m.Resolve, StageResolve, false, vars
	}
	if r.Head.Error == "" {
		// HEAD answered: v1.x-v2.1 create the revision and fail fetching the
		// manifest by tag; v2.2+ fetches by the digest HEAD gave, whose URL
		// xpdoctor did not request.
		return m.Fetch, StageFetch, t.UnpackStages == StageResolve && e.StatusCode != 0, vars
	}
	vars["head"] = r.Head.Error
	// Exact when both texts are registry answers, which go-containerregistry
	// words the same at every version Crossplane pins.
	return m.Resolve, StageResolve, r.Head.StatusCode != 0 && e.StatusCode != 0, vars
}

// judgeOtherBase says what Crossplane v2.2+ installs from an image with
// several annotated layers: the first one's package.yaml, silently
// (crossplane-runtime:pkg/xpkg/client.go@v2.3.3 ExtractPackageYAML breaks
// at the first annotated layer), whatever the last one, the layer `xpkg
// build` appended, holds.
func judgeOtherBase(img *xpkg.ImageReport, out *Verdict) {
	ob, p := img.OtherBase, img.Package
	first := img.BaseLayers[0]
	out.Message += fmt.Sprintf(" and ignores the other %d annotated layer(s)", len(img.BaseLayers)-1)
	if ob == nil || ob.SameContent(p) || ob.Package == nil || p == nil || p.Meta == nil {
		return
	}
	inst := &Installed{Layer: first + 1, Kind: p.Meta.Kind, Name: p.Meta.Name, Groups: p.Groups}
	out.Installs, out.Reason = inst, findings.MultipleBaseLayers
	meant := "a different package.yaml"
	if om := ob.Package.Meta; om != nil {
		meant = om.Kind + "/" + om.Name
		if om.Kind == inst.Kind && om.Name == inst.Name {
			meant += ", with other contents"
		}
	}
	out.Message = fmt.Sprintf("installs %s from annotated layer %d (%s), not %s in annotated layer %d (the layer `crossplane xpkg build` appends last); Crossplane reports no error",
		inst.Kind+"/"+inst.Name, first+1, groupsText(inst.Groups), meant, ob.Layer+1)
}

func groupsText(gs []string) string {
	switch len(gs) {
	case 0:
		return "no CRDs or XRDs"
	case 1:
		return "API group " + gs[0]
	}
	const show = 5
	if len(gs) > show {
		return fmt.Sprintf("API groups %s and %d more", strings.Join(gs[:show], ", "), len(gs)-show)
	}
	return "API groups " + strings.Join(gs, ", ")
}

func judgeFlatten(t Target, img *xpkg.ImageReport, scan *xpkg.TarScan, o JudgeOptions, out Verdict) Verdict {
	var toPackage int64
	for i := max(scan.LowestLayer, 0); i < len(img.Layers); i++ {
		toPackage += img.Layers[i].Size
	}
	total := img.CompressedSize()
	out.Outcome, out.Exact = OutcomeFlatten, true
	if t.ValidateFlatten {
		// validate.Image streams every layer compressed and then uncompressed,
		// each a download (ggcr:pkg/v1/validate/layer.go@v0.19.0), before
		// mutate.Extract reads down to package.yaml.
		out.DownloadBytes = 2*total + toPackage
		out.Message = fmt.Sprintf("no annotated layer: validates the whole image (%d layers, %s, read twice) then flattens it to find package.yaml: about %s within the %s %s deadline",
			len(img.Layers), HumanBytes(total), HumanBytes(out.DownloadBytes), t.Deadline, t.Reconciler)
	} else {
		out.DownloadBytes = toPackage
		out.Message = fmt.Sprintf("no annotated layer: flattens the image top-down to find package.yaml: about %s within the %s %s deadline",
			HumanBytes(out.DownloadBytes), t.Deadline, t.Reconciler)
	}
	if o.Bandwidth > 0 {
		need := time.Duration(float64(out.DownloadBytes) / float64(o.Bandwidth) * float64(time.Second))
		if need > t.Deadline {
			out.Reason, out.Stage = findings.FlattenPathTooSlow, StageFetch
			out.Object, out.Event, _ = t.Surface(StageFetch)
			out.Message += fmt.Sprintf("; at %s/s that takes %s, over the deadline: expect %q", HumanBytes(o.Bandwidth), need.Round(time.Second), Render(t.Messages.FlattenTimeout, map[string]string{"ref": img.Digest}))
		}
	}
	return out
}

// contentFailure is a failure after package.yaml was found.
type contentFailure struct {
	reason findings.Code
	stage  Stage
	tmpl   string
	exact  bool
	vars   map[string]string
}

// judgeContents applies what every generation does after finding
// package.yaml: parse, lint (exactly one meta object) and the Crossplane
// version constraint (revision/reconciler.go@v2.1.3, @v2.3.4).
func judgeContents(t Target, p *xpkg.PackageFile, ref string) *contentFailure {
	m := t.Messages
	if p == nil {
		return nil
	}
	parse := func(reason findings.Code, detail string, exact bool) *contentFailure {
		return &contentFailure{reason: reason, stage: StageParse, tmpl: m.ParseContents, exact: exact, vars: map[string]string{"ref": ref, "detail": detail}}
	}
	switch {
	case p.TooLarge:
		return parse(findings.PackageYAMLTooLarge, fmt.Sprintf("package.yaml is larger than %s and is cut off there", HumanBytes(xpkg.MaxPackageYAMLBytes)), false)
	case p.ParseError != "":
		return parse(findings.PackageYAMLInvalid, p.ParseError, p.ParseErrorExact)
	}
	if k, ok := unregistered(t, p); ok {
		return parse(findings.PackageYAMLInvalid, k, t.Version != nil && schemeNames[t.Version.String()] != "")
	}
	if p.MetaCount != 1 {
		c := &contentFailure{reason: findings.PackageYAMLInvalid, stage: StageLint, tmpl: m.NotOneMeta, exact: true}
		return c
	}
	if t.Version != nil && p.Meta != nil && p.Meta.Crossplane != "" {
		c, err := semver.NewConstraint(p.Meta.Crossplane)
		vars := map[string]string{"version": "v" + t.Version.String()}
		if err != nil {
			// lint.go wraps the semver error, which xpdoctor's semver words differently.
			return &contentFailure{reason: findings.PackageYAMLInvalid, stage: StageLint, tmpl: m.Incompatible, vars: vars}
		}
		if !c.Check(t.Version) {
			return &contentFailure{reason: findings.CrossplaneVersionIncompat, stage: StageLint, tmpl: m.Incompatible, exact: true, vars: vars}
		}
	}
	return nil
}

// stoppedErr is the report's error when it is xpdoctor's own limit.
func stoppedErr(r *xpkg.Report) *xpkg.RegistryError {
	if r.Err.Stopped() {
		return r.Err
	}
	if img := r.SelectedImage(); img != nil && img.Err.Stopped() {
		return img.Err
	}
	return nil
}

// objectGroups are the API groups of Crossplane's package schemes: the meta
// scheme and the object scheme every package is parsed with
// (internal/xpkg/scheme.go@v1.20.0 and @v2.1.3 BuildMetaScheme and
// BuildObjectScheme, crossplane-runtime:pkg/xpkg/scheme.go@v2.3.3). An
// object of any other group is "not registered" in both, and the parse
// fails. Kinds within these groups are not modelled.
var objectGroups = map[string]bool{"meta.pkg.crossplane.io": true, "apiextensions.crossplane.io": true, "ops.crossplane.io": true,
	"apiextensions.k8s.io": true, "admissionregistration.k8s.io": true}

// schemeNames are the names apimachinery gives Crossplane's schemes: the
// line of runtime.NewScheme's GetNameFromCallsite in the apimachinery
// version each release pins (pkg/runtime/scheme.go@v0.31.2 line 100 for
// v1.20.0, as real v1.20.0 prints; @v0.34.1 line 110 for v2.1.3; @v0.35.3
// line 111 for v2.3.4).
var schemeNames = map[string]string{
	"1.20.0": "pkg/runtime/scheme.go:100",
	"2.1.3":  "pkg/runtime/scheme.go:110",
	"2.3.4":  "pkg/runtime/scheme.go:111",
}

// unregistered names the first object of a group Crossplane's parser does
// not know, in the words of apimachinery's notRegisteredErr
// (runtime/error.go@v0.31.2); the scheme's name is known for the versions
// in schemeNames only.
func unregistered(t Target, p *xpkg.PackageFile) (string, bool) {
	scheme := "..."
	if t.Version != nil && schemeNames[t.Version.String()] != "" {
		scheme = schemeNames[t.Version.String()]
	}
	for _, k := range p.Kinds {
		group := ""
		if g, _, ok := strings.Cut(k.APIVersion, "/"); ok {
			group = g
		}
		if !objectGroups[group] {
			return fmt.Sprintf("no kind %q is registered for version %q in scheme %q", k.Kind, k.APIVersion, scheme), true
		}
	}
	return "", false
}

// reasonFor maps a registry error to its finding code.
func reasonFor(e *xpkg.RegistryError) findings.Code {
	switch e.Kind {
	case xpkg.ErrNotFound:
		return findings.ManifestNotFound
	case xpkg.ErrUnauthorized:
		return findings.RegistryUnauthorized
	case xpkg.ErrTLS:
		return findings.RegistryTLSUntrusted
	case xpkg.ErrUnreachable, xpkg.ErrPlainHTTP:
		return findings.RegistryUnreachable
	case xpkg.ErrRateLimited:
		return findings.RegistryRateLimited
	case xpkg.ErrContentMismatch:
		return findings.RegistryContentMismatch
	}
	return findings.ManifestInvalid
}

func orDefault(s, d string) string {
	if s != "" {
		return s
	}
	return d
}

// HumanBytes renders a size like "50.1 MB" (SI units, as registries report).
func HumanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
