package imageconfig

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The same upstream prefix, written with or without its trailing slash (as
// a --upstream-registry mapping and a closure host are), names one object
// with prefixes that end at a path boundary.
func TestOneObjectPerPrefix(t *testing.T) {
	a := Object("", Rewrite{From: "xpkg.upbound.io/upbound", To: "ecr.example/upbound"})
	b := Object("", Rewrite{From: "xpkg.upbound.io/upbound/", To: "ecr.example/upbound/"})
	if Name("xpkg.upbound.io/upbound") != Name("xpkg.upbound.io/upbound/") {
		t.Fatal("a trailing slash changes the name")
	}
	ya, _ := yaml.Marshal(a)
	yb, _ := yaml.Marshal(b)
	if string(ya) != string(yb) {
		t.Fatalf("two objects for one prefix:\n%s\n%s", ya, yb)
	}
	spec := a["spec"].(map[string]any)
	if got := spec["matchImages"].([]any)[0].(map[string]any)["prefix"]; got != "xpkg.upbound.io/upbound/" {
		t.Fatalf("match prefix %v", got)
	}
	out, err := YAML("pkg.crossplane.io/v1beta1", []Rewrite{{From: "b.io", To: "m.io/x"}, {From: "a.io/", To: "m.io/x"}, {From: "a.io", To: "m.io/x"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "kind: ImageConfig") != 2 || strings.Index(out, "xpdoctor-a-io") > strings.Index(out, "xpdoctor-b-io") {
		t.Fatalf("want two objects sorted by name:\n%s", out)
	}
}
