// Package cluster reads what diagnose needs from a cluster, or from a
// support dump, into one Snapshot: Crossplane packages and revisions, their
// runtime Deployments and Pods, Events, ImageConfigs, the Lock,
// DeploymentRuntimeConfigs and Crossplane itself.
// It lists each kind once, paged, and tolerates forbidden lists.
package cluster

import (
	"encoding/json"
	"hash/maphash"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Crossplane's API group and labels (apis/pkg/v1/interfaces.go, labels.go@v2.3.4).
const (
	PkgGroup         = "pkg.crossplane.io"
	LabelParent      = "pkg.crossplane.io/package"
	LabelRevision    = "pkg.crossplane.io/revision"
	LabelFamily      = "pkg.crossplane.io/provider-family"
	DefaultNamespace = "crossplane-system"
)

// Condition is a status condition.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitempty"`
}

// Package is a Provider, Function or Configuration.
type Package struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Package is spec.package.
	Package                     string      `json:"package"`
	PullPolicy                  string      `json:"packagePullPolicy,omitempty"`
	PullSecrets                 []string    `json:"packagePullSecrets,omitempty"`
	SkipDependencyResolution    bool        `json:"skipDependencyResolution,omitempty"`
	IgnoreCrossplaneConstraints bool        `json:"ignoreCrossplaneConstraints,omitempty"`
	Conditions                  []Condition `json:"conditions,omitempty"`
	CurrentRevision             string      `json:"currentRevision,omitempty"`
	CurrentIdentifier           string      `json:"currentIdentifier,omitempty"`
	// ResolvedPackage is status.resolvedPackage (v1.20+): after ImageConfig rewrites.
	ResolvedPackage string `json:"resolvedPackage,omitempty"`
	// AppliedImageConfigs are status.appliedImageConfigRefs names and reasons.
	AppliedImageConfigs []string `json:"appliedImageConfigRefs,omitempty"`
	// RevisionActivationPolicy is spec.revisionActivationPolicy (Automatic or Manual).
	RevisionActivationPolicy string `json:"revisionActivationPolicy,omitempty"`
	// RuntimeConfig is spec.runtimeConfigRef.name (DeploymentRuntimeConfig, v1.14+).
	RuntimeConfig string `json:"runtimeConfig,omitempty"`
	// ControllerConfigRef is spec.controllerConfigRef.name (Provider and
	// Function up to v1.20; the field is gone from v2.0.0).
	ControllerConfigRef string `json:"controllerConfigRef,omitempty"`
	// RuntimeConfigRef is spec.runtimeConfigRef.name (Provider and Function, v1.14+).
	RuntimeConfigRef string `json:"runtimeConfigRef,omitempty"`
	// pull is what Crossplane pulls when resolvedPackage is stale: spec.package
	// through the snapshot's ImageConfigs (set by Finish).
	pull string
	// RevisionHistoryLimit is spec.revisionHistoryLimit; nil when unset
	// (the CRD defaults it to 1; 0 keeps every revision).
	RevisionHistoryLimit *int64 `json:"revisionHistoryLimit,omitempty"`
	Lifecycle
}

// Lifecycle is what an object's metadata says about its life: its UID,
// the pause annotation, and a deletion in progress.
type Lifecycle struct {
	UID string `json:"uid,omitempty"`
	// Paused is the annotation crossplane.io/paused: "true", which stops
	// Crossplane's reconcilers, deletion included (crossplane-runtime
	// pkg/meta/meta.go@v1.20.0 IsPaused; manager/reconciler.go,
	// revision/reconciler.go@v1.14.9..v2.3.4).
	Paused bool `json:"paused,omitempty"`
	// Deleted is metadata.deletionTimestamp (zero when not being deleted).
	Deleted    time.Time `json:"deletionTimestamp,omitzero"`
	Finalizers []string  `json:"finalizers,omitempty"`
	// Owners are metadata.ownerReferences.
	Owners []Owner `json:"ownerReferences,omitempty"`
}

// Terminating tells whether the object is being deleted.
func (l Lifecycle) Terminating() bool { return !l.Deleted.IsZero() }

