package cluster

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/internal/testenv"
)

// The Lock and DeploymentRuntimeConfigs as a real API server (Crossplane
// v2.3.4's CRDs) serves them: a v1 Lock package names its kind by type, a
// v2 one by apiVersion and kind (apis/pkg/v1beta1/lock.go@v2.3.4).
const lockAndRuntime = `apiVersion: v1
kind: Namespace
metadata: {name: crossplane-system}
---
apiVersion: pkg.crossplane.io/v1beta1
kind: Lock
metadata: {name: lock}
packages:
- name: provider-aws-s3-9c0ffee00001
  apiVersion: pkg.crossplane.io/v1
  kind: Provider
  source: xpkg.upbound.io/upbound/provider-aws-s3
  version: v1.6.0
  dependencies:
  - {package: xpkg.upbound.io/upbound/provider-family-aws, constraints: ">=v1.6.0", apiVersion: pkg.crossplane.io/v1, kind: Provider}
- name: upbound-provider-family-aws-1d3725bd4a0b
  type: Provider
  source: xpkg.upbound.io/upbound/provider-family-aws
  version: v1.6.0
  dependencies: []
status:
  conditions:
  - {type: Resolved, status: "False", reason: DependencyResolutionFailed, lastTransitionTime: "2026-11-27T05:00:00Z",
     message: "cannot find dependency version to install: cannot fetch dependency package tags: GET https://xpkg.upbound.io/v2/upbound/provider-family-aws/tags/list: unexpected status code 401 Unauthorized"}
---
apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata: {name: default}
---
apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata: {name: irsa}
---
apiVersion: v1
kind: Pod
metadata: {name: crossplane-7d9f8-x2x4z, namespace: crossplane-system, labels: {app: crossplane, release: crossplane}}
spec: {containers: [{name: crossplane, image: "xpkg.crossplane.io/crossplane/crossplane:v1.6.2"}]}
status: {phase: Failed, reason: Evicted, message: 'Usage of EmptyDir volume "package-cache" exceeds the limit "5Mi". '}
`

func TestReadLockAndRuntimeConfigs(t *testing.T) {
	env := testenv.Start(t, false)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	testenv.Create(t, env.Config, lockAndRuntime)
	disc, err := NewDiscoveryForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	r := &Reader{Dynamic: dyn, Discovery: disc}
	s, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkLockAndRuntime(t, s)

	// A Cache serves the whole Lists it holds, and only those.
	r.Cache = fakeCache{"deploymentruntimeconfigs": {{Object: map[string]any{
		"apiVersion": "pkg.crossplane.io/v1beta1", "kind": "DeploymentRuntimeConfig", "metadata": map[string]any{"name": "cached"}}}}}
	if s, err = r.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.RuntimeConfigs) != 1 || s.RuntimeConfigs[0] != "cached" || s.Lock == nil || len(s.Lock.Packages) != 2 {
		t.Fatalf("from the cache: runtime configs %v, lock %+v", s.RuntimeConfigs, s.Lock)
	}

	// A support dump of the same objects reads the same.
	d, err := ReadDump(strings.NewReader(lockAndRuntime))
	if err != nil {
		t.Fatal(err)
	}
	checkLockAndRuntime(t, d)
}

// fakeCache holds some resources, by name.
type fakeCache map[string][]unstructured.Unstructured

func (c fakeCache) Objects(gvr schema.GroupVersionResource) ([]*unstructured.Unstructured, bool) {
	objs, ok := c[gvr.Resource]
	out := make([]*unstructured.Unstructured, len(objs))
	for i := range objs {
		out[i] = &objs[i]
	}
	return out, ok
}

func checkLockAndRuntime(t *testing.T, s *Snapshot) {
	t.Helper()
	l := s.Lock
	if l == nil || len(l.Packages) != 2 {
		t.Fatalf("lock %+v", l)
	}
	s3 := l.Find("provider-aws-s3-9c0ffee00001")
	if s3 == nil || s3.Kind != "Provider" || s3.Version != "v1.6.0" || len(s3.Dependencies) != 1 ||
		s3.Dependencies[0].Package != "xpkg.upbound.io/upbound/provider-family-aws" || s3.Dependencies[0].Constraints != ">=v1.6.0" || s3.Dependencies[0].Kind != "Provider" {
		t.Fatalf("v2 lock package %+v", s3)
	}
	if fam := l.BySource("xpkg.upbound.io/upbound/provider-family-aws"); len(fam) != 1 || fam[0].Kind != "Provider" {
		t.Fatalf("v1 lock package %+v", fam)
	}
	if len(l.Conditions) != 1 || l.Conditions[0].Reason != "DependencyResolutionFailed" {
		t.Fatalf("lock conditions %+v", l.Conditions)
	}
	if len(s.RuntimeConfigs) != 2 || s.RuntimeConfigs[0] != "default" || s.RuntimeConfigs[1] != "irsa" {
		t.Fatalf("runtime configs %v", s.RuntimeConfigs)
	}
	if len(s.CrossplanePods) != 1 || s.CrossplanePods[0].Reason != "Evicted" || s.CrossplanePods[0].Message == "" || len(s.Pods) != 0 {
		t.Fatalf("crossplane pods %+v, runtime pods %+v", s.CrossplanePods, s.Pods)
	}
}

// A dump without a Lock says nothing about it: nil, not empty.
func TestReadDumpWithoutLock(t *testing.T) {
	s, err := ReadDump(strings.NewReader(dump))
	if err != nil {
		t.Fatal(err)
	}
	if s.Lock != nil {
		t.Fatalf("lock %+v", s.Lock)
	}
}
