package crossplane

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ResolveDependency picks the tag (or digest) Crossplane's dependency
// resolver installs for a dependsOn version constraint, given the tags the
// registry lists (internal/controller/pkg/resolver/reconciler.go@v2.3.4
// findDependencyVersionToInstall): a digest is used as given; otherwise the
// highest tag that is a complete semantic version and satisfies the
// constraint. Pre-releases match only constraints that name a pre-release
// (Masterminds/semver). It returns the tag exactly as the registry lists it.
func ResolveDependency(constraint string, tags []string) (string, error) {
	constraint = strings.TrimSpace(constraint)
	if h, err := v1.NewHash(constraint); err == nil {
		return h.String(), nil
	}
	if constraint == "" {
		constraint = "*" // an empty version accepts any release
	}
	return resolveTag(constraint, tags, true)
}

// errInvalidConstraint marks a constraint the resolver cannot parse.
type errInvalidConstraint struct{ err error }

func (e errInvalidConstraint) Error() string { return e.err.Error() }

func (e errInvalidConstraint) Unwrap() error { return e.err }

// resolveTag picks the highest tag satisfying constraint;
// skipIncomplete ignores tags such as "v1" that only parse as 1.0.0
// (resolver/reconciler.go@v2.1.3 does, @v1.20.0 does not).
func resolveTag(constraint string, tags []string, skipIncomplete bool) (string, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", errInvalidConstraint{fmt.Errorf("invalid version constraint %q: %w", constraint, err)}
	}
	var vs []*semver.Version
	for _, tag := range tags {
		v, err := semver.NewVersion(tag)
		if err != nil {
			continue
		}
		// "v1" parses as 1.0.0 but may not be v1.0.0.
		if skipIncomplete && v.String() != strings.TrimPrefix(v.Original(), "v") {
			continue
		}
		vs = append(vs, v)
	}
	sort.Sort(semver.Collection(vs))
	best := ""
	for _, v := range vs {
		if c.Check(v) {
			best = v.Original()
		}
	}
	if best == "" {
		return "", fmt.Errorf("no tag satisfies %q (%d semantic-version tags listed)", constraint, len(vs))
	}
	return best, nil
}

// IsDigest reports whether a dependency version is a digest.
func IsDigest(version string) bool {
	_, err := v1.NewHash(strings.TrimSpace(version))
	return err == nil
}