// Controller is the owner reference marked controller, or nil.
func (l Lifecycle) Controller() *Owner {
	for i := range l.Owners {
		if l.Owners[i].Controller {
			return &l.Owners[i]
		}
	}
	return nil
}

// Owner is one metadata.ownerReferences entry.
type Owner struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid,omitempty"`
	Controller bool   `json:"controller,omitempty"`
}

// AnnotationPaused is crossplane-runtime's pause annotation
// (pkg/meta/meta.go@v1.20.0 AnnotationKeyReconciliationPaused).
const AnnotationPaused = "crossplane.io/paused"

// Source is the reference Crossplane pulls: status.resolvedPackage (after
// ImageConfig rewrites) unless that is stale, else spec.package as the
// snapshot's ImageConfigs rewrite it.
func (p Package) Source() string {
	if p.pull != "" {
		return p.pull
	}
	if p.ResolvedPackage != "" && !p.ResolvedStale() {
		return p.ResolvedPackage
	}
	return p.Package
}

// ResolvedStale tells whether status.resolvedPackage may name an earlier
// spec.package: Crossplane sets status.currentIdentifier to spec.package once
// it has made a revision of it, and v2.2+ sets resolvedPackage only after it
// has fetched the package (manager/reconciler.go@v2.3.4; v1.20 and v2.1 set
// it before: @v1.20.0, @v2.1.3), so while a new spec.package fails to unpack
// (or the package is paused), resolvedPackage still names the previous one.
func (p Package) ResolvedStale() bool {
	return p.CurrentIdentifier != "" && p.CurrentIdentifier != p.Package
}

// Condition returns the condition of a type, or nil.
func (p Package) Condition(t string) *Condition { return find(p.Conditions, t) }

// Healthy is true when the package is installed and healthy now: its
// conditions say so, whatever its old events say.
func (p Package) Healthy() bool {
	i, h := p.Condition("Installed"), p.Condition("Healthy")
	return i != nil && i.Status == "True" && h != nil && h.Status == "True"
}

// Revision is a ProviderRevision, FunctionRevision or ConfigurationRevision.
type Revision struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Parent is the package's name (label pkg.crossplane.io/package).
	Parent        string      `json:"parent"`
	Image         string      `json:"image"`
	ResolvedImage string      `json:"resolvedImage,omitempty"`
	DesiredState  string      `json:"desiredState,omitempty"`
	Revision      int64       `json:"revision,omitempty"`
	Conditions    []Condition `json:"conditions,omitempty"`
	Family        string      `json:"family,omitempty"`
	// SkipDependencyResolution is spec.skipDependencyResolution.
	SkipDependencyResolution bool `json:"skipDependencyResolution,omitempty"`
	// PermissionRequests counts status.permissionRequests: the extra RBAC
	// rules a v1.x provider's package.yaml asks for (gone from v2.0.0).
	PermissionRequests int `json:"permissionRequests,omitempty"`
	// Dependencies are status.foundDependencies, installedDependencies and
	// invalidDependencies; nil when the revision has none of them.
	Dependencies *DependencyStatus `json:"dependencies,omitempty"`
	// Objects counts status.objectRefs: the objects (CRDs...) it owns or controls.
	Objects int `json:"objects,omitempty"`
	Lifecycle
}

// DependencyStatus is what Crossplane's dependency manager last counted for
// a revision (revision/dependency.go@v1.14.9..v2.3.4 Resolve): Found
// dependencies (direct ones until the revision is in the Lock, then its
// whole tree), how many of them are Installed, and how many installed ones
// do not satisfy their constraint (Invalid).
type DependencyStatus struct {
	Found     int64 `json:"found"`
	Installed int64 `json:"installed"`
	Invalid   int64 `json:"invalid"`
}

// Missing is how many found dependencies are not installed.
func (d DependencyStatus) Missing() int64 { return max(d.Found-d.Installed, 0) }

// Condition returns the condition of a type, or nil.
func (r Revision) Condition(t string) *Condition { return find(r.Conditions, t) }

