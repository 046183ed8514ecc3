package cluster_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

func object(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// What a bundle carries of each object read, and what it never does.
func TestBundleSanitizes(t *testing.T) {
	var b cluster.Bundle
	for _, y := range []string{
		`{apiVersion: v1, kind: Secret, metadata: {name: mirror-creds, namespace: crossplane-system}, data: {.dockerconfigjson: c2VjcmV0}}`,
		`apiVersion: apps/v1
kind: Deployment
metadata:
  name: crossplane
  namespace: crossplane-system
  managedFields: [{manager: helm}]
  annotations: {kubectl.kubernetes.io/last-applied-configuration: '{"env":"leak-1"}'}
spec:
  template:
    spec:
      containers:
      - name: crossplane
        image: xpkg.crossplane.io/crossplane/crossplane:v1.20.0
        env:
        - {name: REGISTRY, value: registry.example.com}
        - {name: PASSWORD, value: leak-2}
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: creds, key: token, optional: true}}`,
		// A runtime Deployment: ControllerConfig replaced its own labels; the
		// pod template keeps Crossplane's (runtime_override_options.go
		// DeploymentForControllerConfig, DeploymentWithSelectors).
		`apiVersion: apps/v1
kind: Deployment
metadata: {name: provider-nop-abc, namespace: crossplane-system, labels: {team: a}}
spec:
  template:
    metadata: {labels: {pkg.crossplane.io/revision: provider-nop-abc}}
    spec:
      containers:
      - {name: package-runtime, image: x/provider-nop:v1, env: [{name: REGISTRY, value: leak-3}]}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: crossplane-system}}`,
		`apiVersion: pkg.crossplane.io/v1alpha1
kind: ControllerConfig
metadata: {name: cc}
spec: {env: [{name: A, value: leak-4}]}`,
		`{apiVersion: v1, kind: ServiceAccount, metadata: {name: crossplane, namespace: crossplane-system, annotations: {note: leak-5}}, imagePullSecrets: [{name: mirror-creds}], secrets: [{name: crossplane-token-leak-6}]}`,
		`{apiVersion: v1, kind: Event, metadata: {name: a.1, namespace: default}, involvedObject: {apiVersion: v1, kind: Pod, name: web}, message: leak-7}`,
		`{apiVersion: v1, kind: Event, metadata: {name: b.1, namespace: default}, involvedObject: {apiVersion: pkg.crossplane.io/v1, kind: Provider, name: p}, type: Warning, message: kept-1}`,
		`{apiVersion: v1, kind: Event, metadata: {name: c.1, namespace: crossplane-system}, involvedObject: {apiVersion: v1, kind: Pod, name: provider-nop-abc-1}, message: kept-2}`,
		`{apiVersion: v1, kind: Event, metadata: {name: d.1, namespace: elsewhere}, involvedObject: {apiVersion: v1, kind: Pod, name: x}, message: leak-8}`,
	} {
		b.Record(object(t, y))
	}
	var out bytes.Buffer
	items := []any{}
	for _, o := range b.Objects("crossplane-system") {
		items = append(items, o)
	}
	if err := (report.Printer{Format: report.YAML, Redactor: redact.New()}).YAMLList(&out, []string{"test"}, items, 1<<20); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, leak := range []string{"leak-", "kind: Secret", "c2VjcmV0", "managedFields", "last-applied", "name: web", "optional"} {
		if strings.Contains(got, leak) {
			t.Errorf("the bundle holds %q:\n%s", leak, got)
		}
	}
	for _, want := range []string{"value: registry.example.com", "name: PASSWORD\n", "name: creds", "key: token", "name: provider-nop-abc", "kind: ControllerConfig", "name: mirror-creds", "kept-1", "kept-2"} {
		if !strings.Contains(got, want) {
			t.Errorf("the bundle lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "value: <redacted>"); n != 3 {
		t.Errorf("%d values redacted, want 3 (PASSWORD, the runtime's REGISTRY, the ControllerConfig's A):\n%s", n, got)
	}
	// Packages come first, events last: the order a reader looks in.
	if strings.Index(got, "kind: ControllerConfig") > strings.Index(got, "kind: Deployment") || strings.Index(got, "kind: Event") < strings.Index(got, "kind: ServiceAccount") {
		t.Errorf("order:\n%s", got)
	}
}

// A bundle's first item makes its dump read as the live read it records:
// what it lacks is gone (FromDump false), the API versions served, the
// reads that were denied, a Lock read and empty.
func TestBundleInfoReadsBack(t *testing.T) {
	live := &cluster.Snapshot{CrossplaneNamespace: "upbound-system", CrossplaneFound: true, Served: map[string]string{"functions": "v1beta1"}, Lock: &cluster.Lock{},
		Denied: []cluster.Denial{{Verb: "list", Resource: "events", Namespace: "upbound-system", Message: "forbidden"}, {Verb: "list", Group: cluster.PkgGroup, Resource: "controllerconfigs", Message: "forbidden"}}}
	var b cluster.Bundle
	info := b.Info(live, "prod", "v0.1.0", time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	var out bytes.Buffer
	if err := (report.Printer{Format: report.YAML}).YAMLList(&out, nil, []any{info}, 1<<20); err != nil {
		t.Fatal(err)
	}
	s, err := cluster.ReadDump(&out)
	if err != nil {
		t.Fatal(err)
	}
	if s.FromDump || s.CrossplaneNamespace != "upbound-system" || !s.CrossplaneFound || s.Served["functions"] != "v1beta1" || s.Lock == nil || !s.HasCrossplane() {
		t.Errorf("read back: %+v", s)
	}
	// ControllerConfigs are the bundle's own read: not a denial of diagnose's.
	if len(s.Denied) != 1 || s.Denied[0].Resource != "events" {
		t.Errorf("denied: %+v", s.Denied)
	}
	// A dump without it is a dump.
	plain, err := cluster.ReadDump(strings.NewReader("apiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: p}\n"))
	if err != nil || !plain.FromDump || plain.Lock != nil {
		t.Errorf("plain dump: %v %+v", err, plain)
	}
}

// A bundle past its bound is refused, not cut.
func TestBundleBounded(t *testing.T) {
	var out bytes.Buffer
	err := (report.Printer{Format: report.YAML}).YAMLList(&out, nil, []any{map[string]any{"kind": "Event", "message": strings.Repeat("x", 4096)}}, 1024)
	if err != report.ErrTooLarge {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}
