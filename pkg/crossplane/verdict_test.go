package crossplane

import (
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// image builds the observation for an image of n layers; base lists the
// annotated layers (0-based).
func image(n int, base ...int) *xpkg.ImageReport {
	img := &xpkg.ImageReport{Digest: "sha256:aa", BaseLayers: base}
	for i := 0; i < n; i++ {
		img.Layers = append(img.Layers, xpkg.Layer{Digest: "sha256:l", Size: 1000})
	}
	return img
}

func scan(annotated bool, entries, baseName, exact int, complete bool) *xpkg.TarScan {
	return &xpkg.TarScan{Annotated: annotated, Entries: entries, BaseNameIndex: baseName, ExactIndex: exact, Complete: complete, BaseNamePath: "package.yaml", LowestLayer: 0}
}

// head404 and get404 are go-containerregistry's texts for a missing tag
// (ggcr:pkg/v1/remote/transport/error.go@v0.19.2 Error.Error).
const (
	head404 = "HEAD https://reg.example/v2/p/manifests/v9: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details)"
	get404  = "GET https://reg.example/v2/p/manifests/v9: MANIFEST_UNKNOWN: manifest unknown; map[Tag:v9]"
)

var goodPackage = &xpkg.PackageFile{Path: "package.yaml", Documents: 2, MetaCount: 1, Meta: &xpkg.Meta{Kind: "Provider", Name: "p", Crossplane: ">=v1.14.0"}}

func report(img *xpkg.ImageReport) *xpkg.Report {
	return &xpkg.Report{Reference: "reg.example/p:v1", Repository: "reg.example/p", Digest: "sha256:top", Platforms: []xpkg.PlatformImage{{Platform: "linux/amd64", Image: img}}, Selected: 0}
}

func TestJudgeByGeneration(t *testing.T) {
	withScan := func(img *xpkg.ImageReport, base, flat *xpkg.TarScan, p *xpkg.PackageFile) *xpkg.ImageReport {
		img.BaseScan, img.FlattenScan, img.Package = base, flat, p
		return img
	}
	cases := []struct {
		name   string
		r      *xpkg.Report
		want   [4]Outcome
		reason string
		msg    [4]string
	}{
		{"annotated", report(withScan(image(2, 1), scan(true, 1, 0, 0, false), nil, goodPackage)),
			[4]Outcome{OutcomeBaseLayer, OutcomeBaseLayer, OutcomeBaseLayer, OutcomeBaseLayer}, "", [4]string{}},
		{"flatten", report(withScan(image(3), nil, scan(false, 1, 0, 0, false), goodPackage)),
			[4]Outcome{OutcomeFlatten, OutcomeFlatten, OutcomeFlatten, OutcomeFlatten}, "", [4]string{}},
		{"annotated, not at root", report(withScan(image(1, 0), scan(true, 3, 1, -1, true), nil, goodPackage)),
			[4]Outcome{OutcomeFail, OutcomeFail, OutcomeBaseLayer, OutcomeBaseLayer}, "PackageYAMLNotAtRoot",
			[4]string{"cannot initialize parser backend: failed to open package stream file: EOF",
				`cannot initialize parser backend: couldn't find "package.yaml" file after checking 3 files in the archive (annotated layer: true): EOF`, "", ""}},
		{"flatten, none", report(withScan(image(2), nil, scan(false, 108, -1, -1, true), nil)),
			[4]Outcome{OutcomeFail, OutcomeFail, OutcomeFail, OutcomeFail}, "PackageYAMLNotFound",
			[4]string{"", `cannot initialize parser backend: couldn't find "package.yaml" file after checking 108 files in the archive (annotated layer: false): EOF`, "",
				"cannot unpack package: cannot extract package content from reg.example/p:v1: package.yaml not found in package"}},
		{"257 layers", report(withScan(image(257, 256), scan(true, 1, 0, 0, false), nil, goodPackage)),
			[4]Outcome{OutcomeFail, OutcomeFail, OutcomeFail, OutcomeBaseLayer}, "TooManyLayers",
			[4]string{"cannot initialize parser backend: package has 257 layers, but only 256 are allowed", "", "", ""}},
		{"256 layers is allowed", report(withScan(image(256, 255), scan(true, 1, 0, 0, false), nil, goodPackage)),
			[4]Outcome{OutcomeBaseLayer, OutcomeBaseLayer, OutcomeBaseLayer, OutcomeBaseLayer}, "", [4]string{}},
		{"two base layers", report(withScan(image(2, 0, 1), scan(true, 1, 0, 0, false), nil, goodPackage)),
			[4]Outcome{OutcomeFail, OutcomeFail, OutcomeFail, OutcomeBaseLayer}, "MultipleBaseLayers",
			[4]string{"cannot initialize parser backend: package is invalid due to multiple annotated base layers", "", "", ""}},
		{"broken gzip", report(withScan(image(1, 0), &xpkg.TarScan{Annotated: true, Err: "invalid gzip: unexpected EOF", BaseNameIndex: -1, ExactIndex: -1}, nil, nil)),
			[4]Outcome{OutcomeFail, OutcomeFail, OutcomeFail, OutcomeFail}, "LayerInvalid",
			[4]string{"cannot initialize parser backend: invalid package layer: invalid gzip: unexpected EOF", "", "", ""}},
		{"scan truncated", report(withScan(image(1), nil, &xpkg.TarScan{Truncated: "stopped", BaseNameIndex: -1, ExactIndex: -1}, nil)),
			[4]Outcome{OutcomeUnknown, OutcomeUnknown, OutcomeUnknown, OutcomeUnknown}, "", [4]string{}},
		{"too large", report(withScan(image(1, 0), scan(true, 1, 0, 0, false), nil, &xpkg.PackageFile{TooLarge: true, MetaCount: 1})),
			[4]Outcome{OutcomeFail, OutcomeFail, OutcomeFail, OutcomeFail}, "PackageYAMLTooLarge", [4]string{"cannot parse package contents: package.yaml is larger than 209.7 MB", "", "", ""}},
		{"no amd64", &xpkg.Report{Reference: "reg.example/p:v1", Repository: "reg.example/p", Digest: "sha256:idx", IsIndex: true, Selected: -1},
			[4]Outcome{OutcomeFail, OutcomeFail, OutcomeFail, OutcomeFail}, "NoPlatformMatch",
			[4]string{"", "cannot initialize parser backend: failed to fetch package from remote: no child with platform linux/amd64 in index reg.example/p:v1", "",
				"cannot unpack package: cannot fetch package reg.example/p:v1: no child with platform linux/amd64 in index reg.example/p@sha256:idx"}},
		{"missing tag", &xpkg.Report{Reference: "reg.example/p:v9", Selected: -1, Head: &xpkg.HeadResponse{Error: head404, StatusCode: 404}, Err: &xpkg.RegistryError{Kind: xpkg.ErrNotFound, Detail: get404, StatusCode: 404}},
			[4]Outcome{OutcomeFail, OutcomeFail, OutcomeFail, OutcomeFail}, "ManifestNotFound",
			[4]string{"", "cannot unpack package: failed to fetch package digest from remote: failed to fetch package descriptor with a GET request after a previous HEAD request failure: " + head404 + ": " + get404, "",
				"cannot unpack package: cannot resolve reg.example/p:v9 to digest: failed to fetch package descriptor with a GET request after a previous HEAD request failure: " + head404 + ": " + get404}},
	}
	targets, err := Select(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i, tg := range targets {
				v := Judge(tg, c.r, JudgeOptions{})
				if v.Outcome != c.want[i] {
					t.Errorf("%s: %s, want %s (%s)", tg.Name, v.Outcome, c.want[i], v.Message)
				}
				if c.want[i] == OutcomeFail && string(v.Reason) != c.reason {
					t.Errorf("%s: reason %q, want %q", tg.Name, v.Reason, c.reason)
				}
				if c.msg[i] != "" && v.Message != c.msg[i] && !(c.reason == "PackageYAMLTooLarge" && len(v.Message) > len(c.msg[i]) && v.Message[:len(c.msg[i])] == c.msg[i]) {
					t.Errorf("%s:\n got %q\nwant %q", tg.Name, v.Message, c.msg[i])
				}
			}
		})
	}
}

