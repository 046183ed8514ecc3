package cluster

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const dump = `apiVersion: v1
kind: List
items:
- apiVersion: pkg.crossplane.io/v1
  kind: Provider
  metadata: {name: provider-nop}
  spec:
    package: r.io/upbound/provider-nop:v1
    packagePullSecrets: [{name: creds}]
  status:
    currentRevision: provider-nop-abc
    resolvedPackage: mirror.io/upbound/provider-nop:v1
    conditions:
    - {type: Healthy, status: "False", reason: UnhealthyPackageRevision, message: boom, lastTransitionTime: "2026-11-27T05:00:00Z"}
- apiVersion: pkg.crossplane.io/v1
  kind: ProviderRevision
  metadata:
    name: provider-nop-abc
    labels: {pkg.crossplane.io/package: provider-nop, pkg.crossplane.io/provider-family: family-aws}
  spec: {image: r.io/upbound/provider-nop:v1, desiredState: Active, revision: 2}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: crossplane, namespace: xp}
  spec:
    template:
      spec:
        containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:v2.1.3"}]
- apiVersion: events.k8s.io/v1
  kind: Event
  metadata: {name: e1, namespace: default}
  regarding: {kind: Provider, name: provider-nop}
  reason: UnpackPackage
  note: "cannot unpack package: x"
  type: Warning
  series: {count: 4, lastObservedTime: "2026-11-27T05:30:00.000000Z"}
- apiVersion: v1
  kind: Event
  metadata: {name: e2, namespace: default}
  involvedObject: {kind: Provider, name: provider-nop}
  reason: UnpackPackage
  message: "cannot unpack package: x"
  type: Warning
  count: 2
  lastTimestamp: "2026-11-27T05:00:00Z"
- apiVersion: v1
  kind: Event
  metadata: {name: e1, namespace: default}
  involvedObject: {kind: Provider, name: provider-nop}
  reason: UnpackPackage
  message: "cannot unpack package: x"
  type: Warning
  count: 4
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: xp, labels: {pkg.crossplane.io/revision: provider-nop-abc}}
status:
  phase: Pending
  containerStatuses:
  - {name: c, image: i, ready: false, restartCount: 3, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {reason: Error, message: panic, exitCode: 2}}}
`

func TestReadDump(t *testing.T) {
	s, err := ReadDump(strings.NewReader(dump))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Packages) != 1 || s.Packages[0].Source() != "mirror.io/upbound/provider-nop:v1" || s.Packages[0].PullSecrets[0] != "creds" {
		t.Fatalf("packages %+v", s.Packages)
	}
	if r := s.Revisions; len(r) != 1 || r[0].Parent != "provider-nop" || r[0].Family != "family-aws" || r[0].Revision != 2 {
		t.Fatalf("revisions %+v", r)
	}
	if s.CrossplaneVersion() != "v2.1.3" || s.CrossplaneNamespace != "xp" {
		t.Fatalf("crossplane %q in %q", s.CrossplaneVersion(), s.CrossplaneNamespace)
	}
	// The same event through both APIs is counted once per API, merged by text.
	if len(s.Events) != 1 || s.Events[0].Count != 6 || s.Events[0].Last.Minute() != 30 {
		t.Fatalf("events %+v", s.Events)
	}
	if len(s.Pods) != 1 || s.Pods[0].Containers[0].LastTermination != "Error: panic" {
		t.Fatalf("pods %+v", s.Pods)
	}
}

