package cluster

import (
	"strings"
	"testing"
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
