// Package doctor runs a diagnosis end to end, once, for every command that
// needs one (diagnose, fix, and through them demo): it reads the cluster or
// a support dump, decides which Crossplane version to judge as, builds a
// registry client with the credentials Crossplane itself uses, chooses and
// inspects the images that need it, and decides with package diagnose.
// pkg/cmd only maps flags to Options.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// InspectMode says which package images are read from their registry.
type InspectMode string

// Inspect modes.
const (
	// InspectProblems reads the images of packages that are not healthy, and
	// of every package when upstreams are given to compare with.
	InspectProblems InspectMode = "problems"
	InspectAll      InspectMode = "all"
	InspectNone     InspectMode = "none"
)

// KubeConfig is what doctor needs of kubectl's connection flags
// (pkg/kubeflags.ConfigFlags).
type KubeConfig interface {
	ToRESTConfig() (*rest.Config, error)
	ToRawKubeConfigLoader() clientcmd.ClientConfig
}

// Options say what to diagnose and how.
type Options struct {
	// FromFile reads a support dump instead of a cluster; "-" reads Stdin.
	FromFile string
	// Stdin is the support dump of FromFile "-" (nil: none can be read).
	Stdin io.Reader
	// Kube reaches the cluster when FromFile is empty (kubectl's flags).
	Kube KubeConfig
	// KubeContext is the --context the user named, for the report's source.
	KubeContext string
	// CrossplaneNamespace is Crossplane's namespace; "" finds it.
	CrossplaneNamespace string
	// ReadPullSecrets reads the pull secrets Crossplane uses, to inspect
	// images with its credentials (kept in memory only).
	ReadPullSecrets bool
	// RegistryCredentials says whose credentials package images are read
	// with: "" or CredentialsCrossplane, the pull secrets Crossplane uses
	// for each package; CredentialsLocal, the user's docker config.
	RegistryCredentials RegistryCredentials
	// CrossplaneVersion judges as this version instead of the tag of
	// Crossplane's image.
	CrossplaneVersion string
	// Select narrows the packages.
	Select diagnose.Selector
	// Inspect says which images to read from registries ("" is problems).
	Inspect InspectMode
	// Upstreams map mirrors to their upstreams for comparison.
	Upstreams []xpkg.Mapping
	// Registry are the registry client's options (insecure hosts, logging).
	Registry []xpkg.Option
	// Redactor receives the credentials the run holds: the kubeconfig's and
	// every pull secret read (nil: none are registered).
	Redactor *redact.Redactor
	// Now dates event ages; zero is time.Now.
	Now time.Time
	// WrapTransport wraps the Kubernetes client's transport (tests count requests).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// ReadOnly makes the Kubernetes client refuse every request but GET and
	// HEAD before it is sent (cluster.ReadOnly), whatever the kubeconfig's
	// user may do. Registry clients are made read-only by their own option
	// in Registry (xpkg.WithReadOnly).
	ReadOnly bool
	// Cache serves the pkg.crossplane.io Lists it holds from memory: the
	// watch cache of `xpdoctor serve` (cluster.Reader.Cache).
	Cache cluster.Cache
	// ReadCache is shared by every registry read of the run, and of every
	// other Run given the same one (one per cluster context of a fleet):
	// each image is read once per reference and credentials, a registry is
	// pinged once, and reads in flight are bounded per registry host across
	// all of them (xpkg.ReadCache). Nil: a new one for this Run, with
	// RegistryConcurrency.
	ReadCache *xpkg.ReadCache
	// RegistryConcurrency bounds the reads in flight per registry host of a
	// ReadCache this Run makes (0: xpkg.DefaultRegistryConcurrency); a
	// ReadCache given keeps its own bound.
	RegistryConcurrency int
}

// Result is one collected and decided run.
type Result struct {
	Snapshot *cluster.Snapshot
	// Targets are the Crossplane versions judged: one, or every generation
	// when the version is unknown (VersionKnown false).
	Targets      []crossplane.Target
	VersionKnown bool
	Report       *diagnose.Report
	// Upstreams are the mirror-to-upstream mappings the run compared with.
	Upstreams []xpkg.Mapping
	// Registry is the client that read the images, with Crossplane's
	// credentials and the local docker config; fix copies with it.
	Registry *xpkg.Client
	// NotFound names the packages asked for by name that the input does
	// not hold, when others were found (none found is a *NotFoundError).
	NotFound *NotFoundError
}

