package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// ErrCrossplaneNotInstalled is returned when the API server does not serve pkg.crossplane.io.
var ErrCrossplaneNotInstalled = errors.New("crossplane is not installed in this cluster: the API server serves no pkg.crossplane.io resources (check --context, or install Crossplane)")

// Reader lists what a Snapshot needs: one paged List per kind, never a Get
// per object (the only Gets are Crossplane's ServiceAccount and named pull secrets).
type Reader struct {
	Dynamic   dynamic.Interface
	Discovery Discovery
	// Namespace is Crossplane's namespace; empty means auto-detect.
	Namespace string
	// PageSize bounds each List page (default 500, as kubectl).
	PageSize int64
	// ReadSecrets reads the pull secrets Crossplane uses, to inspect images
	// with its credentials. They are kept in memory only.
	ReadSecrets bool
	// ReadCompositions also lists the Compositions (what an upgrade
	// preflight needs); diagnose does not ask for them, so its RBAC stays
	// as docs/rbac.yaml has it.
	ReadCompositions bool
	// Cache, when set, serves the whole-resource Lists it holds (the
	// watched pkg.crossplane.io resources of `xpdoctor serve`) instead of
	// the API server. Everything else is listed as without it.
	Cache Cache
}

// Cache holds every object of some resources, kept current by a watch.
type Cache interface {
	// Objects returns every object of gvr, and false when the cache does
	// not hold gvr (not watched, or not synced yet): the Reader lists it.
	// The objects are shared: the Reader only reads them.
	Objects(gvr schema.GroupVersionResource) ([]*unstructured.Unstructured, bool)
}

// CachedResources are the resources a Cache may serve: every
// pkg.crossplane.io resource the Reader lists whole (never the namespaced,
// filtered Lists of Deployments, Pods and Events).
var CachedResources = append(append([]string{}, packageResources...), "imageconfigs", "locks", "deploymentruntimeconfigs")

// compositions is the Composition resource; apiextensions.crossplane.io/v1
// serves it in every release xpdoctor models.
var compositions = schema.GroupVersionResource{Group: "apiextensions.crossplane.io", Version: "v1", Resource: "compositions"}

var packageResources = []string{"providers", "providerrevisions", "functions", "functionrevisions", "configurations", "configurationrevisions"}

// Read builds a Snapshot. Forbidden reads are recorded as Denials, not errors.
func (r *Reader) Read(ctx context.Context) (*Snapshot, error) {
	s := &Snapshot{}
	served, err := PackageResources(ctx, r.Discovery)
	if err != nil {
		return nil, err
	}
	s.Served = map[string]string{}
	for res, gvr := range served {
		s.Served[res] = gvr.Version
	}
	for _, res := range packageResources {
		gvr, ok := served[res]
		if !ok {
			continue
		}
		if err := r.list(ctx, s, gvr, "", ""); err != nil {
			return nil, err
		}
	}
	// ImageConfigs exist from v1.17.3, DeploymentRuntimeConfigs from v1.14;
	// the Lock from v1.0 (it is created by the first dependency resolution).
	for _, res := range []string{"imageconfigs", "locks", "deploymentruntimeconfigs"} {
		if gvr, ok := served[res]; ok {
			denials := len(s.Denied)
			if err := r.list(ctx, s, gvr, "", ""); err != nil {
				return nil, err
			}
			if res == "locks" && s.Lock == nil && len(s.Denied) == denials {
				s.Lock = &Lock{Packages: []LockPackage{}} // read, and nothing resolved yet
			}
		}
	}
	if r.ReadCompositions {
		denials := len(s.Denied)
		if err := r.list(ctx, s, compositions, "", ""); err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		s.CompositionsRead = len(s.Denied) == denials
	}
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	ns := r.Namespace
	if ns == "" {
		// Crossplane's own Deployment is named crossplane (Helm chart); find
		// its namespace with one cluster-wide List filtered by name.
		found := &Snapshot{}
		if err := r.list(ctx, found, deployments, metav1.NamespaceAll, "", "metadata.name=crossplane"); err != nil {
			return nil, err
		}
		s.Denied = append(s.Denied, found.Denied...)
		ns = found.CrossplaneNamespace
		if ns == "" {
			ns = DefaultNamespace
		}
	}
	s.CrossplaneNamespace = ns
	reads := []struct {
		gvr       schema.GroupVersionResource
		namespace string
		labels    string
	}{
		{deployments, ns, ""},
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, ns, LabelRevision},
		// Crossplane's own pods: an eviction of the package cache says so there.
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, ns, LabelApp + "=crossplane"},
		{schema.GroupVersionResource{Version: "v1", Resource: "events"}, ns, ""},
		// Events about cluster-scoped objects (packages, revisions) are
		// recorded in the default namespace.
		{schema.GroupVersionResource{Version: "v1", Resource: "events"}, metav1.NamespaceDefault, ""},
	}
	for _, rd := range reads {
		if err := r.list(ctx, s, rd.gvr, rd.namespace, rd.labels); err != nil {
			return nil, err
		}
	}
	if err := r.get(ctx, s, schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, ns, CrossplaneServiceAccount); err != nil {
		return nil, err
	}
	if r.ReadSecrets {
		secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
		s.SecretReads = map[string]string{}
		for _, name := range s.pullSecretNames() {
			denials := len(s.Denied)
			if err := r.get(ctx, s, secrets, ns, name); err != nil {
				return nil, err
			}
			_, found := s.Secrets[name]
			switch {
			case len(s.Denied) > denials:
				s.SecretReads[name] = SecretDenied
			case found:
				s.SecretReads[name] = SecretFound
			default:
				// Get answered 404, or the secret holds neither docker
				// config key: to Crossplane's keychain both are nothing.
				s.SecretReads[name] = SecretNotFound
			}
		}
	}
	s.Finish()
	return s, nil
}

