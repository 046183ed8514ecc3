package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	xp "github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// CaptureEnv names a file the suite writes what the cores said into
// (hosts replaced by REGISTRY and PRIVATE), for
// pkg/inspect/testdata/crossplane-messages.json.
const CaptureEnv = "XPDOCTOR_E2E_CAPTURE"

var (
	gvrLock = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1beta1", Resource: "locks"}
	gvrCRD  = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	// v2 installs a provider's CRDs as ManagedResourceDefinitions
	// (revision/reconciler.go@v2.3.4 ConvertCRDToMRD).
	gvrMRD = schema.GroupVersionResource{Group: "apiextensions.crossplane.io", Version: "v1alpha1", Resource: "managedresourcedefinitions"}
)

// Versions are the Crossplane cores the suite runs: the last v1 minor, the
// last ImageBackend v2 and the xpkg.Client v2.
var versions = []string{"v1.20.0", "v2.1.3", "v2.3.4"}

// observed is what a core did with one package.
type observed struct {
	// Object is where the failure was: "package" or "revision"; "" when healthy.
	Object  string `json:"object,omitempty"`
	Message string `json:"message,omitempty"`
	// Lock is the Lock's Resolved=False message, for dependency failures.
	Lock string `json:"lock,omitempty"`
	// Revision tells whether a revision was created.
	Revision bool `json:"revisionCreated"`
	// Groups are the API groups of the CRDs it installed (healthy packages).
	Groups []string `json:"groups,omitempty"`
}

// TestCrossplaneAgreesOnPredictions installs, on each core, the packages
// whose fate differs between Crossplane versions, and checks that
// xpdoctor's verdict for that version says what the core does: healthy or
// not, the message, on which object, whether a revision exists, which
// package content it installs, and for dependencies the Lock's message.
func TestCrossplaneAgreesOnPredictions(t *testing.T) {
	requireE2E(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.Process(t)
	private := testregistry.Process(t, robot, robotToken)
	cases, err := xpkgtest.Predictions(reg.Host, private.Host, remote.WithAuth(&authn.Basic{Username: robot, Password: robotToken}))
	if err != nil {
		t.Fatal(err)
	}
	captured := map[string]map[string]observed{}
	// preflight's predictions for each newer core, made on v1.20.0's
	// cluster with the same packages (preflight_test.go).
	v1OnlyRef := pushV1Only(t, reg.Host)
	var preflights map[string]*preflight.Report
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			if only := os.Getenv("XPDOCTOR_E2E_VERSIONS"); only != "" && !strings.Contains(only, version) {
				t.Skipf("not in XPDOCTOR_E2E_VERSIONS=%s", only)
			}
			cp := startCrossplane(t, version)
			got := map[string]observed{}
			captured[version] = got
			created := map[string]bool{}
			var order []xpkgtest.Prediction
			for _, c := range cases {
				if c.After == "" {
					order = append(order, c)
				}
			}
			for _, c := range cases {
				if c.After != "" {
					order = append(order, c)
				}
			}
			verdicts := map[string]xp.Verdict{}
			for _, c := range order {
				verdicts[c.Name] = predict(t, c.Ref, version)
			}
			for _, c := range order {
				if c.After != "" && !created[c.After] {
					t.Fatalf("%s must follow %s", c.Name, c.After)
				}
				if c.After != "" {
					cp.waitFor(t, c.After+" healthy first", 3*time.Minute, func() bool {
						return cp.condition(t, c.After, "Installed") == "True" && cp.condition(t, c.After, "Healthy") == "True"
					}, func() string { return strings.Join(cp.messages(t, c.After), " | ") })
				}
				cp.createProvider(t, c.Name, c.Ref, nil)
				created[c.Name] = true
			}
			cp.createProvider(t, v1Only, v1OnlyRef, nil)
			// The resolver reports only the first dependency it cannot
			// install, of whichever package came first: the Lock must say
			// what xpdoctor predicts for one of them.
			var locks []string
			for _, v := range verdicts {
				for _, d := range v.Dependencies {
					if d.Failure != "" && d.Exact {
						locks = append(locks, d.Failure)
					}
				}
			}
			for _, c := range order {
				t.Run(c.Name, func(t *testing.T) {
					v := verdicts[c.Name]
					o := cp.observe(t, c.Name, v)
					got[c.Name] = o
					agree(t, version, v, o, locks)
				})
			}
			// diagnose, inspecting every package, says the same where the
			// cluster shows nothing wrong: the healthy package installed from
			// the wrong annotated layer.
			out, errOut, code := xpdoctor(t, "--kubeconfig", cp.kubeconfig, "-o", "json", "--inspect", "all", "two-base")
			if code == 2 {
				t.Fatalf("diagnose: %s", errOut)
			}
			wantTwoBase := "error:MultipleBaseLayers"
			if v := verdicts["two-base"]; v.Installs == nil {
				wantTwoBase = "error:" + string(v.Reason)
			}
			if got := codes(t, out)["two-base"]; !contains(got, wantTwoBase) {
				t.Errorf("diagnose two-base: %v, want %s", got, wantTwoBase)
			}

			// The upgrade: preflight on v1.20.0's cluster predicts what each
			// newer core does with the same packages.
			withV1Only := map[string]observed{v1Only: cp.observe(t, v1Only, v1OnlyVerdict(version, preflights[version]))}
			for n, o := range got {
				withV1Only[n] = o
			}
			switch {
			case version == "v1.20.0":
				if withV1Only[v1Only].Object != "" {
					t.Errorf("%s is not healthy on %s: %+v", v1Only, version, withV1Only[v1Only])
				}
				preflights = preflightUpgrades(t, cp, versions)
			case preflights == nil:
				t.Logf("v1.20.0 did not run (XPDOCTOR_E2E_VERSIONS): no preflight to compare %s with", version)
			default:
				agreeWithPreflight(t, version, preflights[version], withV1Only)
			}
		})
	}
	if path := os.Getenv(CaptureEnv); path != "" {
		writeCapture(t, path, captured, reg.Host, private.Host)
	}
}

