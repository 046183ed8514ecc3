package cluster

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/xpdoctor/xpdoctor/pkg/redact"
)

// A support bundle is a YAML List that `diagnose --from-file` reads: the
// objects one diagnosis reads (Reader.Record), Crossplane-scoped, without
// Secrets and with environment values redacted, after an item that says how
// they were read (BundleInfo). With it, the dump is read as the live read it
// records: what it lacks is gone, not unknown, and the reads that were
// forbidden are reported as such.
const (
	BundleAPIVersion = "xpdoctor.io/v1alpha1"
	BundleKind       = "SupportBundle"
)

// BundleInfo is the first item of a support bundle.
type BundleInfo struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	// Created is when the cluster was read.
	Created time.Time `json:"created"`
	// Source is the context (or API server) read.
	Source string `json:"source,omitempty"`
	// XPDoctorVersion is the version of xpdoctor that wrote it.
	XPDoctorVersion     string `json:"xpdoctorVersion,omitempty"`
	CrossplaneNamespace string `json:"crossplaneNamespace"`
	// CrossplaneFound: Crossplane's Deployment was found in
	// CrossplaneNamespace (not given, not assumed).
	CrossplaneFound bool `json:"crossplaneFound,omitempty"`
	// Served maps each pkg.crossplane.io resource to the version read.
	Served map[string]string `json:"served,omitempty"`
	// LockRead: the Lock was listed (when no Lock item follows, none existed).
	LockRead bool `json:"lockRead,omitempty"`
	// Denied are the reads the user who wrote the bundle was not allowed.
	Denied []Denial `json:"denied,omitempty"`
	// Omitted says what the bundle leaves out, for its reader.
	Omitted string `json:"omitted"`
}

// BundleOmitted is BundleInfo.Omitted.
const BundleOmitted = "Secrets are never read. Every env[].value is replaced by " + redact.Mask + " (valueFrom keeps only the names it refers to), but REGISTRY on Crossplane's own container (a registry host, which decides where packages are pulled from); " +
	"metadata.managedFields and the last-applied-configuration annotation are dropped; credentials and credential-shaped text in any value are replaced by " + redact.Mask + ". " +
	"Events are those in Crossplane's namespace and those about pkg.crossplane.io objects."

// annotationLastApplied holds a whole earlier object, env values included
// (kubectl apply; k8s.io/api core/v1 LastAppliedConfigAnnotation).
const annotationLastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Bundle collects what a Reader reads (Record) for a support bundle
// (Objects). It keeps references to the objects read and copies each one
// only as it is sanitized.
type Bundle struct {
	objects []*unstructured.Unstructured
}

// Record is a Reader.Record: it keeps the objects a bundle may carry.
// Secrets are never kept; events in the default namespace only when they
// are about pkg.crossplane.io objects (the Reader lists that namespace for
// them; the rest is other workloads' events).
func (b *Bundle) Record(u *unstructured.Unstructured) {
	switch kind := u.GetKind(); {
	case kind == "Secret" || kind == "SecretList":
		return
	case isEvent(u) && !aboutCrossplane(u) && u.GetNamespace() == "default":
		return
	}
	b.objects = append(b.objects, u)
}

func isEvent(u *unstructured.Unstructured) bool {
	g := groupOf(u.GetAPIVersion())
	return u.GetKind() == "Event" && (g == "" || g == "events.k8s.io")
}

// aboutCrossplane tells whether an Event is about a pkg.crossplane.io object.
func aboutCrossplane(u *unstructured.Unstructured) bool {
	gv := str(u.Object, "involvedObject", "apiVersion")
	if gv == "" {
		gv = str(u.Object, "regarding", "apiVersion")
	}
	return groupOf(gv) == PkgGroup
}