// Deployment is a package runtime Deployment (or Crossplane's own).
type Deployment struct {
	Namespace  string      `json:"namespace"`
	Name       string      `json:"name"`
	Revision   string      `json:"revision,omitempty"`
	Images     []string    `json:"images,omitempty"`
	Replicas   int64       `json:"replicas"`
	Available  int64       `json:"availableReplicas"`
	Conditions []Condition `json:"conditions,omitempty"`
	// PullSecrets are the pod template's imagePullSecrets.
	PullSecrets    []string `json:"imagePullSecrets,omitempty"`
	ServiceAccount string   `json:"serviceAccount,omitempty"`
}

// Container is one container's status.
type Container struct {
	Name         string `json:"name"`
	Image        string `json:"image"`
	ImageID      string `json:"imageID,omitempty"`
	Ready        bool   `json:"ready"`
	RestartCount int64  `json:"restartCount"`
	// Waiting is the reason a container waits (ImagePullBackOff, CrashLoopBackOff...).
	Waiting        string `json:"waiting,omitempty"`
	WaitingMessage string `json:"waitingMessage,omitempty"`
	// LastTermination is the last termination's reason and message.
	LastTermination string `json:"lastTermination,omitempty"`
	ExitCode        int64  `json:"exitCode,omitempty"`
}