// predict is xpdoctor inspect's verdict for one version.
func predict(t *testing.T, ref, version string) xp.Verdict {
	t.Helper()
	out, errOut, code := xpdoctor(t, "inspect", ref, "--crossplane-version", version, "-o", "json")
	if code == 2 {
		t.Fatalf("inspect %s: %s", ref, errOut)
	}
	var rep inspect.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Images) != 1 || len(rep.Images[0].Verdicts) != 1 {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	return rep.Images[0].Verdicts[0]
}

// observe waits until the core has settled what the verdict is about (the
// package healthy, or a failure message where Crossplane puts it) and
// returns what it did.
func (c *crossplane) observe(t *testing.T, name string, v xp.Verdict) observed {
	t.Helper()
	ctx := context.Background()
	var o observed
	settled := func() bool {
		o = observed{}
		revs, _ := c.dyn.Resource(gvrRevision).List(ctx, metav1.ListOptions{LabelSelector: "pkg.crossplane.io/package=" + name})
		var rev *unstructured.Unstructured
		if revs != nil && len(revs.Items) > 0 {
			rev = &revs.Items[0]
			o.Revision = true
		}
		if c.condition(t, name, "Installed") == "True" && c.condition(t, name, "Healthy") == "True" {
			o.Groups = c.groupsOf(t, rev)
			return true
		}
		// A revision's own health condition is Healthy (v1.x) or
		// RevisionHealthy (v2.x); a package's failure to unpack is on Installed.
		if rev != nil {
			if m := failingCondition(rev, "RevisionHealthy", "Healthy"); m != "" {
				o.Object, o.Message = "revision", m
			}
		} else if p, err := c.dyn.Resource(gvrProvider).Get(ctx, name, metav1.GetOptions{}); err == nil {
			if m := failingCondition(p, "Installed", "Healthy"); m != "" {
				o.Object, o.Message = "package", m
			}
		}
		if v.Stage == xp.StageDependencies && o.Object == "revision" {
			o.Lock = c.lockMessage(t)
			return o.Lock != ""
		}
		// The runtime hook waiting for the harness to mark the Deployment
		// Available is a wait, not a failure: Crossplane retries it
		// (errNoAvailableConditionProviderDeployment,
		// internal/controller/pkg/revision/runtime_provider.go@v1.20.0).
		// Settling on it failed a package predicted healthy on a quiet machine.
		if v.Outcome != xp.OutcomeFail && strings.Contains(o.Message, `has no condition of type "Available" yet`) {
			return false
		}
		// A failure is settled when it is the stage predicted, or any
		// message at all once the predicted one had time to show.
		return o.Object != "" && (v.Outcome != xp.OutcomeFail || o.Message == v.Message || strings.HasPrefix(o.Message, prefixOf(v)))
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !settled() {
		if time.Now().After(deadline) {
			t.Logf("Crossplane %s: %s did not settle as predicted; last seen %+v", c.version, name, o)
			break
		}
		time.Sleep(time.Second)
	}
	return o
}

// failingCondition is the message of the first of the condition types
// that is not True.
func failingCondition(u *unstructured.Unstructured, types ...string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, typ := range types {
		for _, cd := range conds {
			m := cd.(map[string]any)
			if m["type"] == typ && m["status"] != "True" {
				if s, _ := m["message"].(string); s != "" {
					return s
				}
			}
		}
	}
	return ""
}

func (c *crossplane) lockMessage(t *testing.T) string {
	l, err := c.dyn.Resource(gvrLock).Get(context.Background(), "lock", metav1.GetOptions{})
	if err != nil {
		return ""
	}
	conds, _, _ := unstructured.NestedSlice(l.Object, "status", "conditions")
	for _, cd := range conds {
		m := cd.(map[string]any)
		if m["type"] == "Resolved" && m["status"] == "False" {
			s, _ := m["message"].(string)
			return s
		}
	}
	return ""
}

// groupsOf lists the API groups of the CRDs (v2: MRDs) the revision controls.
func (c *crossplane) groupsOf(t *testing.T, rev *unstructured.Unstructured) []string {
	if rev == nil {
		return nil
	}
	refs, _, _ := unstructured.NestedSlice(rev.Object, "status", "objectRefs")
	seen := map[string]bool{}
	for _, r := range refs {
		m := r.(map[string]any)
		gvr := gvrCRD
		switch m["kind"] {
		case "CustomResourceDefinition":
		case "ManagedResourceDefinition":
			gvr = gvrMRD
		default:
			continue
		}
		crd, err := c.dyn.Resource(gvr).Get(context.Background(), fmt.Sprint(m["name"]), metav1.GetOptions{})
		if err != nil {
			continue
		}
		if g, _, _ := unstructured.NestedString(crd.Object, "spec", "group"); g != "" {
			seen[g] = true
		}
	}
	var out []string
	for g := range seen {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// prefixOf is the part of an inexact verdict message that xpdoctor knows:
// up to where Crossplane's own wording of an underlying error begins.
func prefixOf(v xp.Verdict) string {
	if v.Exact {
		return v.Message
	}
	for _, cut := range []string{` in scheme "`, "HEAD ..."} {
		if i := strings.Index(v.Message, cut); i > 0 {
			return v.Message[:i]
		}
	}
	return v.Message
}

// agree fails when the core did other than xpdoctor said.
func agree(t *testing.T, version string, v xp.Verdict, o observed, locks []string) {
	t.Helper()
	healthy := o.Object == ""
	predictsHealthy := v.Outcome == xp.OutcomeBaseLayer || v.Outcome == xp.OutcomeFlatten
	switch {
	case predictsHealthy != healthy:
		t.Errorf("xpdoctor says %s (%s), Crossplane %s: %s %q", v.Outcome, v.Message, version, o.Object, o.Message)
		return
	case healthy:
		if v.Installs != nil && strings.Join(v.Installs.Groups, ",") != strings.Join(o.Groups, ",") {
			t.Errorf("xpdoctor says Crossplane installs the CRDs of %v, it installed %v", v.Installs.Groups, o.Groups)
		}
		if v.Installs == nil && v.Reason != "" {
			t.Errorf("healthy, but xpdoctor gives reason %s without naming what is installed", v.Reason)
		}
		return
	}
	if o.Object != v.Object {
		t.Errorf("xpdoctor says the failure shows on the %s, Crossplane put it on the %s: %q", v.Object, o.Object, o.Message)
	}
	if o.Revision != v.RevisionCreated {
		t.Errorf("xpdoctor says revision created: %v; Crossplane: %v", v.RevisionCreated, o.Revision)
	}
	if v.Exact && o.Message != v.Message {
		t.Errorf("exact message differs:\nCrossplane %q\n  xpdoctor %q", o.Message, v.Message)
	}
	if !v.Exact && !strings.HasPrefix(o.Message, prefixOf(v)) {
		t.Errorf("message differs from xpdoctor's known part:\nCrossplane %q\n  xpdoctor %q", o.Message, prefixOf(v))
	}
	if v.Stage == xp.StageDependencies && !contains(locks, o.Lock) {
		t.Errorf("Lock says %q, xpdoctor predicts one of %q", o.Lock, locks)
	}
}

func writeCapture(t *testing.T, path string, captured map[string]map[string]observed, host, private string) {
	b, err := json.MarshalIndent(captured, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(strings.ReplaceAll(string(b), private, "PRIVATE"), host, "REGISTRY")
	if err := os.WriteFile(path, []byte(s+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
