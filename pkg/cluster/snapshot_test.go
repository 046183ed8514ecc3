package cluster

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The Events xpdoctor serve records are its output, never its evidence: a
// diagnosis that read them back would confirm its own findings. Crossplane's
// Events about the same package are kept, in either API.
func TestSnapshotSkipsXpdoctorsOwnEvents(t *testing.T) {
	about := map[string]any{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "name": "provider-nop"}
	events := []map[string]any{
		{"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": map[string]any{"name": "a", "namespace": "default"},
			"type": "Warning", "reason": "PackageYAMLNotFound", "note": "[error] package.yaml is not in ...", "regarding": about, "reportingController": "xpdoctor"},
		// The same object as core/v1 serves it.
		{"apiVersion": "v1", "kind": "Event", "metadata": map[string]any{"name": "b", "namespace": "default"},
			"type": "Warning", "reason": "PackageYAMLNotFound", "message": "[error] package.yaml is not in ...", "involvedObject": about, "reportingComponent": "xpdoctor", "source": map[string]any{}},
		{"apiVersion": "v1", "kind": "Event", "metadata": map[string]any{"name": "c", "namespace": "default"},
			"type": "Warning", "reason": "UnpackPackage", "message": "cannot unpack package", "involvedObject": about,
			"source": map[string]any{"component": "packages/provider.pkg.crossplane.io"}},
		{"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": map[string]any{"name": "d", "namespace": "default"},
			"type": "Warning", "reason": "SyncPackage", "note": "cannot sync", "regarding": about, "reportingController": "packages/provider.pkg.crossplane.io"},
	}
	s := &Snapshot{}
	for _, e := range events {
		s.Add(&unstructured.Unstructured{Object: e})
	}
	if len(s.Events) != 2 || s.Events[0].Reason != "UnpackPackage" || s.Events[1].Reason != "SyncPackage" {
		t.Fatalf("events kept: %+v", s.Events)
	}
}
