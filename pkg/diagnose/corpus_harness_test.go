package diagnose_test

// The corpus harness: public Crossplane package failure reports
// (testdata/corpus/*.yaml, schema in CORPUS-SCHEMA.md of issue 11), each run
// through the classifier and through the whole diagnose on a support dump
// built from the report. This file knows the corpus and how to score a
// verdict; corpus_test.go binds it to xpdoctor's entry points.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

type corpusEntry struct {
	ID                string          `json:"id"`
	URL               string          `json:"url"`
	Title             string          `json:"title"`
	CrossplaneVersion string          `json:"crossplaneVersion"`
	VersionHint       string          `json:"versionHint"`
	Package           corpusPackage   `json:"package"`
	Messages          []corpusMessage `json:"messages"`
	Context           struct {
		Installed []corpusPackage `json:"installed"`
		// Lock is nil when the report shows no Lock, empty when it shows an empty one.
		Lock  *[]corpusLockPackage `json:"lock"`
		Notes string               `json:"notes"`
	} `json:"context"`
	Established struct {
		Resolved          bool            `json:"resolved"`
		Cause             string          `json:"cause"`
		Code              findings.Code   `json:"code"`
		ProposedCode      findings.Code   `json:"proposedCode"`
		AlsoPossible      []findings.Code `json:"alsoPossible"`
		FixMustMention    []string        `json:"fixMustMention"`
		FixMustNotMention []string        `json:"fixMustNotMention"`
	} `json:"established"`
	file string
}

type corpusPackage struct {
	Kind   string         `json:"kind"`
	Name   string         `json:"name"`
	Source string         `json:"source"`
	Spec   map[string]any `json:"spec"`
}