// Validate checks the options that do not need the cluster.
func (o Options) Validate() error {
	switch o.Inspect {
	case "", InspectProblems, InspectAll, InspectNone:
	default:
		return fmt.Errorf("--inspect must be problems, all or none, not %q", o.Inspect)
	}
	for _, k := range o.Select.Kinds {
		switch k {
		case "Provider", "Function", "Configuration":
		default:
			return fmt.Errorf("--kind must be Provider, Function or Configuration, not %q", k)
		}
	}
	if o.CrossplaneVersion != "" {
		if _, err := crossplane.Select([]string{o.CrossplaneVersion}); err != nil {
			return err
		}
	}
	switch o.RegistryCredentials {
	case "", CredentialsCrossplane, CredentialsLocal:
	default:
		return fmt.Errorf("--registry-credentials must be crossplane or local, not %q", o.RegistryCredentials)
	}
	if o.RegistryConcurrency < 0 {
		return fmt.Errorf("--registry-concurrency must be at least 1, not %d", o.RegistryConcurrency)
	}
	if o.FromFile == "" && o.Kube == nil {
		return errors.New("no cluster to read: give a kubeconfig, or a support dump with --from-file")
	}
	return nil
}

// Run collects (cluster, registry) and decides.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	snap, err := Snapshot(ctx, o)
	if err != nil {
		return nil, err
	}
	missing, err := notFound(snap, o)
	if err != nil {
		return nil, err
	}
	targets, known, notes, err := targetsFor(snap, o.CrossplaneVersion)
	if err != nil {
		return nil, err
	}
	notes = append(notes, namespaceNote(snap, o)...)
	if snap.DroppedEvents > 0 {
		notes = append(notes, fmt.Sprintf("%d Warning events of the dump were not read: they are more than xpdoctor keeps in memory, so their evidence may be missing", snap.DroppedEvents))
	}
	client := registryClient(snap, o.Redactor, o.readCache(), o.Registry...)
	images, byPackage, creds, skipped, err := inspectImages(ctx, client, snap, targets, o)
	if err != nil {
		return nil, err
	}
	mode := o.RegistryCredentials
	if mode == "" {
		mode = CredentialsCrossplane
	}
	if n := credentialsNote(mode, creds); n != "" {
		notes = append(notes, n)
	}
	depClient, resolverCreds := client, false
	if mode == CredentialsCrossplane && unreadable(snap, snap.DependencyPullSecrets("")) == "" {
		// What Crossplane's dependency resolver sends (never the
		// package's own pull secrets).
		depClient, resolverCreds = client.WithCredentials(dependencyKeychain{snap}), true
	}
	deps := lookupDependencies(ctx, depClient, snap, o)
	for k, lk := range deps {
		lk.ResolverCredentials = resolverCreds
		deps[k] = lk
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := diagnose.Diagnose(diagnose.Input{Snapshot: snap, Images: images, Targets: targets, VersionKnown: known,
		Upstreams: o.Upstreams, Dependencies: deps, Now: now, Select: o.Select, Notes: append(notes, skipped...),
		PackageImages: byPackage, Credentials: creds, RegistryCredentials: registryCredentialsLabel(o, creds)})
	return &Result{Snapshot: snap, Targets: targets, VersionKnown: known, Report: rep, Upstreams: o.Upstreams, Registry: client, NotFound: missing}, nil
}

// Snapshot reads the support dump, or the cluster: Run's first step, on
// its own for shell completion of package names.
func Snapshot(ctx context.Context, o Options) (*cluster.Snapshot, error) {
	return snapshot(ctx, o, false, nil)
}

