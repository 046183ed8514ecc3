package cmd

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
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

// completeKinds completes --kind, also after a comma: "Provider,F" offers
// "Provider,Function".
func completeKinds(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	given, partial := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		given, partial = toComplete[:i+1], toComplete[i+1:]
	}
	var out []string
	for _, k := range packageKindNames {
		if strings.HasPrefix(strings.ToLower(k), strings.ToLower(partial)) && !slices.Contains(strings.Split(strings.ToLower(given), ","), strings.ToLower(k)) {
			out = append(out, given+k)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
