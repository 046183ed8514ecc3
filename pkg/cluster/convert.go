package cluster

import (
	"encoding/base64"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func nestedString(obj map[string]any, fields ...string) (string, bool) {
	s, ok, _ := unstructured.NestedString(obj, fields...)
	return s, ok
}

func str(obj map[string]any, fields ...string) string {
	s, _ := nestedString(obj, fields...)
	return s
}

func num(obj map[string]any, fields ...string) int64 {
	v, ok, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	if !ok {
		return 0
	}
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

func boolean(obj map[string]any, fields ...string) bool {
	b, _, _ := unstructured.NestedBool(obj, fields...)
	return b
}

func slice(obj map[string]any, fields ...string) []map[string]any {
	v, ok, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	if !ok {
		return nil
	}
	items, _ := v.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, i := range items {
		if m, ok := i.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// namesOf reads a []LocalObjectReference.
func namesOf(obj map[string]any, fields ...string) []string {
	var out []string
	for _, r := range slice(obj, fields...) {
		if n := str(r, "name"); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func timeOf(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func conditions(obj map[string]any) []Condition {
	var out []Condition
	for _, c := range slice(obj, "status", "conditions") {
		out = append(out, Condition{Type: str(c, "type"), Status: str(c, "status"), Reason: str(c, "reason"),
			Message: CapMessage(str(c, "message")), LastTransitionTime: timeOf(str(c, "lastTransitionTime"))})
	}
	return out
}

func packageFrom(u *unstructured.Unstructured) Package {
	o := u.Object
	p := Package{Kind: u.GetKind(), Name: u.GetName(), Package: str(o, "spec", "package"),
		PullPolicy: str(o, "spec", "packagePullPolicy"), PullSecrets: namesOf(o, "spec", "packagePullSecrets"),
		SkipDependencyResolution:    boolean(o, "spec", "skipDependencyResolution"),
		IgnoreCrossplaneConstraints: boolean(o, "spec", "ignoreCrossplaneConstraints"),
		Conditions:                  conditions(o), CurrentRevision: str(o, "status", "currentRevision"),
		CurrentIdentifier: str(o, "status", "currentIdentifier"), ResolvedPackage: str(o, "status", "resolvedPackage")}
	for _, r := range slice(o, "status", "appliedImageConfigRefs") {
		p.AppliedImageConfigs = append(p.AppliedImageConfigs, str(r, "name")+" ("+str(r, "reason")+")")
	}
	p.RevisionActivationPolicy = str(o, "spec", "revisionActivationPolicy")
	p.RuntimeConfig = str(o, "spec", "runtimeConfigRef", "name")
	p.ControllerConfigRef = str(o, "spec", "controllerConfigRef", "name")
	p.RuntimeConfigRef = str(o, "spec", "runtimeConfigRef", "name")
	if v, ok, _ := unstructured.NestedFieldNoCopy(o, "spec", "revisionHistoryLimit"); ok && v != nil {
		n := num(o, "spec", "revisionHistoryLimit")
		p.RevisionHistoryLimit = &n
	}
	p.Lifecycle = lifecycleOf(u)
	return p
}

// lifecycleOf reads the metadata that tells an object's life.
func lifecycleOf(u *unstructured.Unstructured) Lifecycle {
	l := Lifecycle{UID: string(u.GetUID()), Paused: u.GetAnnotations()[AnnotationPaused] == "true", Finalizers: u.GetFinalizers()}
	if d := u.GetDeletionTimestamp(); d != nil {
		l.Deleted = d.UTC()
	}
	for _, r := range u.GetOwnerReferences() {
		l.Owners = append(l.Owners, Owner{Kind: r.Kind, Name: r.Name, UID: string(r.UID), Controller: r.Controller != nil && *r.Controller})
	}
	return l
}

func revisionFrom(u *unstructured.Unstructured) Revision {
	o := u.Object
	r := Revision{Kind: u.GetKind(), Name: u.GetName(), Parent: u.GetLabels()[LabelParent],
		Image: str(o, "spec", "image"), ResolvedImage: str(o, "status", "resolvedImage"),
		DesiredState: str(o, "spec", "desiredState"), Revision: num(o, "spec", "revision"),
		Conditions: conditions(o), Family: u.GetLabels()[LabelFamily],
		SkipDependencyResolution: boolean(o, "spec", "skipDependencyResolution"),
		PermissionRequests:       len(slice(o, "status", "permissionRequests")),
		Objects:                  len(slice(o, "status", "objectRefs")), Lifecycle: lifecycleOf(u)}
	for _, f := range []string{"foundDependencies", "installedDependencies", "invalidDependencies"} {
		if _, ok, _ := unstructured.NestedFieldNoCopy(o, "status", f); ok {
			r.Dependencies = &DependencyStatus{Found: num(o, "status", "foundDependencies"),
				Installed: num(o, "status", "installedDependencies"), Invalid: num(o, "status", "invalidDependencies")}
			break
		}
	}
	return r
}

func imageConfigFrom(u *unstructured.Unstructured) ImageConfig {
	o := u.Object
	ic := ImageConfig{Name: u.GetName(), RewritePrefix: str(o, "spec", "rewriteImage", "prefix"),
		PullSecret: str(o, "spec", "registry", "authentication", "pullSecretRef", "name")}
	for _, m := range slice(o, "spec", "matchImages") {
		ic.Prefixes = append(ic.Prefixes, str(m, "prefix"))
	}
	ic.Verification = str(o, "spec", "verification", "provider")
	ic.RuntimeConfigRef = str(o, "spec", "runtime", "configRef", "name")
	return ic
}

// lockFrom reads the Lock; a node's kind is its type (v1.x) or kind (v1.18+
// apiVersion/kind form) (apis/pkg/v1beta1/lock.go@v2.3.4).
func lockFrom(u *unstructured.Unstructured) *Lock {
	o := u.Object
	l := &Lock{Packages: []LockPackage{}, Conditions: conditions(o)}
	kindOf := func(m map[string]any) string {
		if k := str(m, "kind"); k != "" {
			return k
		}
		return str(m, "type")
	}
	for _, p := range slice(o, "packages") {
		lp := LockPackage{Name: str(p, "name"), Kind: kindOf(p), Source: str(p, "source"), Version: str(p, "version")}
		for _, d := range slice(p, "dependencies") {
			lp.Dependencies = append(lp.Dependencies, LockDependency{Package: str(d, "package"), Constraints: str(d, "constraints"), Kind: kindOf(d)})
		}
		l.Packages = append(l.Packages, lp)
	}
	return l
}

func compositionFrom(u *unstructured.Unstructured) Composition {
	o := u.Object
	c := Composition{Name: u.GetName(), Mode: str(o, "spec", "mode"), Resources: len(slice(o, "spec", "resources"))}
	for _, r := range u.GetOwnerReferences() {
		if r.Kind == "ConfigurationRevision" && r.Controller != nil && *r.Controller {
			c.Owner = r.Name
		}
	}
	return c
}

// crossplaneContainer reads the args of Crossplane's container (named
// crossplane in the Helm chart, else the first) and the literal values of
// CrossplaneEnvRead.
func crossplaneContainer(u *unstructured.Unstructured) ([]string, map[string]string) {
	cs := slice(u.Object, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		return nil, nil
	}
	c := cs[0]
	for _, x := range cs {
		if str(x, "name") == "crossplane" {
			c = x
		}
	}
	var args []string
	if raw, ok, _ := unstructured.NestedStringSlice(c, "args"); ok {
		args = raw
	}
	var env map[string]string
	for _, e := range slice(c, "env") {
		for _, keep := range CrossplaneEnvRead {
			if v, ok := nestedString(e, "value"); ok && str(e, "name") == keep {
				if env == nil {
					env = map[string]string{}
				}
				env[keep] = v
			}
		}
	}
	return args, env
}

func deploymentFrom(u *unstructured.Unstructured) Deployment {
	o := u.Object
	d := Deployment{Namespace: u.GetNamespace(), Name: u.GetName(), Revision: u.GetLabels()[LabelRevision],
		Replicas: num(o, "status", "replicas"), Available: num(o, "status", "availableReplicas"), Conditions: conditions(o),
		PullSecrets:    namesOf(o, "spec", "template", "spec", "imagePullSecrets"),
		ServiceAccount: str(o, "spec", "template", "spec", "serviceAccountName")}
	if d.Revision == "" {
		// Pod template labels carry the revision when the Deployment's own do not.
		d.Revision, _ = nestedString(o, "spec", "template", "metadata", "labels", LabelRevision)
	}
	for _, c := range slice(o, "spec", "template", "spec", "containers") {
		d.Images = append(d.Images, str(c, "image"))
	}
	return d
}

func podFrom(u *unstructured.Unstructured) Pod {
	o := u.Object
	p := Pod{Namespace: u.GetNamespace(), Name: u.GetName(), Revision: u.GetLabels()[LabelRevision], Phase: str(o, "status", "phase"),
		Reason: str(o, "status", "reason"), Message: CapMessage(str(o, "status", "message"))}
	for _, c := range slice(o, "status", "containerStatuses") {
		ct := Container{Name: str(c, "name"), Image: str(c, "image"), ImageID: str(c, "imageID"), Ready: boolean(c, "ready"),
			RestartCount: num(c, "restartCount"), Waiting: str(c, "state", "waiting", "reason"), WaitingMessage: CapMessage(str(c, "state", "waiting", "message"))}
		if r := str(c, "lastState", "terminated", "reason"); r != "" {
			ct.LastTermination = r
			if m := CapMessage(str(c, "lastState", "terminated", "message")); m != "" {
				ct.LastTermination += ": " + m
			}
			ct.ExitCode = num(c, "lastState", "terminated", "exitCode")
		}
		p.Containers = append(p.Containers, ct)
	}
	return p
}

// eventFrom reads core/v1 and events.k8s.io/v1 Events.
func eventFrom(u *unstructured.Unstructured) Event {
	o := u.Object
	e := Event{Namespace: u.GetNamespace(), Type: str(o, "type"), Reason: str(o, "reason")}
	if u.GetAPIVersion() == "events.k8s.io/v1" {
		e.Kind, e.Name = str(o, "regarding", "kind"), str(o, "regarding", "name")
		e.Message = CapMessage(str(o, "note"))
		e.Count = num(o, "deprecatedCount")
		if c := num(o, "series", "count"); c > 0 {
			e.Count = c
		}
		e.Last = timeOf(str(o, "series", "lastObservedTime"))
		if e.Last.IsZero() {
			e.Last = timeOf(str(o, "eventTime"))
		}
		if e.Last.IsZero() {
			e.Last = timeOf(str(o, "deprecatedLastTimestamp"))
		}
		e.Source = str(o, "reportingController")
	} else {
		e.Kind, e.Name = str(o, "involvedObject", "kind"), str(o, "involvedObject", "name")
		e.Message = CapMessage(str(o, "message"))
		e.Count = num(o, "count")
		if c := num(o, "series", "count"); c > e.Count {
			e.Count = c
		}
		e.Last = timeOf(str(o, "lastTimestamp"))
		if e.Last.IsZero() {
			e.Last = timeOf(str(o, "eventTime"))
		}
		e.Source = str(o, "source", "component")
		if e.Source == "" {
			e.Source = str(o, "reportingComponent")
		}
	}
	if e.Count == 0 {
		e.Count = 1
	}
	return e
}

func decodeBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}