func TestFlattenCostAndDeadline(t *testing.T) {
	img := image(3)
	img.Layers[0].Size, img.Layers[1].Size, img.Layers[2].Size = 100e6, 50e6, 1e3
	img.FlattenScan, img.Package = scan(false, 1, 0, 0, false), goodPackage
	img.FlattenScan.LowestLayer = 2
	r := report(img)
	targets, _ := Select([]string{"v1.20.0", "v2.3.4"})
	old := Judge(targets[0], r, JudgeOptions{Bandwidth: 1e6})
	if old.DownloadBytes != 2*150001000+1000 || old.Reason != "FlattenPathTooSlow" {
		t.Fatalf("v1.20: %+v", old)
	}
	cur := Judge(targets[1], r, JudgeOptions{Bandwidth: 1e6})
	if cur.DownloadBytes != 1000 || cur.Reason != "" || cur.Outcome != OutcomeFlatten {
		t.Fatalf("v2.3: %+v", cur)
	}
}

func TestVersionConstraint(t *testing.T) {
	img := image(1, 0)
	img.BaseScan, img.Package = scan(true, 1, 0, 0, false), &xpkg.PackageFile{MetaCount: 1, Meta: &xpkg.Meta{Crossplane: ">=v2.0.0-0"}}
	targets, _ := Select([]string{"v1.20.0", "v2.1.3"})
	if v := Judge(targets[0], report(img), JudgeOptions{}); v.Reason != "CrossplaneVersionIncompatible" ||
		v.Message != "incompatible Crossplane version: package is not compatible with Crossplane version (v1.20.0)" {
		t.Fatalf("%+v", v)
	}
	if v := Judge(targets[1], report(img), JudgeOptions{}); v.Outcome != OutcomeBaseLayer {
		t.Fatalf("%+v", v)
	}
}

func TestSelect(t *testing.T) {
	cases := map[string]string{"v1.13.2": "v1.13", "1.14.0": "v1.14-v1.20", "v1.20.11": "v1.14-v1.20", "v2.0.0-rc.1": "v2.0-v2.1",
		"v2.1.3": "v2.0-v2.1", "v2.2.0": "v2.2+", "v2.3.4-up.1": "v2.2+", "v3.0.0": "v2.2+"}
	for in, want := range cases {
		ts, err := Select([]string{in})
		if err != nil || len(ts) != 1 || ts[0].Name != want {
			t.Errorf("%s: %v %v", in, ts, err)
		}
	}
	for _, bad := range []string{"banana", ""} {
		if _, err := Select([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