// Pod is a package runtime Pod.
type Pod struct {
	Namespace  string      `json:"namespace"`
	Name       string      `json:"name"`
	Revision   string      `json:"revision,omitempty"`
	Phase      string      `json:"phase"`
	Containers []Container `json:"containers,omitempty"`
	// Reason and Message are status.reason and status.message (an eviction says why there).
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Lock is Crossplane's package Lock (locks.pkg.crossplane.io, the one
// object named lock; apis/pkg/v1beta1/lock.go@v2.3.4): what the dependency
// manager resolves against.
type Lock struct {
	Packages   []LockPackage `json:"packages"`
	Conditions []Condition   `json:"conditions,omitempty"`
}

// LockPackage is a package revision as the Lock records it.
type LockPackage struct {
	// Name is the package revision's name.
	Name string `json:"name"`
	// Kind is Provider, Configuration or Function: spec type (v1) or kind (v1.20+).
	Kind string `json:"kind,omitempty"`
	// Source is the repository without tag or digest; Version its tag or digest.
	Source       string           `json:"source"`
	Version      string           `json:"version"`
	Dependencies []LockDependency `json:"dependencies,omitempty"`
}

// LockDependency is one dependsOn entry of a Lock package.
type LockDependency struct {
	Package string `json:"package"`
	// Constraints is a semantic version range or a digest.
	Constraints string `json:"constraints,omitempty"`
	Kind        string `json:"kind,omitempty"`
}

// Find returns the Lock package of a revision name, or nil.
func (l *Lock) Find(revision string) *LockPackage {
	if l == nil {
		return nil
	}
	for i := range l.Packages {
		if l.Packages[i].Name == revision {
			return &l.Packages[i]
		}
	}
	return nil
}

// BySource returns the Lock packages whose source is source.
func (l *Lock) BySource(source string) []LockPackage {
	if l == nil {
		return nil
	}
	var out []LockPackage
	for _, p := range l.Packages {
		if p.Source == source {
			out = append(out, p)
		}
	}
	return out
}

// Event is a core/v1 or events.k8s.io Event, deduplicated.
type Event struct {
	Namespace string    `json:"namespace,omitempty"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	Message   string    `json:"message"`
	Count     int64     `json:"count"`
	Last      time.Time `json:"lastTimestamp,omitempty"`
	Source    string    `json:"source,omitempty"`
}

// ImageConfig is a pkg.crossplane.io/v1beta1 ImageConfig.
type ImageConfig struct {
	Name          string   `json:"name"`
	Prefixes      []string `json:"prefixes"`
	RewritePrefix string   `json:"rewritePrefix,omitempty"`
	PullSecret    string   `json:"pullSecret,omitempty"`
	// Verification is spec.verification.provider (v1.18+, e.g. Cosign).
	Verification string `json:"verification,omitempty"`
	// RuntimeConfigRef is spec.runtime.configRef.name (v2.2+).
	RuntimeConfigRef string `json:"runtimeConfigRef,omitempty"`
}

// Composition is what preflight needs of an apiextensions.crossplane.io
// Composition: its mode and the package revision that installed it.
type Composition struct {
	Name string `json:"name"`
	// Mode is spec.mode as stored ("" when unset; v1.x defaulted it to Resources).
	Mode string `json:"mode,omitempty"`
	// Resources counts spec.resources (native patch-and-transform).
	Resources int `json:"resources,omitempty"`
	// Owner is the controlling ConfigurationRevision, if any.
	Owner string `json:"owner,omitempty"`
}

// Denial is a read the caller was not allowed to make.
type Denial struct {
	Verb      string `json:"verb"`
	Group     string `json:"group,omitempty"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Message   string `json:"message"`
}

// Snapshot is everything diagnose reads.
type Snapshot struct {
	// Source says where it came from: a context name or a file.
	Source string `json:"source"`
	// FromDump is true for a support dump: what it lacks may exist in the
	// cluster (a live read lists every object of each kind it can).
	FromDump            bool   `json:"fromDump,omitempty"`
	CrossplaneNamespace string `json:"crossplaneNamespace"`
	// CrossplaneFound: Crossplane's Deployment was found in
	// CrossplaneNamespace by the Reader (it was not given, and not assumed).
	CrossplaneFound bool `json:"crossplaneFound,omitempty"`
	// FromBundle: the input is a support bundle (BundleInfo), a whole read
	// of the cluster but for the Secrets, which a bundle never holds.
	FromBundle bool `json:"fromBundle,omitempty"`
	// CrossplaneImage is the image of Crossplane's own Deployment.
	CrossplaneImage string `json:"crossplaneImage,omitempty"`
	// CrossplaneArgs are the args of Crossplane's container (core start ...):
	// the core flags, known when CrossplaneImage is.
	CrossplaneArgs []string `json:"crossplaneArgs,omitempty"`
	// CrossplaneEnv holds the literal values of the variables in
	// CrossplaneEnvRead set on Crossplane's container; no other value is read.
	CrossplaneEnv map[string]string `json:"crossplaneEnv,omitempty"`
	// CrossplaneServiceAccount pull secrets apply to every package pull.
	CrossplanePullSecrets []string      `json:"crossplanePullSecrets,omitempty"`
	Packages              []Package     `json:"packages"`
	Revisions             []Revision    `json:"revisions"`
	Deployments           []Deployment  `json:"deployments"`
	Pods                  []Pod         `json:"pods"`
	Events                []Event       `json:"events"`
	ImageConfigs          []ImageConfig `json:"imageConfigs,omitempty"`
	// Lock is nil when the input has none (a dump without it, or a
	// cluster where nothing resolved dependencies yet).
	Lock *Lock `json:"lock,omitempty"`
	// RuntimeConfigs are the DeploymentRuntimeConfigs' names.
	RuntimeConfigs []string `json:"runtimeConfigs,omitempty"`
	// CrossplanePods are Crossplane's own pods (an evicted one says why).
	CrossplanePods []Pod `json:"crossplanePods,omitempty"`
	// Compositions are read only when asked (Reader.ReadCompositions) or
	// found in a dump; CompositionsRead says they were.
	Compositions     []Composition `json:"compositions,omitempty"`
	CompositionsRead bool          `json:"compositionsRead,omitempty"`
	Denied           []Denial      `json:"denied,omitempty"`
	// Secrets holds the pull secrets read, by name (in Crossplane's
	// namespace); never rendered.
	Secrets map[string]xpkg.PullSecret `json:"-"`
	// SecretReads says what the cluster answered for each pull secret
	// xpdoctor asked for by name: SecretFound, SecretNotFound or
	// SecretDenied. Empty for a support dump, which has no secrets.
	SecretReads map[string]string `json:"secretReads,omitempty"`
	// CrossplaneServiceAccountName is the serviceAccountName of
	// Crossplane's Deployment ("" when it names none, or there is none).
	CrossplaneServiceAccountName string `json:"crossplaneServiceAccount,omitempty"`
	// serviceAccounts are the imagePullSecrets of every ServiceAccount
	// read, by namespace/name.
	serviceAccounts map[string][]string
	// ServiceAccountPullSecrets are the imagePullSecrets of Crossplane's
	// ServiceAccount only: what its keychain adds to every pull (k8schain
	// reads the ServiceAccount, never the Deployment's pod template).
	// Nil when the ServiceAccount was not read.
	ServiceAccountPullSecrets []string `json:"serviceAccountPullSecrets,omitempty"`
	// Served maps each pkg.crossplane.io resource (providers, functions,
	// imageconfigs, ...) to the API version discovery found it under
	// (Function is v1beta1 up to Crossplane v1.16); empty for a dump.
	Served map[string]string `json:"served,omitempty"`
	// DroppedEvents counts the Warning events not kept because the snapshot
	// reached MaxKeptBytes.
	DroppedEvents int `json:"droppedEvents,omitempty"`

	keptEvents, keptObjects int64
	// crossplaneObjects counts the pkg.crossplane.io objects filed.
	crossplaneObjects int
	// lockRead: a support bundle says its Lock was listed (BundleInfo).
	lockRead   bool
	overflowed bool
	// maxKept replaces MaxKeptBytes in tests.
	maxKept int64

	// events indexes Events by a hash of what merges them (addEvent);
	// eventObjects holds a hash of each Event object's namespace and name.
	// A dump of a large cluster holds hundreds of thousands of events:
	// hashes keep these indexes at a few bytes per event.
	seed         maphash.Seed
	events       map[uint64][]int32
	eventObjects map[uint64]struct{}
	// interned shares the strings events repeat (kinds, reasons, names).
	interned map[string]string
}

func (s *Snapshot) hash(parts ...string) uint64 {
	if s.events == nil {
		s.seed = maphash.MakeSeed()
		s.events, s.eventObjects, s.interned = map[uint64][]int32{}, map[uint64]struct{}{}, map[string]string{}
	}
	var h maphash.Hash
	h.SetSeed(s.seed)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	return h.Sum64()
}

func (s *Snapshot) intern(v string) string {
	if i, ok := s.interned[v]; ok {
		return i
	}
	s.interned[v] = v
	return v
}

// ReportingController is the reportingController of the Events xpdoctor
// records (events.k8s.io/v1; core/v1 shows it as reportingComponent).
const ReportingController = "xpdoctor"

// eventKinds are the objects whose events diagnose reads: packages,
// revisions and their runtime pods (diagnose.observe, runtimeFindings).
var eventKinds = map[string]bool{
	"Provider": true, "ProviderRevision": true, "Function": true, "FunctionRevision": true,
	"Configuration": true, "ConfigurationRevision": true, "Pod": true,
}

// KeepsEvent reports whether diagnose reads an event of this type about an
// object of this kind: only Warnings say why something fails. A dump of a
// large cluster is mostly other events; they are dropped as they are read.
func KeepsEvent(eventType, involvedKind string) bool {
	return eventType == "Warning" && eventKinds[involvedKind]
}

// APIVersion is the group/version the cluster serves a pkg.crossplane.io
// resource under, or fallback ("pkg.crossplane.io/" + fallback) when
// discovery did not say.
func (s *Snapshot) APIVersion(resource, fallback string) string {
	if v := s.Served[resource]; v != "" {
		return PkgGroup + "/" + v
	}
	return PkgGroup + "/" + fallback
}

// CrossplaneEnvRead are the environment variables of Crossplane's container
// whose literal values a Snapshot keeps: REGISTRY is --registry up to v1.20
// (cmd/crossplane/core/core.go@v1.20.0). Other values may be credentials.
var CrossplaneEnvRead = []string{"REGISTRY"}

// CrossplaneVersion is the tag of Crossplane's image ("" if unknown).
func (s *Snapshot) CrossplaneVersion() string {
	img := s.CrossplaneImage
	if i := strings.Index(img, "@"); i >= 0 {
		img = img[:i]
	}
	if i := strings.LastIndex(img, ":"); i >= 0 && !strings.Contains(img[i:], "/") {
		return img[i+1:]
	}
	return ""
}

func find(cs []Condition, t string) *Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// Add files one object into the snapshot by kind. Unknown kinds are ignored.
func (s *Snapshot) Add(u *unstructured.Unstructured) {
	gv := u.GetAPIVersion()
	group := ""
	if i := strings.Index(gv, "/"); i >= 0 {
		group = gv[:i]
	}
	if group == PkgGroup {
		s.crossplaneObjects++
	}
	switch {
	case group == "xpdoctor.io" && u.GetKind() == BundleKind:
		s.addBundleInfo(u)
	case group == PkgGroup && isPackageKind(u.GetKind()):
		p := packageFrom(u)
		s.keep(objectCost + conditionsCost(p.Conditions))
		s.Packages = append(s.Packages, p)
	case group == PkgGroup && isRevisionKind(u.GetKind()):
		r := revisionFrom(u)
		s.keep(objectCost + conditionsCost(r.Conditions))
		s.Revisions = append(s.Revisions, r)
	case group == PkgGroup && u.GetKind() == "ImageConfig":
		s.keep(objectCost)
		s.ImageConfigs = append(s.ImageConfigs, imageConfigFrom(u))
	case group == PkgGroup && u.GetKind() == "Lock":
		// Crossplane keeps exactly one Lock, named lock (resolver/reconciler.go@v2.3.4 lockName).
		if u.GetName() == "lock" {
			s.Lock = lockFrom(u)
		}
	case group == PkgGroup && u.GetKind() == "DeploymentRuntimeConfig":
		s.keep(eventCost)
		s.RuntimeConfigs = append(s.RuntimeConfigs, u.GetName())
	case group == "apiextensions.crossplane.io" && u.GetKind() == "Composition":
		s.Compositions = append(s.Compositions, compositionFrom(u))
		s.CompositionsRead = true
	case (group == "apps") && u.GetKind() == "Deployment":
		d := deploymentFrom(u)
		if isCrossplaneDeployment(u) {
			s.CrossplaneImage = firstOr(d.Images, "")
			s.CrossplaneArgs, s.CrossplaneEnv = crossplaneContainer(u)
			if s.CrossplaneNamespace == "" {
				s.CrossplaneNamespace = d.Namespace
			}
			s.CrossplanePullSecrets = append(s.CrossplanePullSecrets, d.PullSecrets...)
			s.CrossplaneServiceAccountName = d.ServiceAccount
			return
		}
		if d.Revision != "" {
			s.keep(objectCost + conditionsCost(d.Conditions))
			s.Deployments = append(s.Deployments, d)
		}
	case group == "" && u.GetKind() == "Pod":
		switch p := podFrom(u); {
		case p.Revision != "":
			s.keep(podCost(p))
			s.Pods = append(s.Pods, p)
		case isCrossplanePod(u):
			s.keep(podCost(p))
			s.CrossplanePods = append(s.CrossplanePods, p)
		}
	case group == "" && u.GetKind() == "ServiceAccount":
		names := namesOf(u.Object, "imagePullSecrets")
		if s.serviceAccounts == nil {
			s.serviceAccounts = map[string][]string{}
		}
		// Which ServiceAccount is Crossplane's is settled in Finish: a
		// dump may list it before Crossplane's Deployment.
		s.serviceAccounts[u.GetNamespace()+"/"+u.GetName()] = append([]string{}, names...)
		if u.GetName() == s.CrossplaneServiceAccount() {
			s.CrossplanePullSecrets = append(s.CrossplanePullSecrets, names...)
			s.ServiceAccountPullSecrets = append([]string{}, names...)
		}
	case group == "" && u.GetKind() == "Secret":
		ps := xpkg.PullSecret{Namespace: u.GetNamespace(), Name: u.GetName(), Type: str(u.Object, "type"), Data: map[string][]byte{}}
		for _, key := range []string{xpkg.DockerConfigJSONKey, xpkg.DockercfgKey} {
			if data, ok := nestedString(u.Object, "data", key); ok {
				ps.Data[key] = decodeBase64(data)
			}
		}
		if len(ps.Data) > 0 {
			if s.Secrets == nil {
				s.Secrets = map[string]xpkg.PullSecret{}
			}
			s.Secrets[u.GetName()] = ps
		}
	case (group == "" || group == "events.k8s.io") && u.GetKind() == "Event":
		// core/v1 and events.k8s.io/v1 serve the same objects: a dump that
		// holds both must count each event once.
		e := eventFrom(u)
		// xpdoctor's own events (serve --record-events) are its output,
		// never its evidence: read back, they would confirm themselves.
		if !KeepsEvent(e.Type, e.Kind) || e.Source == ReportingController {
			return
		}
		// Two objects whose names hash alike would count as one: at 64 bits,
		// about once in 10^9 dumps of 200,000 events.
		key := s.hash(u.GetNamespace(), u.GetName())
		if _, seen := s.eventObjects[key]; seen {
			return
		}
		s.eventObjects[key] = struct{}{}
		s.addEvent(e)
	}
}

// Finish sorts everything for stable output.
func (s *Snapshot) Finish() {
	sort.Slice(s.Packages, func(i, j int) bool {
		if s.Packages[i].Kind != s.Packages[j].Kind {
			return kindOrder(s.Packages[i].Kind) < kindOrder(s.Packages[j].Kind)
		}
		return s.Packages[i].Name < s.Packages[j].Name
	})
	sort.Slice(s.Revisions, func(i, j int) bool { return s.Revisions[i].Name < s.Revisions[j].Name })
	sort.Strings(s.RuntimeConfigs)
	sort.Slice(s.Events, func(i, j int) bool {
		if !s.Events[i].Last.Equal(s.Events[j].Last) {
			return s.Events[i].Last.After(s.Events[j].Last)
		}
		return s.Events[i].Message < s.Events[j].Message
	})
	if s.CrossplaneNamespace == "" {
		s.CrossplaneNamespace = DefaultNamespace
	}
	if s.lockRead && s.Lock == nil {
		s.Lock = &Lock{Packages: []LockPackage{}}
	}
	if s.serviceAccounts != nil {
		s.ServiceAccountPullSecrets = s.serviceAccounts[s.CrossplaneNamespace+"/"+s.CrossplaneServiceAccount()]
	}
	for i, p := range s.Packages {
		if p.ResolvedStale() {
			s.Packages[i].pull, _ = s.RewriteImage(p.Package)
		}
	}
}

// HasCrossplane tells whether the input holds anything of Crossplane: a
// pkg.crossplane.io object, Crossplane's Deployment, or a support bundle's
// record of a read of a cluster where Crossplane runs.
func (s *Snapshot) HasCrossplane() bool {
	return s.crossplaneObjects > 0 || s.CrossplaneImage != "" || s.CrossplaneFound
}

// addBundleInfo reads a support bundle's first item (BundleInfo): the dump
// is then what a live read saw (FromDump false: what it lacks is gone),
// with the reads that were forbidden, the API versions served, and whether
// the Lock was read.
func (s *Snapshot) addBundleInfo(u *unstructured.Unstructured) {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return
	}
	var in BundleInfo
	if json.Unmarshal(raw, &in) != nil || in.APIVersion != BundleAPIVersion {
		return
	}
	s.FromDump, s.FromBundle = false, true
	s.Served = in.Served
	s.CrossplaneNamespace, s.CrossplaneFound = in.CrossplaneNamespace, in.CrossplaneFound
	s.Denied = append(s.Denied, in.Denied...)
	s.lockRead = in.LockRead
}

