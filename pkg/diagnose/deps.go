package diagnose

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/imageconfig"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// imageConfigSince is the first release with ImageConfig rewriteImage (PR #6421).
var imageConfigSince = semver.MustParse("1.20.0")

func dependencyAdvice(in Input, p cluster.Package, evidence []string) (string, string) {
	var missing []string
	for _, e := range evidence {
		missing = append(missing, MissingDependencies(e)...)
	}
	sort.Strings(missing)
	missing = uniq(missing)
	mirrorOrg := xpkg.Org(xpkg.RepositoryOf(p.Source()))
	msg := fmt.Sprintf("%s %s depends on packages the cluster cannot resolve", p.Kind, p.Name)
	if len(missing) > 0 {
		// The constraints come from the package's own package.yaml, when inspected.
		constraints := map[string]string{}
		if img, ok := in.Images[p.Source()]; ok && img.Package != nil && img.Package.Meta != nil {
			for _, d := range img.Package.Meta.DependsOn {
				constraints[d.Package] = d.Version
			}
		}
		named := make([]string, len(missing))
		for i, m := range missing {
			named[i] = m
			if c := constraints[m]; c != "" {
				named[i] += " (" + c + ")"
			}
			named[i] += ", looked up at " + whereCrossplaneLooks(in.Snapshot, m)
		}
		msg = fmt.Sprintf("%s %s depends on %s, which the cluster cannot resolve from where it looks", p.Kind, p.Name, strings.Join(named, ", "))
	}
	var b strings.Builder
	host, _, _ := strings.Cut(p.Source(), "/")
	fmt.Fprintf(&b, "mirror the package's whole dependency closure into the registry the cluster uses (from a machine that reaches the upstream):\n  kubectl xpdoctor mirror --closure %s %s --yes --emit-imageconfig\n", p.Source(), host)
	upstreams := map[string]bool{}
	for _, m := range missing {
		if o := xpkg.Org(m); o != mirrorOrg {
			upstreams[o] = true
		}
	}
	var ups []string
	for u := range upstreams {
		ups = append(ups, u)
	}
	sort.Strings(ups)
	if len(missing) > 0 {
		b.WriteString("or mirror each dependency next to the package:\n")
		for _, m := range missing {
			fmt.Fprintf(&b, "  kubectl xpdoctor mirror %s:VERSION %s/%s:VERSION --yes\n", m, mirrorOrg, lastSegments(m))
		}
	}
	yes, maybe := supportsRewrite(in.Target)
	if len(ups) > 0 && (yes || maybe) {
		b.WriteString("then make Crossplane look there (ImageConfig, Crossplane v1.20+):\n")
		rs := make([]imageconfig.Rewrite, len(ups))
		for i, u := range ups {
			rs[i] = imageconfig.Rewrite{From: u, To: mirrorOrg}
		}
		if y, err := imageconfig.YAML(imageconfig.DefaultAPIVersion, rs); err == nil {
			b.WriteString(y)
		}
	}
	if len(ups) > 0 && !yes {
		b.WriteString("Crossplane before v1.20 cannot rewrite dependency sources: install each dependency from the mirror by its fully qualified reference and set skipDependencyResolution: true on " + p.Name + " (the Lock will not track them; crossplane/crossplane#4588)\n")
	}
	if b.Len() == 0 {
		return msg, findings.Catalogue[findings.DependencyUnresolvable].Fix
	}
	return msg, strings.TrimRight(b.String(), "\n")
}

// supportsRewrite tells whether the target has ImageConfig rewriteImage:
// yes for v1.20+, maybe for a generation that straddles v1.20.
func supportsRewrite(t crossplane.Target) (yes, maybe bool) {
	if t.Version != nil {
		return !t.Version.LessThan(imageConfigSince), false
	}
	if t.From != nil && !t.From.LessThan(imageConfigSince) {
		return true, false
	}
	return false, t.Until == nil || t.Until.GreaterThan(imageConfigSince)
}

func lastSegments(ref string) string {
	parts := strings.SplitN(ref, "/", 3)
	if len(parts) == 3 {
		return parts[2]
	}
	return ref
}

func uniq(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// familyFindings flags provider family members whose registry and
// organisation differ from their family provider's.
func familyFindings(in Input) []findings.Finding {
	s := in.Snapshot
	families := map[string][]cluster.Package{}
	for _, p := range s.Packages {
		if p.Kind != "Provider" {
			continue
		}
		rev := currentRevision(s, p)
		if rev == nil || rev.Family == "" {
			continue
		}
		families[rev.Family] = append(families[rev.Family], p)
	}
	var names []string
	for f := range families {
		names = append(names, f)
	}
	sort.Strings(names)
	var out []findings.Finding
	for _, fam := range names {
		members := families[fam]
		ref := ""
		for _, m := range members {
			if strings.Contains(xpkg.RepositoryOf(m.Source()), "provider-"+fam) || strings.HasSuffix(xpkg.RepositoryOf(m.Source()), "/provider-family-"+strings.TrimPrefix(fam, "family-")) {
				ref = xpkg.Org(xpkg.RepositoryOf(m.Source()))
			}
		}
		if ref == "" && len(members) > 0 {
			ref = xpkg.Org(xpkg.RepositoryOf(members[0].Source()))
		}
		for _, m := range members {
			if o := xpkg.Org(xpkg.RepositoryOf(m.Source())); o != ref {
				out = append(out, findings.Finding{Code: findings.FamilyRegistryMismatch, Severity: findings.Error, Subject: findings.Subject{Kind: m.Kind, Name: m.Name},
					Image:       m.Source(),
					Message:     fmt.Sprintf("%s is in %s, but family %s is in %s: the RBAC manager will not grant it the family's ProviderConfig types", m.Name, o, fam, ref),
					Remediation: findings.Catalogue[findings.FamilyRegistryMismatch].Fix})
			}
		}
	}
	return out
}

// whereCrossplaneLooks applies the longest matching ImageConfig rewrite, as
// Crossplane v1.20+ does for dependency sources (PR #6421).
func whereCrossplaneLooks(s *cluster.Snapshot, dep string) string {
	best, bestLen, via := dep, -1, ""
	for _, ic := range s.ImageConfigs {
		if ic.RewritePrefix == "" {
			continue
		}
		for _, p := range ic.Prefixes {
			if strings.HasPrefix(dep, p) && len(p) > bestLen {
				best, bestLen, via = ic.RewritePrefix+strings.TrimPrefix(dep, p), len(p), ic.Name
			}
		}
	}
	if via == "" {
		host, _, _ := strings.Cut(dep, "/")
		return host + " (no ImageConfig rewrites it)"
	}
	return best + " (rewritten by ImageConfig " + via + ")"
}
