package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

// The Events xpdoctor records are events.k8s.io/v1 Events, whose limits
// are the API server's (kubernetes pkg/apis/core/validation/events.go:
// ReasonLengthLimit and ActionLengthLimit 128, NoteLengthLimit 1024;
// ValidateEventUpdate: the note and reason of an event are immutable, only
// its series changes, with a count of at least 2).
const (
	noteLimit     = 1024
	instanceLimit = 128
	eventAction   = "Diagnose"
	// labelManagedBy marks the Events xpdoctor records, to find them again
	// after a restart.
	labelManagedBy = "app.kubernetes.io/managed-by"
	// eventNamespace holds the Events about cluster-scoped objects (every
	// package is one): client-go's recorders put them there
	// (tools/events/event_recorder.go and tools/record/event.go@v0.37.2:
	// namespace "" becomes metav1.NamespaceDefault), and diagnose reads them there.
	eventNamespace = metav1.NamespaceDefault
)

var eventsGVR = schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"}

// subject is what a finding's event is about: its key.
type subject struct {
	kind, name string
	code       findings.Code
}

// eventName is the Event's name for a subject: the package's name, so
// `kubectl get events` reads well, and a hash of the subject, so that the
// same finding always has the same Event (found again after a restart).
func eventName(s subject) string {
	sum := sha256.Sum256([]byte(s.kind + "/" + s.name + "/" + string(s.code)))
	suffix := ".xpdoctor." + hex.EncodeToString(sum[:8])
	name := s.name
	// An Event's name is a DNS subdomain: at most 253 characters.
	if limit := 253 - len(suffix); len(name) > limit {
		name = strings.TrimRight(name[:limit], ".-")
	}
	return name + suffix
}

// recorder records each new finding as one Event on its package. A finding
// present at consecutive runs is one Event; one that goes away and comes
// back increments that Event's series. Findings about no package (the
// cluster as a whole) are left to the metrics.
type recorder struct {
	dyn      dynamic.Interface
	instance string
	text     report.Text
	log      *slog.Logger
	counted  func(result string)
	// regarding finds a package's apiVersion and uid (the watch cache):
	// kubectl describe matches Events by uid.
	regarding func(kind, name string) (apiVersion string, uid types.UID)

	// active are the subjects of the last run, whose Events say so already.
	active map[subject]bool
	// counts are the series counts of the Events this process knows
	// (seeded from the cluster at start).
	counts map[string]int64
	seeded bool
}

// seed reads the Events a previous process recorded, so that a restart
// does not announce a steady finding again: a finding whose Event exists
// at the first run is taken as reported. It lists with the core API, which
// the read-only role already allows.
func (r *recorder) seed(ctx context.Context) error {
	l, err := r.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "events"}).Namespace(eventNamespace).
		List(ctx, metav1.ListOptions{LabelSelector: labelManagedBy + "=" + cluster.ReportingController})
	if err != nil {
		return err
	}
	for _, e := range l.Items {
		c, _, _ := unstructured.NestedInt64(e.Object, "series", "count")
		r.counts[e.GetName()] = max(c, 1)
	}
	return nil
}

// record makes the Events say what fs says, at now.
func (r *recorder) record(ctx context.Context, fs []findings.Finding, now time.Time) {
	first := !r.seeded
	if first {
		r.seeded, r.counts = true, map[string]int64{}
		if err := r.seed(ctx); err != nil {
			// Steady findings may then be announced again: once.
			r.log.Warn("cannot read the events of an earlier run", "error", r.text.Line(err.Error()))
		}
	}
	current := map[subject]findings.Finding{}
	for _, f := range fs {
		if f.Subject.Kind == "" || f.Subject.Name == "" {
			continue
		}
		s := subject{kind: f.Subject.Kind, name: f.Subject.Name, code: f.Code}
		if old, ok := current[s]; !ok || f.Severity.Rank() > old.Severity.Rank() {
			current[s] = f
		}
	}
	next := map[subject]bool{}
	for s, f := range current {
		if r.active[s] {
			next[s] = true
			continue
		}
		if _, exists := r.counts[eventName(s)]; first && exists {
			next[s] = true // reported by the process before this one
			continue
		}
		if err := r.emit(ctx, s, f, now); err != nil {
			r.counted("failed")
			r.log.Warn("cannot record an event; trying again at the next run", "reason", string(s.code),
				"kind", s.kind, "name", r.text.Line(s.name), "error", r.text.Line(err.Error()))
			continue
		}
		next[s] = true
	}
	r.active = next
}

// emit creates the subject's Event, or counts a repeat on it.
func (r *recorder) emit(ctx context.Context, s subject, f findings.Finding, now time.Time) error {
	name := eventName(s)
	events := r.dyn.Resource(eventsGVR).Namespace(eventNamespace)
	if n, ok := r.counts[name]; ok {
		err := r.repeat(ctx, events, name, n+1, now)
		if !apierrors.IsNotFound(err) {
			return err
		}
		delete(r.counts, name) // expired (the API server keeps events an hour by default)
	}
	_, err := events.Create(ctx, r.event(name, s, f, now), metav1.CreateOptions{FieldManager: cluster.ReportingController})
	if apierrors.IsAlreadyExists(err) {
		// Recorded by another process since: a repeat of its event.
		return r.repeat(ctx, events, name, 2, now)
	}
	if err != nil {
		return err
	}
	r.counts[name] = 1
	r.counted("created")
	return nil
}

func (r *recorder) repeat(ctx context.Context, events dynamic.ResourceInterface, name string, count int64, now time.Time) error {
	patch, err := json.Marshal(map[string]any{"series": map[string]any{"count": count, "lastObservedTime": microTime(now)}})
	if err != nil {
		return err
	}
	if _, err := events.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: cluster.ReportingController}); err != nil {
		return err
	}
	r.counts[name] = count
	r.counted("repeated")
	return nil
}

func (r *recorder) event(name string, s subject, f findings.Finding, now time.Time) *unstructured.Unstructured {
	apiVersion, uid := r.regarding(s.kind, s.name)
	regarding := map[string]any{"apiVersion": apiVersion, "kind": s.kind, "name": s.name}
	if uid != "" {
		regarding["uid"] = string(uid)
	}
	typ := "Warning"
	if f.Severity == findings.Info {
		typ = "Normal"
	}
	note := fmt.Sprintf("[%s] %s", f.Severity, f.Message)
	if f.Remediation != "" {
		note += "; fix: " + f.Remediation
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "events.k8s.io/v1",
		"kind":       "Event",
		"metadata": map[string]any{
			"name": name, "namespace": eventNamespace,
			"labels": map[string]any{labelManagedBy: cluster.ReportingController},
		},
		"eventTime":           microTime(now),
		"reportingController": cluster.ReportingController,
		"reportingInstance":   r.text.Bounded(r.instance, instanceLimit),
		"action":              eventAction,
		// Codes are xpdoctor's own identifiers, shorter than ReasonLengthLimit.
		"reason":    string(s.code),
		"regarding": regarding,
		"note":      r.text.Bounded(note, noteLimit),
		"type":      typ,
	}}
}

// microTime is metav1.MicroTime's wire form.
func microTime(t time.Time) string { return t.UTC().Format(metav1.RFC3339Micro) }
