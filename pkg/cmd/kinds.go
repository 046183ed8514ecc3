package cmd

import (
	"slices"
	"strings"
)

// packageKinds are the kinds --kind names, each once, spelled as
// Crossplane spells them: "provider", "Providers" and "providers.pkg.crossplane.io"
// are Provider, as kubectl accepts them. --kind Provider --kind Function and
// --kind Provider,Function both keep both (pflag's StringSlice splits commas).
func packageKinds(given []string) ([]string, error) {
	var kinds []string
	for _, g := range given {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		k := kindOf(g)
		if k == "" {
			return nil, usageErrorf("--kind %q: want Provider, Function or Configuration", g)
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

// packageKindNames are the kinds xpdoctor diagnoses.
var packageKindNames = []string{"Provider", "Function", "Configuration"}

func kindOf(s string) string {
	s, _, _ = strings.Cut(s, ".")
	for _, k := range packageKindNames {
		if strings.EqualFold(s, k) || strings.EqualFold(s, k+"s") {
			return k
		}
	}
	return ""
}
