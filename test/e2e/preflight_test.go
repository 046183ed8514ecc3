package e2e

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	xp "github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// v1Only is a package whose spec.crossplane.version admits v1 only: healthy
// on v1.20, refused by every v2 core on its revision (RevisionHealthy
// False, "incompatible Crossplane version: ...",
// internal/controller/pkg/revision/reconciler.go@v2.3.4 errIncompatible).
// It is what the upgrade itself breaks.
const v1Only = "v1-only"

func pushV1Only(t *testing.T, host string) string {
	t.Helper()
	ref := host + "/e2e/" + v1Only + ":v1.0.0"
	p := xpkgtest.Package{Kind: "Provider", Name: v1Only, Crossplane: ">=v1.14.0-0, <v2.0.0-0", Objects: 1}
	if err := xpkgtest.Push(ref, p.Image(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		t.Fatal(err)
	}
	return ref
}

// preflightUpgrades runs `preflight --to` against the cluster of the older
// core, once settled, for each newer core of the suite.
func preflightUpgrades(t *testing.T, cp *crossplane, targets []string) map[string]*preflight.Report {
	t.Helper()
	out := map[string]*preflight.Report{}
	for _, to := range targets {
		if to == cp.version {
			continue
		}
		stdout, errOut, code := xpdoctor(t, "preflight", "--kubeconfig", cp.kubeconfig, "--to", to, "-o", "json")
		var rep preflight.Report
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != rep.ExitCode() || rep.Running != cp.version {
			t.Fatalf("preflight --to %s on %s: exit %d, %v\n%s\n%s", to, cp.version, code, err, stdout, errOut)
		}
		out[to] = &rep
	}
	return out
}

// v1OnlyVerdict is what observe waits for: healthy on v1, else the
// message preflight predicted for this core (from the older core's cluster).
func v1OnlyVerdict(version string, pre *preflight.Report) xp.Verdict {
	if strings.HasPrefix(version, "v1.") || pre == nil {
		return xp.Verdict{Outcome: xp.OutcomeBaseLayer}
	}
	v := xp.Verdict{Outcome: xp.OutcomeFail, Object: "revision", RevisionCreated: true, Exact: true}
	if c := predictedFailure(packageOf(pre, v1Only)); c != nil {
		v.Message = c.Message
	}
	return v
}

func packageOf(rep *preflight.Report, name string) *preflight.PackageResult {
	for i := range rep.Packages {
		if rep.Packages[i].Name == name {
			return &rep.Packages[i]
		}
	}
	return nil
}

// predictedFailure is the check whose message is the text Crossplane
// reports first: the image (read, parse, lint), then the Crossplane
// constraint; nil when neither breaks.
func predictedFailure(p *preflight.PackageResult) *preflight.Check {
	if p == nil {
		return nil
	}
	for _, name := range []string{preflight.CheckImage, preflight.CheckConstraint} {
		for i := range p.Checks {
			if c := &p.Checks[i]; c.Check == name && c.Status == preflight.Breaks {
				return c
			}
		}
	}
	return nil
}

// unreadable are the cases whose image xpdoctor cannot read without the
// cluster's help (a tag that does not exist, a registry that wants
// credentials the cluster does not hold): preflight says Unknown for them,
// and must for no other.
var unreadable = []string{"missing-tag", "unauthorized"}

// agreeWithPreflight compares what the newer core did with each package
// with preflight's prediction made on the older core's cluster: a package
// preflight says Breaks is not healthy, and shows the predicted message
// when the image or the Crossplane constraint breaks; any other status is
// healthy; Unknown only for the unreadable cases.
func agreeWithPreflight(t *testing.T, version string, pre *preflight.Report, got map[string]observed) {
	t.Helper()
	var unknown []string
	compared := 0
	for name, o := range got {
		p := packageOf(pre, name)
		if p == nil {
			t.Errorf("preflight --to %s did not judge %s", version, name)
			continue
		}
		healthy := o.Object == ""
		switch p.Status {
		case preflight.Unknown:
			unknown = append(unknown, name)
			continue
		case preflight.Breaks:
			if healthy {
				t.Errorf("%s: preflight says it breaks on %s (%s), the core installed it", name, version, summary(p))
				continue
			}
			if c := predictedFailure(p); c != nil && o.Message != c.Message && !strings.HasPrefix(o.Message, prefixOf(xp.Verdict{Message: c.Message})) {
				t.Errorf("%s on %s: preflight predicts %q (%s), the core says %q", name, version, c.Message, c.Check, o.Message)
			}
		default:
			if !healthy {
				t.Errorf("%s: preflight says %s for %s (%s), the core says on the %s: %q", name, p.Status, version, summary(p), o.Object, o.Message)
			}
		}
		compared++
	}
	sort.Strings(unknown)
	if strings.Join(unknown, ",") != strings.Join(unreadable, ",") {
		t.Errorf("preflight --to %s could not tell for %v, want exactly %v", version, unknown, unreadable)
	}
	t.Logf("preflight from v1.20.0 to %s agrees with the core on %d packages (%d unreadable)", version, compared, len(unknown))
}

func summary(p *preflight.PackageResult) string {
	var parts []string
	for _, c := range p.Checks {
		if c.Status != preflight.Safe {
			parts = append(parts, c.Check+"="+string(c.Status)+": "+c.Message)
		}
	}
	return strings.Join(parts, "; ")
}
