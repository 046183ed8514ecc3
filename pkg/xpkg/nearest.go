package xpkg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

// maxHintTags bounds the tags listed to suggest the nearest ones to a tag
// that does not exist: ten pages of 1,000.
const maxHintTags = 10_000

// nearestTagCount is how many tags a missing tag's error offers.
const nearestTagCount = 3

// explainMissingTag turns a manifest that was not found by tag into what
// it is: the tag missing from a repository that holds others (with the
// nearest of them), or the repository missing. When the registry does not
// list tags, the error stays as the registry answered it, and says so.
func (c *Client) explainMissingTag(ctx context.Context, ref name.Reference, re *RegistryError) {
	tag, ok := ref.(name.Tag)
	if !ok || re.Kind != ErrNotFound || ctx.Err() != nil {
		return
	}
	repo := ref.Context()
	// The tag is named once.
	answered := strings.ReplaceAll(registryAnswer(re), " (tag "+tag.TagStr()+")", "")
	tags, err := c.listTags(ctx, repo, maxHintTags)
	var le *RegistryError
	switch {
	case err == nil && len(tags) == 0, errors.As(err, &le) && le.Kind == ErrNotFound:
		re.Detail = fmt.Sprintf("repository %s does not exist, or holds no tag (the registry answered %s)", repo, answered)
		re.RepositoryMissing = true
	case err == nil && slices.Contains(tags, tag.TagStr()):
		// A registry that lies, or a tag deleted between the two reads.
		re.Detail = fmt.Sprintf("tag %s is listed in %s, but the registry has no manifest for it (it answered %s)", tag.TagStr(), repo, answered)
	case err != nil:
		re.Detail = fmt.Sprintf("tag %s does not exist in %s (the registry answered %s; it does not list the tags it has: %s)", tag.TagStr(), repo, answered, tagListAnswer(err))
	default:
		re.NearestTags = NearestTags(tag.TagStr(), tags, nearestTagCount)
		re.Detail = fmt.Sprintf("tag %s does not exist in %s (the registry answered %s); the nearest tags there: %s", tag.TagStr(), repo, answered, strings.Join(re.NearestTags, ", "))
	}
}

// registryAnswer is what the registry answered, without the request:
// "404 Not Found: MANIFEST_UNKNOWN: manifest unknown".
func registryAnswer(re *RegistryError) string {
	var te *transport.Error
	if errors.As(re, &te) {
		return redact.Patterns(describeAnswer(te))
	}
	s := fmt.Sprint(re.StatusCode)
	for _, code := range []string{"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "NOT_FOUND"} {
		if strings.Contains(re.LibraryText(), code) {
			return s + " " + code
		}
	}
	return s
}

func tagListAnswer(err error) string {
	var re *RegistryError
	if errors.As(err, &re) {
		if re.StatusCode != 0 {
			return fmt.Sprintf("%d to its tag list", re.StatusCode)
		}
		return re.Detail
	}
	return Describe(err)
}

// NearestTags are the n tags of have nearest to want: by semantic version
// when want is one (the same major and minor first, then the closest
// versions, newer before older), else by edit distance; ties by name.
func NearestTags(want string, have []string, n int) []string {
	type scored struct {
		tag   string
		score [3]float64
	}
	wv, werr := semver.NewVersion(want)
	var out []scored
	for _, h := range have {
		s := scored{tag: h}
		d := float64(editDistance(strings.ToLower(want), strings.ToLower(h)))
		if hv, err := semver.NewVersion(h); werr == nil && err == nil {
			s.score = [3]float64{semverDistance(wv, hv), d, 0}
		} else {
			// Not versions: after every version, by edit distance.
			s.score = [3]float64{1e18, d, 0}
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].score, out[j].score
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return out[i].tag < out[j].tag
	})
	tags := make([]string, 0, n)
	for _, s := range out {
		if len(tags) == n {
			break
		}
		tags = append(tags, s.tag)
	}
	return tags
}

// semverDistance orders versions by how far they are from want: major
// first, then minor, then patch; a prerelease where a release was asked for (or the reverse) counts as five patches; a
// newer version before an older one at the same distance.
func semverDistance(want, have *semver.Version) float64 {
	abs := func(a, b uint64) float64 {
		if a > b {
			return float64(a - b)
		}
		return float64(b - a)
	}
	d := abs(want.Major(), have.Major())*1e12 + abs(want.Minor(), have.Minor())*1e6 + abs(want.Patch(), have.Patch())*10
	if want.Prerelease() != have.Prerelease() {
		// Farther than five patch releases: a release before a prerelease.
		d += 50
	}
	if have.LessThan(want) {
		d++
	}
	return d
}

// editDistance is Levenshtein's distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ExplainNotFound is err, from reading ref, as a *RegistryError; when the
// registry has no manifest for ref's tag it says what is missing and the
// nearest tags there, as Read does (transfer's reads of a source use it).
func (c *Client) ExplainNotFound(ctx context.Context, ref name.Reference, err error) error {
	if err == nil {
		return nil
	}
	re := classify(ref.String(), err)
	c.explainMissingTag(ctx, ref, re)
	return re
}