func kindOrder(k string) int {
	switch k {
	case "Provider":
		return 0
	case "Function":
		return 1
	}
	return 2
}

// Memory a Snapshot may keep. Add estimates what it keeps: events may use
// three quarters of MaxKeptBytes, after which further events are not kept
// (DroppedEvents counts them); packages, revisions, deployments and pods the
// rest, after which the snapshot is Overflowed. Reading a dump of any
// content thus stays within its memory bound (file.go).
const (
	MaxKeptBytes = 96 << 20
	objectCost   = 1 << 10
	eventCost    = 256
)

func (s *Snapshot) budget() (events, objects int64) {
	total := int64(MaxKeptBytes)
	if s.maxKept > 0 {
		total = s.maxKept
	}
	return total / 4 * 3, total / 4
}

func (s *Snapshot) keep(n int) {
	s.keptObjects += int64(n)
	if _, limit := s.budget(); s.keptObjects > limit {
		s.overflowed = true
	}
}

// Overflowed reports that the snapshot kept more than MaxKeptBytes of
// objects other than events: the dump is not one cluster's Crossplane state.
func (s *Snapshot) Overflowed() bool { return s.overflowed }

func podCost(p Pod) int {
	n := objectCost + len(p.Message)
	for _, c := range p.Containers {
		n += len(c.WaitingMessage) + len(c.LastTermination)
	}
	return n
}

