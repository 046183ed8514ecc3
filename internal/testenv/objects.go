package testenv

import "k8s.io/apimachinery/pkg/runtime/schema"

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
