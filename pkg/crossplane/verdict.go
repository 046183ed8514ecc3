package crossplane

import (
	"fmt"
	"strconv"
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
	// OutcomeFail does not parse.
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
	// Exact is true when Message is Crossplane's full text; false when its
	// tail is an underlying error that Crossplane may word differently.
	Exact bool `json:"exact"`
	// Reason is the finding code that explains a Fail or a risky Flatten.
	Reason findings.Code `json:"reason,omitempty"`
	// DownloadBytes is what Crossplane downloads to parse the package.
	DownloadBytes int64 `json:"downloadBytes,omitempty"`
	// Deadline is the reconcile timeout the parse runs under.
	Deadline string `json:"deadline,omitempty"`
}

// JudgeOptions tune the verdict.
type JudgeOptions struct {
	// Bandwidth is the assumed registry throughput in bytes per second, used
	// to tell whether the flatten path fits its deadline. 0 disables the check.
	Bandwidth int64
}

// Judge decides what a Crossplane generation (or version) does with the
// image xpkg read. It is a pure function of its inputs.
func Judge(t Target, r *xpkg.Report, o JudgeOptions) Verdict {
	m := t.Messages
	out := Verdict{Crossplane: t.Label(), Deadline: t.Deadline.String()}
	fail := func(reason findings.Code, tmpl string, exact bool, vars map[string]string) Verdict {
		out.Outcome, out.Reason, out.Exact = OutcomeFail, reason, exact
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
		return fail(reasonFor(r.Err), resolveOrFetch(m, r.Err), false, map[string]string{"ref": ref, "detail": r.Err.Detail})
	}
	img := r.SelectedImage()
	if img == nil {
		index := ref
		if t.MaxLayers == 0 {
			// v2.2+ fetches by the digest it resolved (client.go@v2.3.3 digestRef).
			index = r.Repository + "@" + r.Digest
		}
		return fail(findings.NoPlatformMatch, m.NoPlatform, true, map[string]string{"ref": ref, "platform": xpkg.PlatformString(&xpkg.CrossplanePlatform), "index": index})
	}
	if img.Err != nil {
		return fail(reasonFor(img.Err), m.Fetch, false, map[string]string{"ref": ref, "detail": img.Err.Detail})
	}
	if t.MaxLayers > 0 && len(img.Layers) > t.MaxLayers {
		return fail(findings.TooManyLayers, m.TooManyLayers, true, map[string]string{"layers": strconv.Itoa(len(img.Layers)), "max": strconv.Itoa(t.MaxLayers)})
	}
	if len(img.BaseLayers) > 1 && t.RejectMultipleBase {
		return fail(findings.MultipleBaseLayers, m.MultipleBase, true, nil)
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
		return fail(findings.LayerInvalid, m.InvalidLayer, false, map[string]string{"ref": ref, "detail": scan.Err})
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
		return fail(reason, m.NotFound, true, map[string]string{"ref": ref, "files": strconv.Itoa(scan.Entries), "annotated": strconv.FormatBool(annotated)})
	}
	if v, bad := judgeContents(t, img.Package, ref); bad {
		v.Crossplane, v.Deadline = out.Crossplane, out.Deadline
		return v
	}
	if annotated {
		l := img.Layers[img.BaseLayers[0]]
		out.Outcome, out.Exact = OutcomeBaseLayer, true
		out.DownloadBytes = l.Size
		out.Message = fmt.Sprintf("reads %s from annotated layer %d (%s)", scan.BaseNamePath, img.BaseLayers[0]+1, HumanBytes(l.Size))
		return out
	}
	return judgeFlatten(t, img, scan, o, out)
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
			out.Reason = findings.FlattenPathTooSlow
			out.Message += fmt.Sprintf("; at %s/s that takes %s, over the deadline: expect %q", HumanBytes(o.Bandwidth), need.Round(time.Second), Render(t.Messages.FlattenTimeout, map[string]string{"ref": img.Digest}))
		}
	}
	return out
}

// judgeContents applies what every generation does after finding
// package.yaml: parse, lint (exactly one meta object) and the Crossplane
// version constraint (revision/reconciler.go@v2.1.3).
func judgeContents(t Target, p *xpkg.PackageFile, ref string) (Verdict, bool) {
	m := t.Messages
	fail := func(reason findings.Code, tmpl string, vars map[string]string) (Verdict, bool) {
		return Verdict{Outcome: OutcomeFail, Reason: reason, Message: Render(tmpl, vars)}, true
	}
	if p == nil {
		return Verdict{}, false
	}
	switch {
	case p.TooLarge:
		return fail(findings.PackageYAMLTooLarge, m.ParseContents, map[string]string{"ref": ref, "detail": fmt.Sprintf("package.yaml is larger than %s and is cut off there", HumanBytes(xpkg.MaxPackageYAMLBytes))})
	case p.ParseError != "":
		return fail(findings.PackageYAMLInvalid, m.ParseContents, map[string]string{"ref": ref, "detail": p.ParseError})
	case p.MetaCount != 1:
		v, bad := fail(findings.PackageYAMLInvalid, m.NotOneMeta, nil)
		v.Exact = true
		return v, bad
	}
	if t.Version != nil && p.Meta != nil && p.Meta.Crossplane != "" {
		c, err := semver.NewConstraint(p.Meta.Crossplane)
		if err != nil {
			return fail(findings.PackageYAMLInvalid, m.Incompatible, map[string]string{"version": "v" + t.Version.String()})
		}
		if !c.Check(t.Version) {
			v, bad := fail(findings.CrossplaneVersionIncompat, m.Incompatible, map[string]string{"version": "v" + t.Version.String()})
			v.Exact = true
			return v, bad
		}
	}
	return Verdict{}, false
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

func resolveOrFetch(m Messages, e *xpkg.RegistryError) string {
	switch e.Kind {
	case xpkg.ErrInvalid, xpkg.ErrTooLarge:
		return m.Fetch
	}
	return m.Resolve
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