func conditionsCost(cs []Condition) int {
	n := 0
	for _, c := range cs {
		n += len(c.Message)
	}
	return n
}

// addEvent merges events with the same subject, reason and message.
func (s *Snapshot) addEvent(e Event) {
	key := s.hash(e.Kind, e.Namespace, e.Name, e.Type, e.Reason, e.Message)
	for _, i := range s.events[key] {
		old := &s.Events[i]
		if old.Kind == e.Kind && old.Namespace == e.Namespace && old.Name == e.Name && old.Type == e.Type && old.Reason == e.Reason && old.Message == e.Message {
			old.Count += e.Count
			if e.Last.After(old.Last) {
				old.Last = e.Last
			}
			return
		}
	}
	limit, _ := s.budget()
	if cost := int64(eventCost + len(e.Message) + len(e.Name)); s.keptEvents+cost > limit {
		s.DroppedEvents++
		return
	} else {
		s.keptEvents += cost
	}
	e.Kind, e.Namespace, e.Name, e.Type, e.Reason, e.Source = s.intern(e.Kind), s.intern(e.Namespace), s.intern(e.Name), s.intern(e.Type), s.intern(e.Reason), s.intern(e.Source)
	s.events[key] = append(s.events[key], int32(len(s.Events)))
	s.Events = append(s.Events, e)
}