// What the cluster answered for a pull secret (Snapshot.SecretReads).
const (
	SecretFound    = "found"
	SecretNotFound = "not found"
	SecretDenied   = "denied"
)

// CrossplaneServiceAccount is the ServiceAccount whose imagePullSecrets
// Crossplane's keychain adds: --service-account / POD_SERVICE_ACCOUNT,
// default "crossplane" (cmd/crossplane/core/core.go@v1.13.0..v2.3.4), the
// name the Helm chart gives it.
const CrossplaneServiceAccount = "crossplane"

// pullSecretNames are the secrets Crossplane pulls packages with.
func (s *Snapshot) pullSecretNames() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, p := range s.Packages {
		for _, n := range p.PullSecrets {
			add(n)
		}
	}
	for _, ic := range s.ImageConfigs {
		add(ic.PullSecret)
	}
	for _, n := range s.CrossplanePullSecrets {
		add(n)
	}
	return out
}

// PackageResources finds which version serves each pkg.crossplane.io
// resource (Function is v1beta1 up to v1.16 and v1 after; ImageConfig only
// exists from v1.17.3). It returns ErrCrossplaneNotInstalled when none is.
func PackageResources(ctx context.Context, d Discovery) (map[string]schema.GroupVersionResource, error) {
	groups, err := d.ServerGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovering API groups: %w", err)
	}
	var versions []string
	for _, g := range groups.Groups {
		if g.Name != PkgGroup {
			continue
		}
		if g.PreferredVersion.Version != "" {
			versions = append(versions, g.PreferredVersion.Version)
		}
		for _, v := range g.Versions {
			if v.Version != g.PreferredVersion.Version {
				versions = append(versions, v.Version)
			}
		}
	}
	if len(versions) == 0 {
		return nil, ErrCrossplaneNotInstalled
	}
	out := map[string]schema.GroupVersionResource{}
	for _, v := range versions {
		list, err := d.ServerResourcesForGroupVersion(ctx, PkgGroup+"/"+v)
		if err != nil {
			return nil, fmt.Errorf("discovering %s/%s: %w", PkgGroup, v, err)
		}
		for _, res := range list.APIResources {
			if strings.Contains(res.Name, "/") {
				continue
			}
			if _, ok := out[res.Name]; !ok {
				out[res.Name] = schema.GroupVersionResource{Group: PkgGroup, Version: v, Resource: res.Name}
			}
		}
	}
	return out, nil
}

func (r *Reader) list(ctx context.Context, s *Snapshot, gvr schema.GroupVersionResource, namespace, labels string, fields ...string) error {
	limit := r.PageSize
	if limit <= 0 {
		limit = 500
	}
	if r.Cache != nil && namespace == "" && labels == "" && len(fields) == 0 {
		if objs, ok := r.Cache.Objects(gvr); ok {
			for _, u := range objs {
				s.Add(u)
			}
			return nil
		}
	}
	opts := metav1.ListOptions{Limit: limit, LabelSelector: labels}
	if len(fields) > 0 {
		opts.FieldSelector = fields[0]
	}
	for {
		var (
			l   *unstructured.UnstructuredList
			err error
		)
		if namespace == "" && (gvr.Group == PkgGroup || gvr == compositions) {
			l, err = r.Dynamic.Resource(gvr).List(ctx, opts)
		} else {
			l, err = r.Dynamic.Resource(gvr).Namespace(namespace).List(ctx, opts)
		}
		if err != nil {
			if denied(s, err, "list", gvr, namespace) {
				return nil
			}
			return fmt.Errorf("listing %s: %w", resourceName(gvr, namespace), err)
		}
		for i := range l.Items {
			s.Add(&l.Items[i])
		}
		if l.GetContinue() == "" {
			return nil
		}
		opts.Continue = l.GetContinue()
	}
}

func (r *Reader) get(ctx context.Context, s *Snapshot, gvr schema.GroupVersionResource, namespace, name string) error {
	u, err := r.Dynamic.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		if denied(s, err, "get", gvr, namespace) {
			return nil
		}
		return fmt.Errorf("reading %s %s: %w", resourceName(gvr, namespace), name, err)
	}
	s.Add(u)
	return nil
}

func denied(s *Snapshot, err error, verb string, gvr schema.GroupVersionResource, namespace string) bool {
	if !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err) {
		return false
	}
	s.Denied = append(s.Denied, Denial{Verb: verb, Group: gvr.Group, Resource: gvr.Resource, Namespace: namespace, Message: err.Error()})
	return true
}

func resourceName(gvr schema.GroupVersionResource, namespace string) string {
	n := gvr.Resource
	if gvr.Group != "" {
		n += "." + gvr.Group
	}
	if namespace != "" {
		n += " in namespace " + namespace
	}
	return n
}
