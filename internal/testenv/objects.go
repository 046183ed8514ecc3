package testenv

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// Kind is where the API server serves a kind the tests create.
type Kind struct {
	GVR        schema.GroupVersionResource
	Namespaced bool
}

func pkg(version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: version, Resource: resource}
}

// Kinds are the kinds the tests create, at the versions Crossplane
// v2.3.4's CRDs serve.
var Kinds = map[string]Kind{
	"Namespace":               {schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false},
	"ServiceAccount":          {schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true},
	"Secret":                  {schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true},
	"Pod":                     {schema.GroupVersionResource{Version: "v1", Resource: "pods"}, true},
	"Event":                   {schema.GroupVersionResource{Version: "v1", Resource: "events"}, true},
	"Deployment":              {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
	"ImageConfig":             {pkg("v1beta1", "imageconfigs"), false},
	"Lock":                    {pkg("v1beta1", "locks"), false},
	"DeploymentRuntimeConfig": {pkg("v1beta1", "deploymentruntimeconfigs"), false},
	"Provider":                {pkg("v1", "providers"), false},
	"ProviderRevision":        {pkg("v1", "providerrevisions"), false},
	"Function":                {pkg("v1", "functions"), false},
	"FunctionRevision":        {pkg("v1", "functionrevisions"), false},
	"Configuration":           {pkg("v1", "configurations"), false},
	"ConfigurationRevision":   {pkg("v1", "configurationrevisions"), false},
	"ClusterRole":             {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false},
	"ClusterRoleBinding":      {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, false},
	"Role":                    {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, true},
	"RoleBinding":             {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, true},
}

// Create makes every object of a YAML stream, then sets its status through
// the status subresource, as controllers do.
func Create(t testing.TB, dyn dynamic.Interface, stream string) {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		k, ok := Kinds[u.GetKind()]
		if !ok {
			t.Fatalf("testenv does not know kind %s", u.GetKind())
		}
		var ri dynamic.ResourceInterface = dyn.Resource(k.GVR)
		if k.Namespaced {
			ri = dyn.Resource(k.GVR).Namespace(u.GetNamespace())
		}
		status, hasStatus := obj["status"]
		ctx := context.Background()
		created, err := ri.Create(ctx, u, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		// Events have no status subresource; the Lock's is a plain field.
		if hasStatus && u.GetKind() != "Event" {
			created.Object["status"] = status
			if _, err := ri.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("status of %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
	}
}