// EventsFor returns the events about one object.
func (s *Snapshot) EventsFor(kind, name string) []Event {
	var out []Event
	for _, e := range s.Events {
		if e.Kind == kind && e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func isPackageKind(k string) bool {
	return k == "Provider" || k == "Function" || k == "Configuration"
}

func isRevisionKind(k string) bool {
	return k == "ProviderRevision" || k == "FunctionRevision" || k == "ConfigurationRevision"
}

// RevisionKind is the revision kind of a package kind.
func RevisionKind(pkgKind string) string { return pkgKind + "Revision" }

// isCrossplaneDeployment recognises the Helm chart's Deployment (named
// crossplane; cluster/charts/crossplane/templates/deployment.yaml@v2.3.4).
func isCrossplaneDeployment(u *unstructured.Unstructured) bool {
	return u.GetName() == "crossplane"
}

// LabelApp is the label the Helm chart puts on Crossplane's own pods
// (cluster/charts/crossplane/templates/deployment.yaml@v2.3.4: app: crossplane).
const LabelApp = "app"

func isCrossplanePod(u *unstructured.Unstructured) bool {
	return u.GetLabels()[LabelApp] == "crossplane"
}

func firstOr(s []string, d string) string {
	if len(s) > 0 {
		return s[0]
	}
	return d
}

// RewriteImage applies the ImageConfig whose matchImages prefix is the
// longest match of ref, as Crossplane v1.20+ does for package and dependency
// sources (RewritePath; PR
// https://github.com/crossplane/crossplane/pull/6421; crossplane-runtime:
// pkg/xpkg/config.go@v2.3.3 bestMatch, where an empty prefix never matches).
// It returns ref and "" when no ImageConfig rewrites it.
func (s *Snapshot) RewriteImage(ref string) (rewritten, imageConfig string) {
	best, bestLen := ref, 0
	for _, ic := range s.ImageConfigs {
		if ic.RewritePrefix == "" {
			continue
		}
		for _, p := range ic.Prefixes {
			if strings.HasPrefix(ref, p) && len(p) > bestLen {
				best, bestLen, imageConfig = ic.RewritePrefix+strings.TrimPrefix(ref, p), len(p), ic.Name
			}
		}
	}
	return best, imageConfig
}
