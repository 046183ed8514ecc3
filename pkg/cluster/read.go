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
	// Record, when set, receives every object the Reader reads, before the
	// Snapshot files it: the support bundle is written from the very reads
	// a diagnosis makes (Bundle.Record). It also makes the Reader list the
	// ControllerConfigs (Crossplane v1), which diagnose does not read.
	// The objects may be shared with a Cache: Record must not change them.
	Record func(*unstructured.Unstructured)
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

// CrossplaneNamespaces are where Crossplane is installed by its Helm chart's
// documented namespace (crossplane-system) and by UXP (upbound-system).
var CrossplaneNamespaces = []string{DefaultNamespace, "upbound-system"}

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
	// Rounds of reads, each sent at once and applied in the order written
	// here (readAll): what is listed first, then what lives in Crossplane's
	// namespace once it is known, then the ServiceAccount its Deployment
	// names, then the pull secrets those name. The snapshot is the one reads one after the other give.
	var first []read
	for _, res := range packageResources {
		if gvr, ok := served[res]; ok {
			first = append(first, read{gvr: gvr})
		}
	}
	// ImageConfigs exist from v1.17.3, DeploymentRuntimeConfigs from v1.14;
	// the Lock from v1.0 (it is created by the first dependency resolution).
	extra := []string{"imageconfigs", "locks", "deploymentruntimeconfigs"}
	if r.Record != nil {
		// ControllerConfigs configured runtimes up to v1.20 (gone in v2.0):
		// the bundle carries them for whoever reads it.
		extra = append(extra, "controllerconfigs")
	}
	for _, res := range extra {
		if gvr, ok := served[res]; ok {
			rd := read{gvr: gvr}
			if res == "locks" {
				rd.after = func(denied bool) {
					if s.Lock == nil && !denied {
						s.Lock = &Lock{Packages: []LockPackage{}} // read, and nothing resolved yet
					}
				}
			}
			first = append(first, rd)
		}
	}
	if r.ReadCompositions {
		first = append(first, read{gvr: compositions, notFoundOK: true, after: func(denied bool) { s.CompositionsRead = !denied }})
	}
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	ns := r.Namespace
	found := &Snapshot{}
	if ns == "" {
		// Crossplane's own Deployment is named crossplane (Helm chart); find
		// its namespace with one cluster-wide List filtered by name.
		first = append(first, read{gvr: deployments, namespace: metav1.NamespaceAll, field: "metadata.name=crossplane", into: found})
	}
	if err := r.readAll(ctx, s, first); err != nil {
		return nil, err
	}
	if ns == "" {
		if len(found.Denied) > 0 {
			// Without the right to list Deployments cluster-wide, look where
			// Crossplane's chart (crossplane-system) and UXP's
			// (upbound-system) install it; finding it there answers what the
			// cluster-wide List asked.
			for _, where := range CrossplaneNamespaces {
				in := &Snapshot{}
				if err := r.readAll(ctx, s, []read{{gvr: deployments, namespace: where, field: "metadata.name=crossplane", into: in}}); err != nil {
					return nil, err
				}
				if in.CrossplaneNamespace != "" {
					found = in
					break
				}
			}
		}
		s.Denied = append(s.Denied, found.Denied...)
		ns = found.CrossplaneNamespace
		s.CrossplaneFound = ns != ""
		if ns == "" {
			ns = DefaultNamespace
		}
	}
	s.CrossplaneNamespace = ns
	second := []read{
		{gvr: deployments, namespace: ns},
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, namespace: ns, labels: LabelRevision},
		// Crossplane's own pods: an eviction of the package cache says so there.
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, namespace: ns, labels: LabelApp + "=crossplane"},
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "events"}, namespace: ns},
		// Events about cluster-scoped objects (packages, revisions) are
		// recorded in the default namespace.
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "events"}, namespace: metav1.NamespaceDefault},
	}
	if err := r.readAll(ctx, s, second); err != nil {
		return nil, err
	}
	// Its name is in Crossplane's Deployment, read just now.
	sa := []read{{gvr: schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, namespace: ns, name: s.CrossplaneServiceAccount()}}
	if err := r.readAll(ctx, s, sa); err != nil {
		return nil, err
	}
	if r.ReadSecrets {
		var secrets []read
		s.SecretReads = map[string]string{}
		for _, name := range s.pullSecretNames() {
			secrets = append(secrets, read{gvr: schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, namespace: ns, name: name,
				after: func(denied bool) {
					_, found := s.Secrets[name]
					switch {
					case denied:
						s.SecretReads[name] = SecretDenied
					case found:
						s.SecretReads[name] = SecretFound
					default:
						// Get answered 404, or the secret holds neither docker
						// config key: to Crossplane's keychain both are nothing.
						s.SecretReads[name] = SecretNotFound
					}
				}})
		}
		if err := r.readAll(ctx, s, secrets); err != nil {
			return nil, err
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

// DefaultServiceAccount is the ServiceAccount whose imagePullSecrets
// Crossplane's keychain adds when its Deployment names none:
// --service-account / POD_SERVICE_ACCOUNT, default "crossplane"
// (cmd/crossplane/core/core.go@v1.13.0..v2.3.4), the name the Helm chart
// gives it.
const DefaultServiceAccount = "crossplane"

// CrossplaneServiceAccount is the ServiceAccount Crossplane runs as: its
// Deployment's serviceAccountName (the Helm chart passes it to
// POD_SERVICE_ACCOUNT through the downward API), else DefaultServiceAccount.
func (s *Snapshot) CrossplaneServiceAccount() string {
	if s.CrossplaneServiceAccountName != "" {
		return s.CrossplaneServiceAccountName
	}
	return DefaultServiceAccount
}

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

// read is one List (or, with name, one Get) of a round of Read.
type read struct {
	gvr                      schema.GroupVersionResource
	namespace, labels, field string
	// name makes it a Get of that object; a missing one is no error.
	name string
	// into receives the objects instead of the snapshot being read.
	into *Snapshot
	// notFoundOK ignores a resource the API server does not serve.
	notFoundOK bool
	// after runs once its objects are added, told whether it was denied.
	after func(denied bool)
}

// page is one answer of a read: objects, or the error that ended it.
type page struct {
	items []*unstructured.Unstructured
	err   error
}

// readAll sends the reads at once and adds what each returns to s in the
// order of reads, a page at a time (each read waits with one page in hand
// until its turn, so memory stays at a page per read). A forbidden read is
// a Denial; any other error ends Read, the first one in the order of reads,
// as reading one after the other would.
func (r *Reader) readAll(ctx context.Context, s *Snapshot, reads []read) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make([]chan page, len(reads))
	for i, rd := range reads {
		pages[i] = make(chan page, 1)
		go r.fetch(ctx, rd, pages[i])
	}
	var failed error
	for i, rd := range reads {
		into := s
		if rd.into != nil {
			into = rd.into
		}
		denials := len(into.Denied)
		for p := range pages[i] {
			switch {
			case failed != nil:
				// Drained so that every fetch ends.
			case p.err != nil:
				failed = r.failure(into, rd, p.err)
				if failed != nil {
					cancel()
				}
			default:
				for _, u := range p.items {
					if into == s {
						r.add(s, u)
					} else {
						// A lookup (Crossplane's Deployment): what it finds is
						// read again, and recorded, there.
						into.Add(u)
					}
				}
			}
		}
		if failed == nil && rd.after != nil {
			rd.after(len(into.Denied) > denials)
		}
	}
	return failed
}

// fetch sends rd's pages to out and closes it.
func (r *Reader) fetch(ctx context.Context, rd read, out chan<- page) {
	defer close(out)
	if rd.name != "" {
		u, err := r.Dynamic.Resource(rd.gvr).Namespace(rd.namespace).Get(ctx, rd.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			out <- page{err: err}
		default:
			out <- page{items: []*unstructured.Unstructured{u}}
		}
		return
	}
	if r.Cache != nil && rd.namespace == "" && rd.labels == "" && rd.field == "" {
		if objs, ok := r.Cache.Objects(rd.gvr); ok {
			out <- page{items: objs}
			return
		}
	}
	limit := r.PageSize
	if limit <= 0 {
		limit = 500
	}
	opts := metav1.ListOptions{Limit: limit, LabelSelector: rd.labels, FieldSelector: rd.field}
	for {
		var (
			l   *unstructured.UnstructuredList
			err error
		)
		if rd.namespace == "" && (rd.gvr.Group == PkgGroup || rd.gvr == compositions) {
			l, err = r.Dynamic.Resource(rd.gvr).List(ctx, opts)
		} else {
			l, err = r.Dynamic.Resource(rd.gvr).Namespace(rd.namespace).List(ctx, opts)
		}
		if err != nil {
			out <- page{err: err}
			return
		}
		items := make([]*unstructured.Unstructured, len(l.Items))
		for i := range l.Items {
			items[i] = &l.Items[i]
		}
		out <- page{items: items}
		if l.GetContinue() == "" {
			return
		}
		opts.Continue = l.GetContinue()
	}
}

// failure is what an error of rd means for Read: nil when it is recorded
// as a Denial (or is a NotFound rd may meet).
func (r *Reader) failure(s *Snapshot, rd read, err error) error {
	verb := "list"
	if rd.name != "" {
		verb = "get"
	}
	if denied(s, err, verb, rd.gvr, rd.namespace) || (rd.notFoundOK && apierrors.IsNotFound(err)) {
		return nil
	}
	if rd.name != "" {
		return fmt.Errorf("reading %s %s: %w", resourceName(rd.gvr, rd.namespace), rd.name, err)
	}
	return fmt.Errorf("listing %s: %w", resourceName(rd.gvr, rd.namespace), err)
}

// add hands an object read to Record, then files it into the Snapshot.
func (r *Reader) add(s *Snapshot, u *unstructured.Unstructured) {
	if r.Record != nil {
		r.Record(u)
	}
	s.Add(u)
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