func TestReadDumpErrors(t *testing.T) {
	for _, bad := range []string{"", "just a string", "{not json", "items: 7\nkind: List\napiVersion: v1\n"} {
		if _, err := ReadDump(strings.NewReader(bad)); err == nil && bad != "items: 7\nkind: List\napiVersion: v1\n" {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzReadDump(f *testing.F) {
	f.Add(dump)
	f.Add("apiVersion: v1\nkind: List\nitems: [1, null, {kind: Pod}]\n")
	f.Add("apiVersion: v1\nkind: List\nitems:\n- 1\n- null\n- {kind: Pod}\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ReadDump(strings.NewReader(in))
		if err == nil && s == nil {
			t.Fatal("nil snapshot without error")
		}
	})
}

// What a package's and a revision's metadata and status say about their
// life is read from a dump as from a cluster (read_test and pkg/cmd's
// envtest tests read it live).
func TestReadDumpLifecycle(t *testing.T) {
	s, err := ReadDump(strings.NewReader(`apiVersion: v1
kind: List
items:
- apiVersion: pkg.crossplane.io/v1
  kind: Provider
  metadata:
    name: p
    uid: 0b6f8a44-1111-4d6e-9d2a-3f0c2b1e2a10
    annotations: {crossplane.io/paused: "true"}
    deletionTimestamp: "2026-11-27T04:00:00Z"
    finalizers: [foregroundDeletion]
  spec: {package: r.io/p:v2, revisionHistoryLimit: 3, revisionActivationPolicy: Manual}
- apiVersion: pkg.crossplane.io/v1
  kind: ProviderRevision
  metadata:
    name: p-111111111111
    labels: {pkg.crossplane.io/package: p}
    annotations: {crossplane.io/paused: "false"}
    finalizers: [revision.pkg.crossplane.io]
    ownerReferences:
    - {apiVersion: pkg.crossplane.io/v1, kind: Provider, name: p, uid: 0b6f8a44-1111-4d6e-9d2a-3f0c2b1e2a10, controller: true, blockOwnerDeletion: true}
  spec: {image: r.io/p:v1, desiredState: "", revision: 1}
  status:
    foundDependencies: 3
    installedDependencies: 1
    invalidDependencies: 0
    objectRefs: [{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, name: a.example.org}]
- apiVersion: pkg.crossplane.io/v1
  kind: ProviderRevision
  metadata: {name: p-222222222222, labels: {pkg.crossplane.io/package: p}}
  spec: {image: r.io/p:v2, desiredState: Active, revision: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Packages[0]
	if !p.Paused || p.UID != "0b6f8a44-1111-4d6e-9d2a-3f0c2b1e2a10" || !p.Terminating() || p.Deleted.Hour() != 4 ||
		len(p.Finalizers) != 1 || p.RevisionHistoryLimit == nil || *p.RevisionHistoryLimit != 3 || p.RevisionActivationPolicy != "Manual" {
		t.Fatalf("package %+v", p)
	}
	r := s.Revisions[0]
	if r.Paused || r.Terminating() || r.Finalizers[0] != "revision.pkg.crossplane.io" || r.Objects != 1 || r.DesiredState != "" {
		t.Fatalf("revision %+v", r)
	}
	if o := r.Controller(); o == nil || o.Kind != "Provider" || o.Name != "p" || o.UID != p.UID {
		t.Fatalf("controller %+v", o)
	}
	if d := r.Dependencies; d == nil || d.Found != 3 || d.Installed != 1 || d.Invalid != 0 || d.Missing() != 2 {
		t.Fatalf("dependencies %+v", d)
	}
	if r2 := s.Revisions[1]; r2.Dependencies != nil || r2.Controller() != nil {
		t.Fatalf("a revision without counts or owners has none: %+v", r2)
	}
}

// The same objects read the same way whatever form the dump takes: the
// List kubectl prints as YAML or JSON, an indented items sequence, and a
// stream of single documents.
func TestReadDumpForms(t *testing.T) {
	want, err := ReadDump(strings.NewReader(dump))
	if err != nil {
		t.Fatal(err)
	}
	list := map[string]any{}
	if err := yaml.Unmarshal([]byte(strings.Split(dump, "\n---\n")[0]), &list); err != nil {
		t.Fatal(err)
	}
	var pod map[string]any
	if err := yaml.Unmarshal([]byte(strings.Split(dump, "\n---\n")[1]), &pod); err != nil {
		t.Fatal(err)
	}
	list["items"] = append(list["items"].([]any), pod)
	asJSON, _ := json.MarshalIndent(list, "", "    ")
	asYAML, _ := yaml.Marshal(list)
	var docs []string
	for _, it := range list["items"].([]any) {
		b, _ := yaml.Marshal(it)
		docs = append(docs, string(b))
	}
	indented := strings.ReplaceAll(string(asYAML), "\n", "\n  ")
	indented = strings.Replace(indented, "items:\n  ", "items:\n  ", 1)
	forms := map[string]string{
		"json":      string(asJSON),
		"yaml":      string(asYAML),
		"documents": "---\n" + strings.Join(docs, "---\n") + "...\n",
		"indented":  "apiVersion: v1\nitems:\n" + indentSequence(list["items"].([]any)) + "kind: List\n",
	}
	for name, in := range forms {
		got, err := ReadDump(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, in)
		}
		got.seed, want.seed = maphash.Seed{}, maphash.Seed{}
		for _, s := range []*Snapshot{got, want} {
			s.events, s.eventObjects, s.interned = nil, nil, nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s reads differently:\n got %+v\nwant %+v", name, got, want)
		}
	}
}

func indentSequence(items []any) string {
	var b strings.Builder
	for _, it := range items {
		y, _ := yaml.Marshal([]any{it})
		for _, l := range strings.SplitAfter(string(y), "\n") {
			if l != "" {
				b.WriteString("    " + l)
			}
		}
	}
	return b.String()
}

// Long values are cut while the dump is read, in every YAML scalar style
// and in JSON, and marked; what follows them is read as usual.
func TestReadDumpCutsLongValues(t *testing.T) {
	long := strings.Repeat("cannot pull: x509 ", 200_000) // 3.6 MB
	folded, _ := yaml.Marshal(map[string]string{"message": long})
	styles := map[string]string{
		"plain":  "message: " + strings.ReplaceAll(long, ":", ""),
		"single": "message: '" + strings.ReplaceAll(long, "x509", "it''s") + "'",
		"double": `message: "` + strings.ReplaceAll(long, "x509", `\u00e9\"`) + `"`,
		"block":  "message: |-\n" + strings.Repeat("      "+long[:1000]+"\n", 4000),
		"folded": strings.TrimSuffix(strings.ReplaceAll(string(folded), "\n", "\n    "), "    "),
	}
	for name, msg := range styles {
		in := "apiVersion: v1\nitems:\n- apiVersion: pkg.crossplane.io/v1\n  kind: Provider\n  metadata:\n    name: p\n  status:\n    conditions:\n    - type: Healthy\n      status: \"False\"\n      " +
			strings.TrimSpace(strings.ReplaceAll(msg, "\n", "\n    ")) + "\n      reason: After\n- apiVersion: pkg.crossplane.io/v1\n  kind: Provider\n  metadata:\n    name: q\nkind: List\n"
		s, err := ReadDump(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(s.Packages) != 2 {
			t.Fatalf("%s: %d packages", name, len(s.Packages))
		}
		c := s.Packages[0].Condition("Healthy")
		if c == nil || c.Reason != "After" || len(c.Message) > MaxValueBytes+64 || !strings.Contains(c.Message, "[cut by xpdoctor: ") || len(c.Message) < MaxValueBytes/2 {
			t.Fatalf("%s: condition %+v", name, c)
		}
		if !strings.HasPrefix(c.Message, "cannot pull") {
			t.Errorf("%s: the kept part is not the start of the message: %.40q", name, c.Message)
		}
	}
	js := `{"kind":"List","apiVersion":"v1","items":[{"apiVersion":"pkg.crossplane.io/v1","kind":"Provider","metadata":{"name":"p"},"status":{"conditions":[{"type":"Healthy","status":"False","message":"` +
		strings.Repeat(`\u00e9\"ab`, 300_000) + `","reason":"After"}]}}]}`
	s, err := ReadDump(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Packages[0].Condition("Healthy"); c.Reason != "After" || !strings.HasPrefix(c.Message, `é"abé"ab`) || !strings.HasSuffix(c.Message, " more bytes]") || len(c.Message) > MaxValueBytes+64 {
		t.Fatalf("json: %.80q ... (%d bytes), reason %q", c.Message, len(c.Message), c.Reason)
	}
}

// One 50 MB message does not cost the memory of holding it.
func TestReadDumpHugeMessageMemory(t *testing.T) {
	r := io.MultiReader(strings.NewReader("apiVersion: v1\nkind: Event\nmetadata: {name: e, namespace: default}\ninvolvedObject: {kind: Provider, name: p}\ntype: Warning\nreason: R\nmessage: '"),
		io.LimitReader(repeatReader("no space left on device; "), 50<<20), strings.NewReader("'\n"))
	stop := sampleHeap()
	s, err := ReadDump(r)
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 1 || len(s.Events[0].Message) > MaxValueBytes+64 {
		t.Fatalf("events %d", len(s.Events))
	}
	if peak > 64<<20 {
		t.Fatalf("peak heap %d MiB reading one 50 MB message", peak>>20)
	}
	t.Logf("peak heap %d MiB", peak>>20)
}

type repeatReader string

func (r repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r)
	}
	return n, nil
}

func TestReadDumpLimits(t *testing.T) {
	// Many short keys: no value is long, the object is.
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n")
	for i := 0; b.Len() < MaxObjectBytes+1024; i++ {
		fmt.Fprintf(&b, "  key%07d: value\n", i)
	}
	if _, err := ReadDump(strings.NewReader(b.String())); err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a 8 MiB object: %v", err)
	}
	big := strings.Repeat("- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n", 1<<16)
	if _, err := readDump(strings.NewReader("items:\n"+big), 1<<20, MaxKeptBytes); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("over the dump limit: %v", err)
	}
	// A bad object names where it is.
	if _, err := ReadDump(strings.NewReader("items:\n- kind: Pod\n  metadata: {name: p}\n- kind: Pod\n  metadata: {name: [\n")); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("bad item: %v", err)
	}
}

// What a snapshot keeps is bounded whatever the dump holds: past the
// budget, further events are counted as dropped, and other objects end the
// read with an error.
func TestReadDumpKeepsABoundedSnapshot(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nitems:\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: Event\n  metadata: {name: e%d, namespace: crossplane-system}\n  involvedObject: {kind: Pod, name: p%d}\n  type: Warning\n  reason: BackOff\n  message: %s %d\n", i, i, strings.Repeat("x", 400), i)
	}
	b.WriteString("- apiVersion: pkg.crossplane.io/v1\n  kind: Provider\n  metadata: {name: after}\nkind: List\n")
	s, err := readDump(strings.NewReader(b.String()), MaxDumpBytes, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) == 0 || s.DroppedEvents == 0 || len(s.Events)+s.DroppedEvents != 2000 || len(s.Packages) != 1 {
		t.Fatalf("kept %d events, dropped %d, %d packages", len(s.Events), s.DroppedEvents, len(s.Packages))
	}
	var pods strings.Builder
	pods.WriteString("apiVersion: v1\nitems:\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&pods, "- apiVersion: v1\n  kind: Pod\n  metadata: {name: p%d, namespace: x, labels: {pkg.crossplane.io/revision: r}}\n", i)
	}
	if _, err := readDump(strings.NewReader(pods.String()), MaxDumpBytes, 256<<10); err == nil || !strings.Contains(err.Error(), "keeps in memory") {
		t.Fatalf("2000 runtime pods over a 256 KiB budget: %v", err)
	}
}