func groupOf(apiVersion string) string {
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// keeps tells whether the bundle carries u, now that Crossplane's namespace
// is known: the Reader lists every Deployment of that namespace and every
// Event there and in default; the bundle carries Crossplane's Deployment and
// the runtime Deployments (their pod template carries
// pkg.crossplane.io/revision: runtime_provider.go, runtime_function.go
// @v1.14.0..v2.3.4 providerSelectors, functionSelectors), and the Events in
// Crossplane's namespace or about Crossplane's objects.
func keeps(u *unstructured.Unstructured, namespace string) bool {
	switch {
	case groupOf(u.GetAPIVersion()) == "apps" && u.GetKind() == "Deployment":
		return isCrossplaneDeployment(u) || deploymentFrom(u).Revision != ""
	case isEvent(u):
		return u.GetNamespace() == namespace || aboutCrossplane(u)
	}
	return true
}

// Info is what the bundle says of the read it holds.
func (b *Bundle) Info(s *Snapshot, source, version string, now time.Time) BundleInfo {
	in := BundleInfo{APIVersion: BundleAPIVersion, Kind: BundleKind, Created: now.UTC().Truncate(time.Second), Source: source, XPDoctorVersion: version,
		CrossplaneNamespace: s.CrossplaneNamespace, CrossplaneFound: s.CrossplaneFound, Served: s.Served, LockRead: s.Lock != nil, Omitted: BundleOmitted}
	in.Metadata.Name = "xpdoctor-bundle"
	for _, d := range s.Denied {
		// Only the bundle lists ControllerConfigs: a diagnosis of the
		// cluster does not miss them.
		if d.Resource != "controllerconfigs" {
			in.Denied = append(in.Denied, d)
		}
	}
	return in
}

// Objects are the objects the bundle carries, in a stable order (packages
// first, events last), each once, sanitized: no Secret, no environment
// value, no managed fields or last-applied annotation. namespace is
// Crossplane's (BundleInfo.CrossplaneNamespace). Credentials in the values
// are the renderer's to redact (report.Printer).
func (b *Bundle) Objects(namespace string) []map[string]any {
	sort.SliceStable(b.objects, func(i, j int) bool { return objectKey(b.objects[i]) < objectKey(b.objects[j]) })
	seen := map[string]bool{}
	var out []map[string]any
	for _, u := range b.objects {
		key := objectKey(u)
		if seen[key] || !keeps(u, namespace) {
			continue
		}
		seen[key] = true
		if obj := sanitize(u); obj != nil {
			out = append(out, obj)
		}
	}
	return out
}

func objectKey(u *unstructured.Unstructured) string {
	return fmt.Sprintf("%02d/%s/%s/%s/%s", kindRank(u.GetKind()), u.GetKind(), u.GetAPIVersion(), u.GetNamespace(), u.GetName())
}

// kindRank orders a bundle as a reader looks at it: packages first, events last.
func kindRank(kind string) int {
	for i, k := range []string{"Provider", "ProviderRevision", "Function", "FunctionRevision", "Configuration", "ConfigurationRevision",
		"Lock", "ImageConfig", "DeploymentRuntimeConfig", "ControllerConfig", "Deployment", "Pod", "ServiceAccount", "Event"} {
		if k == kind {
			return i
		}
	}
	return 50
}

// sanitize copies u without what a bundle must not carry: Secrets (nil),
// environment values, managed fields, the last-applied annotation, a
// ServiceAccount's token secret names.
func sanitize(u *unstructured.Unstructured) map[string]any {
	if u.GetKind() == "Secret" {
		return nil
	}
	if u.GetKind() == "ServiceAccount" {
		// Only what diagnose reads: the pull secrets' names.
		sa := map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(),
			"metadata": map[string]any{"name": u.GetName(), "namespace": u.GetNamespace()}}
		if ps, ok := u.Object["imagePullSecrets"].([]any); ok {
			var names []any
			for _, n := range ps {
				if m, ok := n.(map[string]any); ok {
					names = append(names, map[string]any{"name": m["name"]})
				}
			}
			sa["imagePullSecrets"] = names
		}
		return sa
	}
	obj := u.DeepCopy().Object
	unstructured.RemoveNestedField(obj, "metadata", "managedFields")
	unstructured.RemoveNestedField(obj, "metadata", "annotations", annotationLastApplied)
	if a, ok, _ := unstructured.NestedMap(obj, "metadata", "annotations"); ok && len(a) == 0 {
		unstructured.RemoveNestedField(obj, "metadata", "annotations")
	}
	crossplane := u.GetKind() == "Deployment" && isCrossplaneDeployment(u)
	redactEnv(obj, crossplane)
	return obj
}

// redactEnv replaces the value of every environment variable in obj (any
// list under a key "env": containers of Deployments, Pods,
// DeploymentRuntimeConfigs' templates, ControllerConfigs' spec.env), but
// CrossplaneEnvRead's on Crossplane's own Deployment. valueFrom keeps only
// the names it refers to.
func redactEnv(v any, crossplane bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if k == "env" {
				if list, ok := val.([]any); ok {
					for _, e := range list {
						if m, ok := e.(map[string]any); ok {
							redactEnvVar(m, crossplane)
						}
					}
					continue
				}
			}
			redactEnv(val, crossplane)
		}
	case []any:
		for _, e := range t {
			redactEnv(e, crossplane)
		}
	}
}

func redactEnvVar(m map[string]any, crossplane bool) {
	name, _ := m["name"].(string)
	if _, ok := m["value"]; ok {
		keep := false
		for _, n := range CrossplaneEnvRead {
			keep = keep || (crossplane && n == name)
		}
		if !keep {
			m["value"] = redact.Mask
		}
	}
	if from, ok := m["valueFrom"].(map[string]any); ok {
		refs := map[string]any{}
		for src, ref := range from {
			r, ok := ref.(map[string]any)
			if !ok {
				continue
			}
			kept := map[string]any{}
			for _, f := range []string{"name", "key", "fieldPath", "resource", "containerName"} {
				if v, ok := r[f]; ok {
					kept[f] = v
				}
			}
			refs[src] = kept
		}
		m["valueFrom"] = refs
	}
}
