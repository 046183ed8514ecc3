package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
)

// NoCrossplaneError says that the input has no Crossplane: what was looked
// for, where, and what to do (exit 2).
type NoCrossplaneError struct {
	// Where was looked: the cluster at a server, a namespace, a dump.
	Where string
	// Why nothing was found there.
	Why string
	// Fix is what to do.
	Fix string
	err error
}

func (e *NoCrossplaneError) Error() string {
	return fmt.Sprintf("no Crossplane found in %s: %s; %s", e.Where, e.Why, e.Fix)
}

func (e *NoCrossplaneError) Unwrap() error { return e.err }

// clusterAt names the cluster read, as kubectl's errors do: its server,
// and the context when one is named or current.
func clusterAt(o Options, host string) string {
	where := "the cluster at " + host
	ctx := o.KubeContext
	if ctx == "" && o.Kube != nil {
		if raw, err := o.Kube.ToRawKubeConfigLoader().RawConfig(); err == nil {
			ctx = raw.CurrentContext
		}
	}
	if ctx != "" {
		where += " (context " + ctx + ")"
	}
	return where
}

// namespaceHint is what to do when Crossplane is not in the namespace used.
const namespaceHint = "Crossplane installs into crossplane-system, UXP into upbound-system: pass the namespace that runs it with --crossplane-namespace (or -n)"

// crossplaneRuns refuses an input without Crossplane: a dump that holds no
// Crossplane object, a cluster that has Crossplane's CRDs but neither a
// package nor Crossplane's Deployment, or a namespace given where
// Crossplane's Deployment does not run. Reads that were forbidden leave the
// question open: the report says what was denied.
func crossplaneRuns(snap *cluster.Snapshot, o Options, where string) error {
	given := o.CrossplaneNamespace
	if o.FromFile != "" {
		dump := "the support dump " + snap.Source
		switch {
		case !snap.HasCrossplane():
			return &NoCrossplaneError{Where: dump, Why: "it holds no pkg.crossplane.io object (Provider, Function, Configuration, revision, Lock, ImageConfig) and no Crossplane Deployment",
				Fix: "write one with `kubectl xpdoctor bundle`, or with the kubectl commands of `kubectl xpdoctor diagnose --help`"}
		case given != "" && snap.CrossplaneImage != "" && snap.CrossplaneNamespace != given:
			return &NoCrossplaneError{Where: "namespace " + given + " of " + dump, Why: "its Crossplane Deployment is in namespace " + snap.CrossplaneNamespace,
				Fix: "leave out --crossplane-namespace (and -n) to use it"}
		case given != "":
			snap.CrossplaneNamespace = given
		}
		return nil
	}
	for _, d := range snap.Denied {
		if d.Resource == "deployments" {
			return nil
		}
	}
	switch {
	case given != "" && snap.CrossplaneImage == "":
		return &NoCrossplaneError{Where: "namespace " + given + " of " + where, Why: "no Crossplane Deployment (a Deployment named crossplane) runs there", Fix: namespaceHint}
	case !snap.HasCrossplane():
		return &NoCrossplaneError{Where: where, Why: "it serves the pkg.crossplane.io API, but has no package and no Crossplane Deployment in any namespace (a Deployment named crossplane, looked for cluster-wide)",
			Fix: "Crossplane's CRDs may be left from an uninstall; if Crossplane runs, " + namespaceHint}
	}
	return nil
}

// namespaceNote says which namespace Crossplane was found in, when it was
// not given and is not the default.
func namespaceNote(snap *cluster.Snapshot, o Options) []string {
	if o.CrossplaneNamespace != "" || !snap.CrossplaneFound || snap.CrossplaneNamespace == cluster.DefaultNamespace {
		return nil
	}
	return []string{fmt.Sprintf("Crossplane runs in namespace %s (found by its Deployment crossplane; --crossplane-namespace or -n names it)", snap.CrossplaneNamespace)}
}

// NotFoundError names packages asked for by name that the input does not
// hold, as kubectl says it (`kubectl get providers,functions NAME`): one
// line per name and kind searched, exit 1.
type NotFoundError struct {
	Names []string
	// Resources are the kinds searched, as kubectl names them
	// (providers.pkg.crossplane.io).
	Resources []string
	// Dump is the support dump read ("" for a cluster).
	Dump string
}

func (e *NotFoundError) Error() string {
	from := "server"
	if e.Dump != "" {
		from = "support dump " + e.Dump
	}
	var lines []string
	for _, n := range e.Names {
		for _, r := range e.Resources {
			lines = append(lines, fmt.Sprintf("Error from %s (NotFound): %s %q not found", from, r, n))
		}
	}
	return strings.Join(lines, "\n")
}

// notFound checks the names asked for: a name is found when a package of
// a kind selected, or a revision of one, has it. None found is an error;
// some found returns the others.
func notFound(snap *cluster.Snapshot, o Options) (*NotFoundError, error) {
	if len(o.Select.Names) == 0 {
		return nil, nil
	}
	// The kinds selected, whatever the names: Selects with a name it
	// does not narrow by.
	kinds := o.Select
	kinds.Names = nil
	has := map[string]bool{}
	for _, p := range snap.Packages {
		if kinds.Selects(p.Kind, p.Name) {
			has[p.Name] = true
		}
	}
	for _, r := range snap.Revisions {
		if kinds.Selects(strings.TrimSuffix(r.Kind, "Revision"), r.Name) {
			has[r.Name] = true
		}
	}
	e := &NotFoundError{}
	if o.FromFile != "" {
		e.Dump = snap.Source
	}
	for _, k := range []string{"Provider", "Function", "Configuration"} {
		if kinds.Selects(k, k) {
			e.Resources = append(e.Resources, strings.ToLower(k)+"s."+cluster.PkgGroup)
		}
	}
	seen := map[string]bool{}
	found := 0
	for _, n := range o.Select.Names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if has[n] {
			found++
			continue
		}
		e.Names = append(e.Names, n)
	}
	switch {
	case len(e.Names) == 0:
		return nil, nil
	case found == 0:
		return nil, e
	}
	return e, nil
}

// readStdin reads a support dump from standard input (--from-file -),
// within the dump reader's bounds.
func readStdin(r io.Reader) (*cluster.Snapshot, error) {
	if r == nil {
		return nil, errors.New("--from-file -: this command has no standard input to read a support dump from; give a file")
	}
	s, err := cluster.ReadDump(r)
	if err != nil {
		return nil, fmt.Errorf("reading the support dump from standard input: %w", err)
	}
	s.Source = "stdin"
	return s, nil
}

// Bundle reads the cluster for a support bundle: the reads a diagnosis
// makes (the same Reader), with the ControllerConfigs besides, and no
// Secret (pull secrets are not read). It returns the snapshot of that read
// and the objects read.
func Bundle(ctx context.Context, o Options) (*cluster.Snapshot, *cluster.Bundle, error) {
	if o.FromFile != "" {
		return nil, nil, errors.New("a support bundle is read from a cluster, not from --from-file")
	}
	o.ReadPullSecrets = false
	b := &cluster.Bundle{}
	snap, err := snapshot(ctx, o, false, b.Record)
	if err != nil {
		return nil, nil, err
	}
	return snap, b, nil
}
