package xpkg

import "strings"

// Org is registry host plus first path segment: what Crossplane's RBAC
// manager compares for provider families (OrgDiffer,
// internal/controller/rbac/provider/roles/reconciler.go@v1.16.0).
func Org(ref string) string {
	parts := strings.SplitN(ref, "/", 3)
	if len(parts) < 3 {
		return ref
	}
	return parts[0] + "/" + parts[1]
}

// RepositoryOf strips the tag and digest of a reference string.
func RepositoryOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i:], "/") {
		ref = ref[:i]
	}
	return ref
}

// DNSLabel turns a reference or prefix into a DNS-label-safe name part
// (lowercase alphanumerics and dashes, at most 50 characters).
func DNSLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 50 {
		out = strings.Trim(out[:50], "-")
	}
	return out
}