type corpusMessage struct {
	On     string `json:"on"`
	As     string `json:"as"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Text   string `json:"text"`
}

type corpusLockPackage struct {
	Name         string           `json:"name"`
	Type         string           `json:"type"`
	APIVersion   string           `json:"apiVersion"`
	Kind         string           `json:"kind"`
	Source       string           `json:"source"`
	Version      string           `json:"version"`
	Dependencies []map[string]any `json:"dependencies"`
}

// loadCorpus reads every corpus file. Unknown fields are tolerated (the
// research notes grow); a file that does not parse, or an entry without
// id, messages or a decidable expectation, fails the test.
func loadCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var out []corpusEntry
	seen := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var es []corpusEntry
		if err := yaml.Unmarshal(raw, &es); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range es {
			e.file = filepath.Base(f)
			switch {
			case e.ID == "":
				t.Fatalf("%s: an entry has no id", f)
			case seen[e.ID] != "":
				t.Fatalf("%s: id %s also in %s", f, e.ID, seen[e.ID])
			case len(e.Messages) == 0:
				t.Fatalf("%s: %s has no messages", f, e.ID)
			case e.Established.Resolved && e.Established.Code == "":
				t.Fatalf("%s: %s is resolved without a code", f, e.ID)
			}
			seen[e.ID] = e.file
			out = append(out, e)
		}
	}
	return out
}

// pkgName is the package object's name: the report's, else the last path
// segment of its source, else one made from the kind.
func (e corpusEntry) pkgName() string {
	if e.Package.Name != "" {
		return e.Package.Name
	}
	return nameFrom(e.Package.Kind, e.Package.Source, "failing")
}

func nameFrom(kind, source, fallback string) string {
	repo := source
	if i := strings.IndexAny(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i >= 0 && !strings.Contains(repo[i:], "/") {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		repo = repo[i+1:]
	}
	if repo == "" || strings.ContainsAny(repo, "<>") {
		return strings.ToLower(kindOr(kind)) + "-" + fallback
	}
	return strings.ToLower(repo)
}

func kindOr(k string) string {
	if k == "" {
		return "Provider"
	}
	return k
}

// revisionName is FriendlyID(name, digest): name-<12 hex>
// (internal/xpkg/name.go@v1.16.0); the digest is made up from the report id.
func revisionName(name, seed string) string {
	h := sha256.Sum256([]byte(seed + "/" + name))
	return name + "-" + hex.EncodeToString(h[:])[:12]
}

var packageKinds = map[string]bool{"Provider": true, "Function": true, "Configuration": true}

// dump builds the support dump of the report: the package and its revision
// carrying the messages as conditions and events, the other installed
// packages, the Lock and Crossplane's Deployment when the report gives them.
// placed counts the messages that sit on an object (CLI output and logs
// cannot; the classifier still sees them).
func (e corpusEntry) dump() (doc []byte, placed int) {
	kind := kindOr(e.Package.Kind)
	name := e.pkgName()
	rev := revisionName(name, e.ID)
	var objs []map[string]any
	events := 0
	event := func(involvedKind, involvedName string, m corpusMessage) {
		events++
		reason := m.Reason
		if reason == "" {
			reason = "Unknown"
		}
		objs = append(objs, map[string]any{
			"apiVersion": "v1", "kind": "Event",
			"metadata":       map[string]any{"name": fmt.Sprintf("%s.%d", e.ID, events), "namespace": "default"},
			"involvedObject": map[string]any{"kind": involvedKind, "name": involvedName},
			"type":           "Warning", "reason": reason, "message": m.Text, "count": 1,
		})
	}
	conds := map[string][]map[string]any{}
	condition := func(obj string, m corpusMessage, defaultType string) bool {
		typ := m.Type
		if typ == "" {
			typ = defaultType
		}
		for _, c := range conds[obj] {
			if c["type"] == typ {
				return false
			}
		}
		status := m.Status
		if status == "" {
			status = "False"
		}
		conds[obj] = append(conds[obj], map[string]any{"type": typ, "status": status, "reason": m.Reason, "message": m.Text, "lastTransitionTime": "2026-01-01T00:00:00Z"})
		return true
	}
	podName := rev + "-7d9f8-abcde"
	crossplanePod := "crossplane-7d9f8-x2x4z"
	for _, m := range e.Messages {
		target, defaultType := "", "Healthy"
		switch {
		case m.On == kind || packageKinds[m.On]:
			target = "package"
		case m.On == kind+"Revision" || strings.HasSuffix(m.On, "Revision") && packageKinds[strings.TrimSuffix(m.On, "Revision")]:
			target = "revision"
		case m.On == "Lock":
			target, defaultType = "lock", "Resolved"
		case m.On == "Pod" && strings.Contains(m.Text, `"package-cache"`):
			// The package-cache volume is Crossplane's own pod's
			// (cluster/charts/crossplane/templates/deployment.yaml).
			target, defaultType = "crossplane-pod", "Ready"
		case m.On == "Pod":
			target, defaultType = "pod", "Ready"
		case m.On == "Deployment":
			target, defaultType = "deployment", "Available"
		case m.On == "crossplane-log", m.On == "provider-log", m.On == "cli":
			continue
		default:
			// Another Kubernetes object (a ManagedResourceDefinition...): its events.
			placed++
			event(m.On, name, m)
			continue
		}
		placed++
		involved := map[string]string{"package": name, "revision": rev, "lock": "lock", "pod": podName, "crossplane-pod": crossplanePod, "deployment": rev}[target]
		involvedKind := map[string]string{"package": kind, "revision": kind + "Revision", "lock": "Lock", "pod": "Pod", "crossplane-pod": "Pod", "deployment": "Deployment"}[target]
		isPod := target == "pod" || target == "crossplane-pod"
		if m.As == "condition" && !isPod && condition(target, m, defaultType) {
			continue
		}
		if isPod {
			// A pod says why in status.reason and status.message.
			entry := map[string]any{"reason": m.Reason}
			if m.As == "condition" {
				entry["message"] = m.Text
			}
			conds[target] = append(conds[target], entry)
			if m.As == "condition" {
				continue
			}
		}
		event(involvedKind, involved, m)
	}
	// The package's own conditions: those of the report, else Installed
	// and a Healthy that follows the revision's (v1.x copies it,
	// manager/reconciler.go@v1.16.0).
	revHealth := "False"
	for _, c := range conds["revision"] {
		if c["type"] == "Healthy" || c["type"] == "RevisionHealthy" {
			revHealth = c["status"].(string)
		}
	}
	has := func(obj, typ string) bool {
		for _, c := range conds[obj] {
			if c["type"] == typ {
				return true
			}
		}
		return false
	}
	if !has("package", "Installed") {
		conds["package"] = append(conds["package"], map[string]any{"type": "Installed", "status": "True", "reason": "ActivePackageRevision"})
	}
	if !has("package", "Healthy") {
		conds["package"] = append(conds["package"], map[string]any{"type": "Healthy", "status": revHealth, "reason": "UnhealthyPackageRevision"})
	}
	spec := map[string]any{"package": e.Package.Source}
	for k, v := range e.Package.Spec {
		spec[k] = v
	}
	objs = append(objs, packageObject(kind, name, rev, spec, conds["package"]))
	desired := "Active"
	if spec["revisionActivationPolicy"] == "Manual" {
		// A new revision of a Manual package is created Inactive
		// (manager/reconciler.go@v1.14.0).
		desired = "Inactive"
	}
	objs = append(objs, revisionObject(kind, name, rev, spec, desired, conds["revision"]))
	if cs := conds["pod"]; len(cs) > 0 {
		objs = append(objs, map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": podName, "namespace": "crossplane-system", "labels": map[string]any{"pkg.crossplane.io/revision": rev}},
			"status":   map[string]any{"phase": "Failed", "reason": cs[0]["reason"], "message": cs[0]["message"]},
		})
	}
	if cs := conds["crossplane-pod"]; len(cs) > 0 {
		objs = append(objs, map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": crossplanePod, "namespace": "crossplane-system", "labels": map[string]any{"app": "crossplane"}},
			"status":   map[string]any{"phase": "Failed", "reason": cs[0]["reason"], "message": cs[0]["message"]},
		})
	}
	if cs := conds["deployment"]; len(cs) > 0 {
		objs = append(objs, map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": rev, "namespace": "crossplane-system", "labels": map[string]any{"pkg.crossplane.io/revision": rev}},
			"status":   map[string]any{"replicas": 1, "availableReplicas": 0, "conditions": cs},
		})
	}
	for i, p := range e.Context.Installed {
		pk := kindOr(p.Kind)
		pn := p.Name
		if pn == "" {
			pn = nameFrom(pk, p.Source, fmt.Sprint(i))
		}
		if pn == name && pk == kind {
			continue
		}
		pspec := map[string]any{"package": p.Source}
		for k, v := range p.Spec {
			pspec[k] = v
		}
		prev := revisionName(pn, e.ID)
		healthy := []map[string]any{{"type": "Installed", "status": "True", "reason": "ActivePackageRevision"}, {"type": "Healthy", "status": "True", "reason": "HealthyPackageRevision"}}
		objs = append(objs, packageObject(pk, pn, prev, pspec, healthy), revisionObject(pk, pn, prev, pspec, "Active", healthy[1:]))
	}
	if e.Context.Lock != nil || len(conds["lock"]) > 0 {
		pkgs := []any{}
		if e.Context.Lock != nil {
			for _, lp := range *e.Context.Lock {
				m := map[string]any{"name": lp.Name, "source": lp.Source, "version": lp.Version, "dependencies": lp.Dependencies}
				if m["dependencies"] == nil {
					m["dependencies"] = []any{}
				}
				for k, v := range map[string]string{"type": lp.Type, "apiVersion": lp.APIVersion, "kind": lp.Kind} {
					if v != "" {
						m[k] = v
					}
				}
				pkgs = append(pkgs, m)
			}
		}
		lock := map[string]any{"apiVersion": "pkg.crossplane.io/v1beta1", "kind": "Lock", "metadata": map[string]any{"name": "lock"}, "packages": pkgs}
		if cs := conds["lock"]; len(cs) > 0 {
			lock["status"] = map[string]any{"conditions": cs}
		}
		objs = append(objs, lock)
	}
	if v := e.CrossplaneVersion; v != "" {
		objs = append(objs, map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "crossplane", "namespace": "crossplane-system"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "crossplane", "image": "xpkg.crossplane.io/crossplane/crossplane:" + v}}}}},
		})
	}
	items := make([]any, len(objs))
	for i, o := range objs {
		items[i] = o
	}
	doc, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		panic(err)
	}
	return doc, placed
}

func packageObject(kind, name, rev string, spec map[string]any, conds []map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "pkg.crossplane.io/v1", "kind": kind,
		"metadata": map[string]any{"name": name},
		"spec":     spec,
		"status":   map[string]any{"currentRevision": rev, "conditions": conds},
	}
}

func revisionObject(kind, parent, rev string, spec map[string]any, desired string, conds []map[string]any) map[string]any {
	rspec := map[string]any{"image": spec["package"], "desiredState": desired, "revision": 1}
	for _, k := range []string{"skipDependencyResolution", "ignoreCrossplaneConstraints", "packagePullPolicy", "packagePullSecrets"} {
		if v, ok := spec[k]; ok {
			rspec[k] = v
		}
	}
	return map[string]any{
		"apiVersion": "pkg.crossplane.io/v1", "kind": kind + "Revision",
		"metadata": map[string]any{"name": rev, "labels": map[string]any{"pkg.crossplane.io/package": parent}},
		"spec":     rspec,
		"status":   map[string]any{"conditions": conds},
	}
}

// pkgVerdict is what a diagnose said about one package: the root cause,
// the causes it says the evidence cannot tell apart from it, and the fix.
type pkgVerdict struct {
	Code         findings.Code
	Alternatives []findings.Code
	Message, Fix string
}

// classified is what the classifier said about one message.
type classified struct {
	Code findings.Code
	// Also are the codes the message alone cannot rule out, and the codes the
	// per-package decision may refine Code into with cluster or registry facts.
	Also []findings.Code
	OK   bool
}

// corpusSubject is the xpdoctor under test.
type corpusSubject struct {
	classify func(msg string) classified
	diagnose func(t *testing.T, dump []byte, kind, name string) pkgVerdict
}

type corpusResult struct {
	entry                      corpusEntry
	classifierOK, diagnoseOK   bool
	diagnosable                bool
	classifierWhy, diagnoseWhy string
	diagnosed                  pkgVerdict
	classifiedCodes            []string
}

// named is whether the entry counts as named correctly: by the whole
// diagnose where the report's messages sit on objects, else by the classifier.
func (r corpusResult) named() bool {
	if r.diagnosable {
		return r.diagnoseOK
	}
	return r.classifierOK
}

func (e corpusEntry) want() []findings.Code {
	w := []findings.Code{e.Established.Code}
	if e.Established.ProposedCode != "" {
		w = append(w, e.Established.ProposedCode)
	}
	return w
}

func anyIn(a, b []findings.Code) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func judge(t *testing.T, s corpusSubject, e corpusEntry) corpusResult {
	r := corpusResult{entry: e}
	est := e.Established
	want := e.want()
	allowedUnresolved := append([]findings.Code{findings.PackageUnhealthy}, est.AlsoPossible...)

	// The classifier, message by message.
	var hits []classified
	for _, m := range e.Messages {
		c := s.classify(m.Text)
		if !c.OK {
			r.classifiedCodes = append(r.classifiedCodes, "-")
			continue
		}
		r.classifiedCodes = append(r.classifiedCodes, string(c.Code))
		hits = append(hits, c)
	}
	if est.Resolved {
		var wrong []string
		for _, c := range hits {
			candidates := append([]findings.Code{c.Code}, c.Also...)
			switch {
			case anyIn(want, candidates):
				r.classifierOK = true
			case !slices.Contains(est.AlsoPossible, c.Code):
				wrong = append(wrong, string(c.Code))
			}
		}
		if len(wrong) > 0 {
			r.classifierOK = false
			r.classifierWhy = "messages classified as " + strings.Join(wrong, ", ")
		} else if !r.classifierOK {
			r.classifierWhy = "no message classified as " + string(est.Code)
		}
	} else {
		r.classifierOK = true
		for _, c := range hits {
			if !slices.Contains(allowedUnresolved, c.Code) && !anyIn(c.Also, est.AlsoPossible) {
				r.classifierOK = false
				r.classifierWhy = "unresolved report, but a message is classified as " + string(c.Code)
			}
		}
	}

	// The whole diagnose, on a dump of the report.
	doc, placed := e.dump()
	r.diagnosable = placed > 0
	if !r.diagnosable {
		return r
	}
	v := s.diagnose(t, doc, kindOr(e.Package.Kind), e.pkgName())
	r.diagnosed = v
	var why []string
	if est.Resolved {
		named := slices.Contains(want, v.Code) || slices.Contains(est.AlsoPossible, v.Code) && anyIn(want, v.Alternatives)
		if !named {
			why = append(why, fmt.Sprintf("root cause %q (alternatives %v), want %v", v.Code, v.Alternatives, want))
		}
		fix := strings.ToLower(v.Fix)
		for _, w := range est.FixMustMention {
			if !strings.Contains(fix, strings.ToLower(w)) {
				why = append(why, fmt.Sprintf("fix does not mention %q", w))
			}
		}
	} else if v.Code != "" && !slices.Contains(allowedUnresolved, v.Code) &&
		!(len(v.Alternatives) > 0 && anyIn(append([]findings.Code{v.Code}, v.Alternatives...), est.AlsoPossible)) {
		// An unresolved report may get a cause the evidence cannot rule
		// out, or several that fit; never one definite cause beyond them.
		why = append(why, fmt.Sprintf("unresolved report, but diagnose claims %q (alternatives %v)", v.Code, v.Alternatives))
	}
	fix := strings.ToLower(v.Fix)
	for _, w := range est.FixMustNotMention {
		if strings.Contains(fix, strings.ToLower(w)) {
			why = append(why, fmt.Sprintf("fix mentions %q", w))
		}
	}
	r.diagnoseOK = len(why) == 0
	r.diagnoseWhy = strings.Join(why, "; ")
	return r
}

// summary is the share named correctly, by resolution.
func summary(rs []corpusResult) string {
	var res, resOK, unres, unresOK, diag, diagOK, cls, clsOK int
	for _, r := range rs {
		if r.entry.Established.Resolved {
			res++
			if r.named() {
				resOK++
			}
		} else {
			unres++
			if r.named() {
				unresOK++
			}
		}
		cls++
		if r.classifierOK {
			clsOK++
		}
		if r.diagnosable {
			diag++
			if r.diagnoseOK {
				diagOK++
			}
		}
	}
	pct := func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%d/%d (%.0f%%)", a, b, 100*float64(a)/float64(b))
	}
	return fmt.Sprintf("%d entries: named correctly %s; resolved %s; unresolved without a wrong definite cause %s; classifier %s; whole diagnose on %d dumps %s",
		len(rs), pct(resOK+unresOK, len(rs)), pct(resOK, res), pct(unresOK, unres), pct(clsOK, cls), diag, pct(diagOK, diag))
}

// byCode tabulates the corpus by established code and Crossplane version.
func byCode(rs []corpusResult) string {
	type row struct{ n, ok int }
	codes := map[string]*row{}
	for _, r := range rs {
		c := string(r.entry.Established.Code)
		if !r.entry.Established.Resolved {
			c = "(unresolved)"
		}
		if codes[c] == nil {
			codes[c] = &row{}
		}
		codes[c].n++
		if r.named() {
			codes[c].ok++
		}
	}
	var keys []string
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-32s %d/%d\n", k, codes[k].ok, codes[k].n)
	}
	return b.String()
}

// byVersion tabulates the corpus by the Crossplane version the report states.
func byVersion(rs []corpusResult) string {
	type row struct{ n, ok int }
	rows := map[string]*row{}
	var keys []string
	for _, r := range rs {
		k := "not stated"
		if v := strings.TrimPrefix(r.entry.CrossplaneVersion, "v"); v != "" {
			parts := strings.SplitN(v, ".", 3)
			k = "v" + parts[0]
			if len(parts) > 1 {
				k += "." + strings.TrimLeft(strings.SplitN(parts[1], "-", 2)[0], " ")
			}
		}
		if rows[k] == nil {
			rows[k] = &row{}
			keys = append(keys, k)
		}
		rows[k].n++
		if r.named() {
			rows[k].ok++
		}
	}
	num := func(k string) (int, int) {
		var major, minor int
		if _, err := fmt.Sscanf(k, "v%d.%d", &major, &minor); err != nil {
			return 1 << 30, 0
		}
		return major, minor
	}
	sort.Slice(keys, func(i, j int) bool {
		ai, bi := num(keys[i])
		aj, bj := num(keys[j])
		return ai < aj || ai == aj && bi < bj
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-12s %d/%d\n", k, rows[k].ok, rows[k].n)
	}
	return b.String()
}
