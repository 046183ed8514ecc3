package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/kubeflags"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/version"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

const bundleLong = `Bundle writes a support bundle: one YAML file to attach to a ticket, which
"%[1]s diagnose --from-file FILE" reads back to the same findings as the
cluster it came from.

It holds what a diagnosis reads, scoped to Crossplane: Providers, Functions,
Configurations and their revisions, the Lock, ImageConfigs,
DeploymentRuntimeConfigs and ControllerConfigs, Crossplane's Deployment and
ServiceAccount (its pull secrets' names only), the runtime Deployments and
Pods (labelled pkg.crossplane.io/revision) and Crossplane's own Pods in
Crossplane's namespace, the Events there and those about Crossplane's
objects; and a first item (kind SupportBundle) saying how it was read: the
namespace, the API versions, the reads that were forbidden.

Never in it: Secrets (none is read), environment values (every env[].value
is replaced by <redacted>, valueFrom keeps only the names it refers to; the
one value kept is REGISTRY on Crossplane's container, a registry host),
managed fields and last-applied annotations, and any credential of the run
or text shaped like one.

Nothing is overwritten without --overwrite; -o - writes to standard output.`

// kubectlDumpRecipe makes a support dump with kubectl alone: what the
// Reader lists, in crossplane-system (diagnose --help and the README show
// it; TestKubectlDumpRecipe runs it against a real API server).
const kubectlDumpRecipe = `{ kubectl get providers,providerrevisions,functions,functionrevisions,configurations,configurationrevisions,imageconfigs,locks,deploymentruntimeconfigs -o yaml
  echo ---; kubectl get controllerconfigs -o yaml 2>/dev/null || true   # Crossplane v1 only
  echo ---; kubectl -n crossplane-system get deployments -o yaml
  echo ---; kubectl -n crossplane-system get serviceaccount crossplane -o yaml
  echo ---; kubectl -n crossplane-system get pods -l pkg.crossplane.io/revision -o yaml
  echo ---; kubectl -n crossplane-system get pods -l app=crossplane -o yaml
  echo ---; kubectl -n crossplane-system get events -o yaml
  echo ---; kubectl -n default get events --field-selector involvedObject.apiVersion=pkg.crossplane.io/v1 -o yaml
} > dump.yaml
`

// indent prefixes every line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// bundleFlags are bundle's flags: kubectl's connection flags and
// Crossplane's namespace (as diagnose has them), where to write, and
// whether that may replace a file.
type bundleFlags struct {
	diagnoseFlags
	Output    string
	Overwrite bool
}

// bundleOptions are validated flags.
type bundleOptions struct {
	doctor    doctor.Options
	path      string
	overwrite bool
	timeout   time.Duration
}

func newBundleCommand(s IOStreams) *cobra.Command {
	f := &bundleFlags{diagnoseFlags: *newDiagnoseFlags()}
	// The bundle only reads the cluster: its client refuses any write.
	f.readOnly = true
	// It reads no registry; diagnose's validation wants a bound.
	f.Concurrency = xpkg.DefaultRegistryConcurrency
	c := &cobra.Command{
		Use:   "bundle [-o FILE]",
		Short: "Write a support bundle: what diagnose reads, Crossplane-scoped, without Secrets or environment values",
		Long:  fmt.Sprintf(bundleLong, displayName()),
		Example: exampleText(
			"# Write xpdoctor-bundle-<context>-<time>.yaml here",
			"$0 bundle",
			"",
			"# Name the file; diagnose reads it back without the cluster",
			"$0 bundle -o ticket-1234.yaml",
			"$0 diagnose --from-file ticket-1234.yaml",
			"",
			"# To standard output, for Crossplane in upbound-system",
			"$0 bundle -n upbound-system -o - | gzip > bundle.yaml.gz",
		),
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o, err := f.toOptions()
			if err != nil {
				return err
			}
			return o.run(c.Context(), s)
		},
	}
	f.registryFlags.cmd, f.redactor = c, s.Redactor
	f.kube.AddFlags(c.Flags())
	if ns := c.Flags().Lookup(kubeflags.FlagNamespace); ns != nil {
		ns.Usage = "Crossplane's namespace, as --crossplane-namespace (packages are cluster-scoped)"
	}
	c.Flags().StringVar(&f.CrossplaneNS, "crossplane-namespace", "", "Crossplane's namespace (default: where the Deployment crossplane runs, found cluster-wide, else crossplane-system)")
	c.Flags().DurationVar(&f.Timeout, "timeout", 2*time.Minute, "give up after this long")
	c.Flags().StringVarP(&f.Output, "output", "o", "", "the file to write (- for standard output; default: xpdoctor-bundle-CONTEXT-TIME.yaml in the current directory)")
	c.Flags().BoolVar(&f.Overwrite, "overwrite", false, "replace the file if it exists")
	return c
}