// RESTConfig is the Kubernetes client config every read of a run uses:
// the kubeconfig and kubectl's flags, client-side rate limits, the
// credentials registered with the Redactor, WrapTransport, and ReadOnly.
func RESTConfig(o Options) (*rest.Config, error) {
	if o.Kube == nil {
		return nil, errors.New("no cluster to read: give a kubeconfig, or a support dump with --from-file")
	}
	cfg, err := o.Kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot load a kubeconfig (set --kubeconfig or KUBECONFIG, or use --from-file): %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	o.Redactor.Add(cfg.BearerToken, cfg.Password, string(cfg.KeyData))
	if o.WrapTransport != nil {
		cfg.Wrap(o.WrapTransport)
	}
	if o.ReadOnly {
		// Last, so it is outermost: nothing a test or logger wraps sees a write.
		cfg.Wrap(cluster.ReadOnly)
	}
	return cfg, nil
}

// snapshot reads the dump or the cluster; compositions also lists the
// Compositions (preflight needs them, diagnose's RBAC does not grant them).
// record, when set, receives every object read (cluster.Reader.Record).
func snapshot(ctx context.Context, o Options, compositions bool, record func(*unstructured.Unstructured)) (*cluster.Snapshot, error) {
	if o.FromFile != "" {
		read := func() (*cluster.Snapshot, error) { return cluster.ReadFile(o.FromFile) }
		if o.FromFile == "-" {
			read = func() (*cluster.Snapshot, error) { return readStdin(o.Stdin) }
		}
		snap, err := read()
		if err != nil {
			return nil, err
		}
		return snap, crossplaneRuns(snap, o, "")
	}
	cfg, err := RESTConfig(o)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := cluster.NewDiscoveryForConfig(cfg)
	if err != nil {
		return nil, err
	}
	r := &cluster.Reader{Dynamic: dyn, Discovery: disc, Namespace: o.CrossplaneNamespace, ReadSecrets: o.ReadPullSecrets, ReadCompositions: compositions, Cache: o.Cache, Record: record}
	snap, err := r.Read(ctx)
	if errors.Is(err, cluster.ErrCrossplaneNotInstalled) {
		return nil, &NoCrossplaneError{Where: clusterAt(o, cfg.Host), Why: "it serves no pkg.crossplane.io API", Fix: "check --context, or install Crossplane", err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the cluster at %s: %w (check --kubeconfig and --context, or read a support dump with --from-file)", cfg.Host, err)
	}
	snap.Source = cfg.Host
	if raw, err := o.Kube.ToRawKubeConfigLoader().RawConfig(); err == nil && raw.CurrentContext != "" {
		snap.Source = raw.CurrentContext
	}
	if o.KubeContext != "" {
		snap.Source = o.KubeContext
	}
	return snap, crossplaneRuns(snap, o, clusterAt(o, cfg.Host))
}

// targetsFor decides the Crossplane version to judge as: the override, else
// the tag of Crossplane's image; when neither names a version, every
// generation, and the notes say so.
func targetsFor(snap *cluster.Snapshot, override string) (targets []crossplane.Target, known bool, notes []string, err error) {
	if override != "" {
		ts, err := crossplane.Select([]string{override})
		if err != nil {
			return nil, false, nil, err
		}
		return ts, true, noteOf(ts[0]), nil
	}
	tag := snap.CrossplaneVersion()
	if tag != "" {
		if ts, err := crossplane.Select([]string{tag}); err == nil {
			return ts, true, noteOf(ts[0]), nil
		}
	}
	all, _ := crossplane.Select(nil)
	why := "the input has no Crossplane Deployment (a Deployment named crossplane)"
	switch {
	case tag != "":
		why = fmt.Sprintf("the tag of Crossplane's image, %q, is not a version", tag)
	case snap.CrossplaneImage != "":
		why = fmt.Sprintf("Crossplane's image %s has no tag", snap.CrossplaneImage)
	}
	return all, false, []string{why + ": the Crossplane version is unknown, so verdicts that depend on it are given per generation (--crossplane-version judges one)"}, nil
}

func noteOf(t crossplane.Target) []string {
	if n := t.Note(); n != "" {
		return []string{n}
	}
	return nil
}

// readCache is the run's ReadCache: the one given, else a new one.
func (o Options) readCache() *xpkg.ReadCache {
	if o.ReadCache != nil {
		return o.ReadCache
	}
	return xpkg.NewReadCache(o.RegistryConcurrency)
}

// registryClient is the run's own client, sharing the run's ReadCache: it
// reads what is not a package's image (upstreams, and what fix copies)
// with every pull secret read, then the local docker config. Each
// package's image is read with Crossplane's keychain for it
// (inspectImages), dependencies with its resolver's.
func registryClient(snap *cluster.Snapshot, r *redact.Redactor, cache *xpkg.ReadCache, opts ...xpkg.Option) *xpkg.Client {
	// The run holds every pull secret it read, used or not.
	registerSecrets(snap, r)
	var all []xpkg.PullSecret
	for _, n := range sortedKeys(snap.Secrets) {
		// One secret that is not a docker config must not cost the others.
		if _, err := xpkg.NewKeyring([]xpkg.PullSecret{snap.Secrets[n]}); err == nil {
			all = append(all, snap.Secrets[n])
		}
	}
	kr, _ := xpkg.NewKeyring(all)
	kc := authn.NewMultiKeychain(kr, authn.DefaultKeychain)
	return xpkg.NewClient(append(append([]xpkg.Option{}, opts...), xpkg.WithKeychain(kc), xpkg.WithReadCache(cache))...)
}

// registryCredentialsLabel is the report's registryCredentials: crossplane
// when every package image was read with Crossplane's keychain, local when
// every one with the user's, mixed otherwise ("" when none was read).
func registryCredentialsLabel(o Options, creds map[string]diagnose.Credentials) string {
	seen := map[string]bool{}
	for _, c := range creds {
		if c.InspectedWith != "" {
			seen[c.InspectedWith] = true
		}
	}
	if len(seen) > 1 {
		return "mixed"
	}
	for w := range seen {
		return w
	}
	return ""
}

// maxDependencyLookups bounds the tag lists read for missing dependencies.
const maxDependencyLookups = 50

// lookupDependencies reads the tags of the dependencies that the selected
// packages' messages name as missing, where Crossplane looks for them, so
// diagnose can tell a reference that does not exist, or has no tag the
// constraint accepts, from one the cluster cannot reach.
func lookupDependencies(ctx context.Context, client *xpkg.Client, snap *cluster.Snapshot, o Options) map[string]diagnose.DependencyLookup {
	out := map[string]diagnose.DependencyLookup{}
	if o.Inspect == InspectNone {
		return out
	}
	var texts []string
	for _, p := range snap.Packages {
		if !o.Select.Selects(p.Kind, p.Name) {
			continue
		}
		for _, c := range p.Conditions {
			texts = append(texts, c.Message)
		}
		for _, e := range snap.EventsFor(p.Kind, p.Name) {
			texts = append(texts, e.Message)
		}
		for _, r := range snap.Revisions {
			if r.Parent != p.Name || r.Kind != cluster.RevisionKind(p.Kind) {
				continue
			}
			for _, c := range r.Conditions {
				texts = append(texts, c.Message)
			}
			for _, e := range snap.EventsFor(r.Kind, r.Name) {
				texts = append(texts, e.Message)
			}
		}
	}
	// Which to look up is decided in order; the lookups run at once (the
	// client's ReadCache bounds them per registry host).
	repos := map[string]name.Repository{}
	for _, t := range texts {
		for _, d := range diagnose.MissingDependencies(t) {
			if _, done := repos[d.Package]; done || len(repos) >= maxDependencyLookups {
				continue
			}
			where := diagnose.WhereCrossplaneLooks(snap, d.Package)
			repo, err := name.NewRepository(where)
			if err != nil {
				continue
			}
			repos[d.Package] = repo
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for pkg, repo := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lk := diagnose.DependencyLookup{Repository: repo.String()}
			tags, err := client.ListTags(ctx, repo)
			var re *xpkg.RegistryError
			switch {
			case errors.As(err, &re):
				lk.Err = re
			case err != nil:
				lk.Err = &xpkg.RegistryError{Ref: repo.String(), Detail: err.Error()}
			}
			lk.Tags = tags
			mu.Lock()
			out[pkg] = lk
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// inspectImages judges the images of the selected packages that need it,
// each with the credentials Crossplane uses for that package (or the
// user's, with --registry-credentials=local), and says per package which
// secret that is. An image two packages pull with different credentials
// is read once for each (the second is returned in byPackage). References
// that cannot be inspected are returned as notes; an inspect failure is an
// error: nothing is dropped silently.
func inspectImages(ctx context.Context, client *xpkg.Client, snap *cluster.Snapshot, targets []crossplane.Target, o Options) (images, byPackage map[string]inspect.Image, creds map[string]diagnose.Credentials, skipped []string, err error) {
	images, byPackage, creds = map[string]inspect.Image{}, map[string]inspect.Image{}, map[string]diagnose.Credentials{}
	mode := o.RegistryCredentials
	if mode == "" {
		mode = CredentialsCrossplane
	}
	var reqs []inspect.Request
	var reqPackages [][]string // the Kind/Name of the packages each request serves
	byRead := map[string]int{}
	for _, p := range snap.Packages {
		if !o.Select.Selects(p.Kind, p.Name) {
			continue
		}
		src := p.Source()
		key := p.Kind + "/" + p.Name
		if _, err := client.ParseReference(src); err != nil {
			if o.Inspect != InspectNone && (o.Inspect == InspectAll || !p.Healthy() || len(o.Upstreams) > 0) {
				skipped = append(skipped, fmt.Sprintf("%s/%s was not inspected: its package reference %q is not one a registry serves (%v)", p.Kind, p.Name, src, err))
			}
			continue
		}
		cr, kc := packageCredentials(snap, p, mode, authn.DefaultKeychain)
		if o.Inspect == InspectNone || (o.Inspect != InspectAll && p.Healthy() && len(o.Upstreams) == 0) {
			// Not read: which secret Crossplane sends is still known,
			// when the input shows every secret it reads.
			if unreadable(snap, snap.PackagePullSecrets(p)) == "" {
				cr.InspectedWith, cr.Why = "", ""
				creds[key] = cr
			}
			continue
		}
		creds[key] = cr
		read := src + "|" + credentialSet(cr)
		if i, seen := byRead[read]; seen {
			reqPackages[i] = append(reqPackages[i], key)
			continue
		}
		req := inspect.Request{Reference: src, Keychain: kc}
		if mode == CredentialsCrossplane && unreadable(snap, snap.DependencyPullSecrets("")) == "" {
			req.DependencyKeychain = dependencyKeychain{snap}
		}
		if up, ok := xpkg.MapAll(o.Upstreams, src); ok {
			if _, err := client.ParseReference(up); err == nil {
				req.Upstream = up
			} else {
				skipped = append(skipped, fmt.Sprintf("%s/%s was not compared with its upstream: %q is not a reference (%v)", p.Kind, p.Name, up, err))
			}
		}
		byRead[read] = len(reqs)
		reqs = append(reqs, req)
		reqPackages = append(reqPackages, []string{key})
	}
	if len(reqs) == 0 {
		return images, byPackage, creds, skipped, nil
	}
	rep, err := inspect.Run(ctx, client, reqs, inspect.Options{Targets: targets}, xpkg.ReadOptions{})
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("inspecting package images: %w", err)
	}
	for i, img := range rep.Images {
		first := false
		if _, ok := images[img.Reference]; !ok {
			images[img.Reference], first = img, true
		}
		for _, key := range reqPackages[i] {
			cr := creds[key]
			cr.Refused = refusedImage(img)
			creds[key] = cr
			if !first {
				byPackage[key] = img
			}
		}
	}
	for _, key := range sortedKeys(creds) {
		cr := creds[key]
		if !cr.Refused || cr.InspectedWith != diagnose.CredentialsCrossplane {
			continue
		}
		if ref, err := client.ParseReference(cr.Image); err == nil {
			verifyAlternatives(ctx, client, snap, &cr, ref)
			creds[key] = cr
		}
	}
	return images, byPackage, creds, skipped, nil
}

// credentialSet identifies the credentials a package's image is read with.
func credentialSet(cr diagnose.Credentials) string {
	var ids []string
	for _, s := range cr.Secrets {
		ids = append(ids, s.ID())
	}
	return cr.InspectedWith + "|" + strings.Join(ids, ",")
}

// refusedImage tells whether the registry refused to serve the image.
func refusedImage(img inspect.Image) bool {
	for _, v := range img.Verdicts {
		if v.Reason == findings.RegistryUnauthorized {
			return true
		}
	}
	return false
}
