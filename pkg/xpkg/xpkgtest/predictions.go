package xpkgtest

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Prediction is a package whose fate differs between Crossplane versions,
// or whose message xpdoctor must reproduce: the end-to-end suite installs
// each on real Crossplane cores and records what they say, and the unit
// tests judge the same images against those records.
type Prediction struct {
	// Name is the case and the Provider object's name.
	Name string
	// Ref is the spec.package to install.
	Ref string
	// Private is true when Ref is on the registry that requires credentials.
	Private bool
	// After names a case that must be installed and healthy first: the
	// dependency resolver installs one missing dependency at a time and
	// stops at the first it cannot, so resolvable ones go first.
	After string
}

// Predictions pushes the images of every prediction case to host (and
// private, with auth, for the one that needs credentials) and returns the
// cases, resolvable dependencies first.
func Predictions(host, private string, auth ...remote.Option) ([]Prediction, error) {
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	base := func(name string) Package {
		return Package{Kind: "Provider", Name: name, Crossplane: ">=v1.14.0-0", Objects: 1}
	}
	ref := func(name string) string { return host + "/e2e/" + name + ":v1.0.0" }
	var out []Prediction
	add := func(name string, img v1.Image, opts ...remote.Option) error {
		out = append(out, Prediction{Name: name, Ref: ref(name)})
		return Push(ref(name), img, opts...)
	}

	// A dependency that resolves, and packages that need it or miss theirs.
	dep := base("provider-dep")
	if err := Push(host+"/e2e/provider-dep:v1.0.0", dep.Image(amd64)); err != nil {
		return nil, err
	}
	old := base("provider-dep-old")
	if err := Push(host+"/e2e/provider-dep-old:v0.1.0", old.Image(amd64)); err != nil {
		return nil, err
	}
	depOK := base("dep-ok")
	depOK.DependsOn = []xpkg.Dependency{{Kind: "Provider", Package: host + "/e2e/provider-dep", Version: ">=v1.0.0"}}
	if err := add("dep-ok", depOK.Image(amd64)); err != nil {
		return nil, err
	}
	depMissing := base("dep-missing")
	depMissing.DependsOn = []xpkg.Dependency{{Kind: "Provider", Package: host + "/e2e/provider-nowhere", Version: ">=v1.0.0"}}
	if err := add("dep-missing", depMissing.Image(amd64)); err != nil {
		return nil, err
	}
	depNoVersion := base("dep-noversion")
	depNoVersion.DependsOn = []xpkg.Dependency{{Kind: "Provider", Package: host + "/e2e/provider-dep-old", Version: ">=v1.0.0"}}
	if err := add("dep-noversion", depNoVersion.Image(amd64)); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Name != "dep-ok" {
			out[i].After = "dep-ok"
		}
	}

	// ./package.yaml in the annotated layer: only v1.x matches the exact name.
	dot := base("dot-package-yaml")
	dot.Path = "./package.yaml"
	if err := add("dot-package-yaml", dot.Image(amd64)); err != nil {
		return nil, err
	}
	// A package built with --embed-runtime-image of an image that was a
	// package itself: two annotated layers, the old package's first.
	oldPkg := base("provider-embedded-old")
	twoBase := base("two-base")
	twoBase.Runtime = []v1.Layer{Layer(File{Name: xpkg.StreamFile, Body: oldPkg.PackageYAML()})}
	twoBase.ExtraBase = 1
	if err := add("two-base", twoBase.Image(amd64)); err != nil {
		return nil, err
	}
	// 300 layers: v1.x-v2.1 refuse more than 256.
	many := base("layers-300")
	for i := 0; i < 299; i++ {
		many.Runtime = append(many.Runtime, Layer(File{Name: fmt.Sprintf("f%03d", i), Body: []byte{byte(i)}}))
	}
	if err := add("layers-300", many.Image(amd64)); err != nil {
		return nil, err
	}
	// YAML errors in the first and in a later document: Crossplane counts
	// lines from the document's start, which keeps its "---" only in the first.
	bad1 := base("yaml-first-document")
	bad1.YAML = []byte("---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n  name: yaml-first-document\nspec:\n  crossplane:\n    version: [unclosed\n")
	if err := add("yaml-first-document", bad1.Image(amd64)); err != nil {
		return nil, err
	}
	bad2 := base("yaml-second-document")
	bad2.YAML = append(base("yaml-second-document").PackageYAML(), []byte("---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: bad\n  labels: {unclosed\n")...)
	if err := add("yaml-second-document", bad2.Image(amd64)); err != nil {
		return nil, err
	}
	// An object of a group no Crossplane scheme knows.
	cm := base("configmap-object")
	cm.YAML = append(base("configmap-object").PackageYAML(), []byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")...)
	if err := add("configmap-object", cm.Image(amd64)); err != nil {
		return nil, err
	}
	// No meta object: a lint failure up to v2.1, a validation failure from v2.2.
	noMeta := base("no-meta-object")
	noMeta.YAML = []byte("---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.no-meta-object.example.org\nspec:\n  group: no-meta-object.example.org\n  names:\n    kind: Thing\n    plural: things\n  scope: Cluster\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n")
	if err := add("no-meta-object", noMeta.Image(amd64)); err != nil {
		return nil, err
	}
	// A Crossplane constraint no version judged meets.
	future := base("crossplane-too-old")
	future.Crossplane = ">=v9.0.0"
	if err := add("crossplane-too-old", future.Image(amd64)); err != nil {
		return nil, err
	}
	// A tag that does not exist, and a registry that wants credentials.
	out = append(out, Prediction{Name: "missing-tag", Ref: host + "/e2e/provider-dep:v9.9.9"})
	if private != "" {
		p := Prediction{Name: "unauthorized", Ref: private + "/e2e/unauthorized:v1.0.0", Private: true}
		if err := Push(p.Ref, base("unauthorized").Image(amd64), auth...); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
