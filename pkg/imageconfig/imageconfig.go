// Package imageconfig builds the one kind of ImageConfig xpdoctor proposes
// or writes: a rewrite of an upstream source prefix to a mirror prefix
// (pkg.crossplane.io ImageConfig spec.matchImages + spec.rewriteImage, from
// Crossplane v1.20.0, PR crossplane/crossplane#6421). closure, diagnose and
// fix all build their ImageConfigs here, so following one command's advice
// and then running another never yields two objects for one prefix.
package imageconfig

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// DefaultAPIVersion is ImageConfig's only served version so far
// (apis/pkg/v1beta1/image_config_types.go@v2.3.4). Callers that talk to a
// cluster pass the version discovery reports instead.
const DefaultAPIVersion = "pkg.crossplane.io/v1beta1"

// ManagedBy labels the objects xpdoctor writes.
const ManagedBy = "xpdoctor"

// Rewrite maps every source under From to the same path under To.
type Rewrite struct {
	From, To string
}

// Prefix normalises a prefix to end at a path boundary: Crossplane matches
// spec.matchImages prefixes as raw string prefixes of spec.package
// (PR #6421), so "xpkg.upbound.io/upbound" would also match
// "xpkg.upbound.io/upbound-contrib/...".
func Prefix(p string) string {
	return strings.TrimSuffix(strings.TrimSpace(p), "/") + "/"
}

// Name is the object name for a rewrite of from: one name per upstream
// prefix, whoever builds it.
func Name(from string) string {
	return "xpdoctor-" + xpkg.DNSLabel(strings.TrimSuffix(from, "/"))
}

// Object is the ImageConfig for r, as an unstructured object.
func Object(apiVersion string, r Rewrite) map[string]any {
	if apiVersion == "" {
		apiVersion = DefaultAPIVersion
	}
	return map[string]any{
		"apiVersion": apiVersion,
		"kind":       "ImageConfig",
		"metadata": map[string]any{
			"name":   Name(r.From),
			"labels": map[string]any{"app.kubernetes.io/managed-by": ManagedBy},
		},
		"spec": map[string]any{
			"matchImages":  []any{map[string]any{"type": "Prefix", "prefix": Prefix(r.From)}},
			"rewriteImage": map[string]any{"prefix": Prefix(r.To)},
		},
	}
}

// YAML renders the ImageConfigs for rs as one multi-document stream that
// `kubectl apply -f -` accepts, sorted by name, one object per upstream prefix.
func YAML(apiVersion string, rs []Rewrite) (string, error) {
	byName := map[string]Rewrite{}
	for _, r := range rs {
		byName[Name(r.From)] = r
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		out, err := yaml.Marshal(Object(apiVersion, byName[n]))
		if err != nil {
			return "", fmt.Errorf("rendering ImageConfig %s: %w", n, err)
		}
		b.WriteString("---\n")
		b.Write(out)
	}
	return b.String(), nil
}