// toOptions validates every flag in one place, before anything is read.
func (f *bundleFlags) toOptions() (*bundleOptions, error) {
	switch strings.ToLower(f.Output) {
	case "json", "yaml", "table", "wide", "markdown", "name":
		// kubectl's -o is a format; here it names a file.
		return nil, usageErrorf("-o names the file to write (the bundle is always YAML), not a format: give a file name such as -o bundle.yaml, or -o - for standard output")
	}
	// diagnose's validation and mapping: --timeout, -n and
	// --crossplane-namespace, the kubeconfig.
	do, err := f.doctorOptions(nil)
	if err != nil {
		return nil, err
	}
	path := f.Output
	if path == "" {
		path = defaultBundleName(f.kube.CurrentContext(), clock())
	}
	if path != "-" {
		// Refused before the cluster is read: a file that cannot be
		// written, or one that exists (nothing is overwritten without
		// --overwrite).
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			return nil, usageErrorf("-o %s: the directory %s does not exist", path, filepath.Dir(path))
		}
		st, err := os.Lstat(path)
		switch {
		case err == nil && st.IsDir():
			return nil, usageErrorf("-o %s is a directory: give a file name, such as -o %s", path, filepath.Join(path, defaultBundleName(f.kube.CurrentContext(), clock())))
		case err == nil && !f.Overwrite:
			return nil, usageErrorf("%s exists: give another -o FILE, or --overwrite to replace it", path)
		}
	}
	return &bundleOptions{doctor: do, path: path, overwrite: f.Overwrite, timeout: f.Timeout}, nil
}

// defaultBundleName is xpdoctor-bundle-CONTEXT-20261202T0105Z.yaml, with
// only the characters of the context that are safe in a file name.
func defaultBundleName(context string, now time.Time) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '-'
	}, context)
	if len(safe) > 40 {
		safe = safe[:40]
	}
	name := "xpdoctor-bundle"
	if strings.Trim(safe, "-.") != "" {
		name += "-" + strings.Trim(safe, "-.")
	}
	return name + "-" + now.UTC().Format("20060102T150405Z") + ".yaml"
}

func (o *bundleOptions) run(ctx context.Context, s IOStreams) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	items, snap, objects, err := supportBundle(ctx, o.doctor)
	if err == nil {
		err = stopped(ctx, o.timeout)
	}
	if err != nil {
		return err
	}
	comments := []string{
		"A support bundle of kubectl xpdoctor, from " + snap.Source + ": read it with `kubectl xpdoctor diagnose --from-file FILE`.",
		"What it leaves out: " + cluster.BundleOmitted,
	}
	var buf bytes.Buffer
	err = report.Printer{Format: report.YAML, Redactor: s.Redactor}.YAMLList(&buf, comments, items, cluster.MaxDumpBytes)
	if errors.Is(err, report.ErrTooLarge) {
		return fmt.Errorf("the bundle would be larger than %d MiB, the most `diagnose --from-file` reads: the cluster holds more than one bundle should carry (see --crossplane-namespace)", cluster.MaxDumpBytes>>20)
	}
	if err != nil {
		return err
	}
	if o.path == "-" {
		if _, err := s.structuredOut().Write(buf.Bytes()); err != nil {
			return err
		}
	} else if err := createFile(o.path, buf.Bytes(), o.overwrite); err != nil {
		return err
	}
	o.summary(s.ErrOut, objects, snap)
	return nil
}

// supportBundle reads the cluster for a support bundle (doctor.Bundle)
// and returns its List's items, the SupportBundle item first; the
// snapshot of the read; and the objects after that item.
func supportBundle(ctx context.Context, o doctor.Options) ([]any, *cluster.Snapshot, []map[string]any, error) {
	snap, b, err := doctor.Bundle(ctx, o)
	if err != nil {
		return nil, nil, nil, err
	}
	objects := b.Objects(snap.CrossplaneNamespace)
	items := make([]any, 0, len(objects)+1)
	items = append(items, b.Info(snap, snap.Source, version.Get().Version, clock()))
	for _, obj := range objects {
		items = append(items, obj)
	}
	return items, snap, objects, nil
}

// summary says on stderr what was written and what could not be read.
func (o *bundleOptions) summary(w io.Writer, objects []map[string]any, snap *cluster.Snapshot) {
	counts := map[string]int{}
	for _, obj := range objects {
		k, _ := obj["kind"].(string)
		counts[k]++
	}
	var kinds []string
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	where := o.path
	if where == "-" {
		where = "standard output"
	}
	fmt.Fprintf(w, "wrote %s: %d objects (%s) from %s, Crossplane in namespace %s; no Secret, environment values redacted\n",
		where, len(objects), strings.Join(parts, ", "), snap.Source, snap.CrossplaneNamespace)
	for _, d := range snap.Denied {
		res := d.Resource
		if d.Group != "" {
			res += "." + d.Group
		}
		if d.Namespace != "" {
			res += " in namespace " + d.Namespace
		}
		fmt.Fprintf(w, "warning: could not %s %s (forbidden): the bundle records it, and diagnose reports it as PermissionDenied\n", d.Verb, res)
	}
}

// createFile writes the bundle to a temporary file beside path and then
// moves it there: a reader never sees half a bundle. Without overwrite,
// an existing path is left alone (a hard link does not replace).
func createFile(path string, data []byte, overwrite bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".xpdoctor-bundle-*.yaml")
	if err != nil {
		return fmt.Errorf("cannot write the bundle in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if overwrite {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	err = os.Link(tmp.Name(), path)
	if err != nil && !errors.Is(err, os.ErrExist) {
		// A file system without hard links: create the file exclusively.
		var f *os.File
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			_, err = f.Write(data)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	}
	if errors.Is(err, os.ErrExist) {
		return usageErrorf("%s exists: give another -o FILE, or --overwrite to replace it", path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
