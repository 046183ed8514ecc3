package xpkg

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Mapping maps mirror references to upstream references by prefix.
type Mapping struct {
	// Mirror is a registry host with an optional repository prefix; empty
	// means any mirror.
	Mirror string
	// Upstream is a registry host with an optional repository prefix.
	Upstream string
}

// ParseMapping reads MIRROR=UPSTREAM or HOST[/PREFIX] (the latter maps any
// mirror onto that upstream, keeping the repository path).
func ParseMapping(s string) (Mapping, error) {
	s = strings.TrimSpace(s)
	mirror, upstream, hasEq := strings.Cut(s, "=")
	if !hasEq {
		upstream, mirror = mirror, ""
	}
	clean := func(p, what string) (string, error) {
		p = strings.TrimSuffix(strings.TrimSpace(p), "/")
		if p == "" {
			return "", fmt.Errorf("%s in %q is empty (want HOST[/PREFIX])", what, s)
		}
		if strings.ContainsAny(p, "@ \t") || strings.Contains(p, "://") {
			return "", fmt.Errorf("%s %q must be HOST[/PREFIX], without scheme, tag or digest", what, p)
		}
		host, _, _ := strings.Cut(p, "/")
		if !looksLikeHost(host) {
			return "", notARegistry(s, p, what, hasEq)
		}
		if _, err := name.NewRegistry(host); err != nil {
			return "", fmt.Errorf("%s %q: %w", what, p, err)
		}
		if _, err := name.NewRepository(p + "/x"); err != nil {
			return "", fmt.Errorf("%s %q is not a valid registry prefix: %w", what, p, err)
		}
		return p, nil
	}
	var err error
	if hasEq {
		if mirror, err = clean(mirror, "mirror"); err != nil {
			return Mapping{}, err
		}
	}
	if upstream, err = clean(upstream, "upstream"); err != nil {
		return Mapping{}, err
	}
	return Mapping{Mirror: mirror, Upstream: upstream}, nil
}

// notARegistry explains a side of a mapping that does not start with a
// registry host. go-containerregistry, like docker, reads a first part
// without a dot or a port (other than localhost) as a Docker Hub namespace,
// so "foo" would silently mean index.docker.io/foo
// (github.com/google/go-containerregistry@v0.22.1 pkg/name/repository.go).
func notARegistry(mapping, prefix, what string, hasEq bool) error {
	fixed := func(with string) string {
		if !hasEq {
			return with
		}
		mirror, upstream, _ := strings.Cut(mapping, "=")
		if what == "mirror" {
			return with + "=" + strings.TrimSpace(upstream)
		}
		return strings.TrimSpace(mirror) + "=" + with
	}
	return fmt.Errorf("%s %q is not a registry prefix: it must start with a registry host (a name with a dot or a port, or localhost), and %q would be read as a Docker Hub repository. Write it with its registry, e.g. %q (%q for Docker Hub)",
		what, prefix, prefix, fixed("registry.example.com/"+prefix), fixed("docker.io/"+prefix))
}

// String renders the mapping as it was given.
func (m Mapping) String() string {
	if m.Mirror == "" {
		return m.Upstream
	}
	return m.Mirror + "=" + m.Upstream
}

// Apply maps a mirror reference to its upstream. ok is false when the
// mapping does not cover ref.
func (m Mapping) Apply(ref string) (string, bool) {
	if m.Mirror != "" {
		rest, ok := cutPathPrefix(ref, m.Mirror)
		if !ok {
			return "", false
		}
		return m.Upstream + rest, true
	}
	host, path, ok := strings.Cut(ref, "/")
	if !ok || !looksLikeHost(host) {
		return "", false
	}
	_, upPrefix, _ := strings.Cut(m.Upstream, "/")
	if upPrefix != "" {
		if rest, ok := cutPathPrefix(path, upPrefix); ok {
			return m.Upstream + rest, true
		}
	}
	return m.Upstream + "/" + path, true
}

// MapAll applies the first mapping that covers ref (longest mirror first).
func MapAll(ms []Mapping, ref string) (string, bool) {
	best, bestLen := "", -1
	for _, m := range ms {
		if up, ok := m.Apply(ref); ok && len(m.Mirror) > bestLen {
			best, bestLen = up, len(m.Mirror)
		}
	}
	return best, bestLen >= 0
}

// cutPathPrefix removes prefix from s when it ends at a path, tag or digest
// boundary, returning the rest starting with that boundary.
func cutPathPrefix(s, prefix string) (string, bool) {
	if !strings.HasPrefix(s, prefix) {
		return "", false
	}
	rest := s[len(prefix):]
	if rest == "" || rest[0] == '/' || rest[0] == ':' || rest[0] == '@' {
		return rest, true
	}
	return "", false
}

func looksLikeHost(s string) bool {
	return strings.ContainsAny(s, ".:") || s == "localhost"
}
