package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/kubeflags"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// fleetFlags are the flags that make one report of several clusters.
type fleetFlags struct {
	// Contexts are the --context values (a,b,c or repeated), deduplicated.
	Contexts    []string
	AllContexts bool
}

// contextsValue is --context on diagnose: one context as kubectl takes it,
// or several, each a cluster of one report. With exactly one it sets
// kubectl's flag (single), so everything else behaves as with one cluster.
type contextsValue struct {
	single *string
	list   *[]string
}

func (v *contextsValue) String() string { return strings.Join(*v.list, ",") }

func (v *contextsValue) Type() string { return "strings" }

// Set adds the contexts of a value: a name, or names separated by commas
// (kubeconfig context names do not hold commas in practice; EKS's ARNs and
// GKE's names use ':', '/' and '_').
func (v *contextsValue) Set(s string) error {
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return fmt.Errorf("%q names an empty context", s)
		}
		if !slices.Contains(*v.list, name) {
			*v.list = append(*v.list, name)
		}
	}
	*v.single = ""
	if len(*v.list) == 1 {
		*v.single = (*v.list)[0]
	}
	return nil
}

// addContexts turns kubectl's --context (already registered with the
// kubeconfig flags) into a list and adds --all-contexts: diagnose, the
// root command and preflight (fix and the others act on one cluster).
func (f *diagnoseFlags) addContexts(c *cobra.Command) {
	fl := c.Flags().Lookup(kubeflags.FlagContext)
	fl.Value = &contextsValue{single: f.kube.Context, list: &f.Contexts}
	fl.DefValue = ""
	fl.Usage = "The name of the kubeconfig context to use; several (a,b,c or repeated) make one report with a CLUSTER column"
	c.Flags().BoolVar(&f.AllContexts, "all-contexts", false, "read every context of the kubeconfig, into one report with a CLUSTER column")
}

// fleet is whether the flags name several clusters.
func (f *diagnoseFlags) fleet() bool { return f.AllContexts || len(f.Contexts) > 1 }

// fleetContexts are the contexts to read, validated.
func (f *diagnoseFlags) fleetContexts() ([]string, error) {
	if f.FromFile != "" {
		return nil, usageErrorf("--from-file reads one support dump; it does not combine with several --context values or --all-contexts")
	}
	if !f.AllContexts {
		return f.Contexts, nil
	}
	if len(f.Contexts) > 0 {
		return nil, usageErrorf("give --context or --all-contexts, not both")
	}
	names, err := f.kube.Contexts()
	if err != nil {
		return nil, fmt.Errorf("cannot load the kubeconfig to list its contexts (set --kubeconfig or KUBECONFIG): %w", err)
	}
	if len(names) == 0 {
		return nil, usageErrorf("--all-contexts: the kubeconfig has no contexts (set --kubeconfig or KUBECONFIG)")
	}
	return names, nil
}

// runFleet diagnoses each cluster with the same options as one cluster
// would be, in parallel (doctor.Fleet), each within --timeout, sharing the
// registry reads; one report. Exit 2 only when no cluster could be read;
// 1 when one could not, was read in part, or has findings at error
// severity (unless --exit-zero).
func (f *diagnoseFlags) runFleet(ctx context.Context, s IOStreams, names []string) error {
	printer, fail, err := f.reportFlags.printer(f.cmd, f.Output, f.ExitZero, f.redactor, report.Table, report.Wide, report.JSON, report.YAML, report.JSONPath)
	if err != nil {
		return usageErrorf("%v (a report of several clusters)", err)
	}
	contexts, err := f.fleetContexts()
	if err != nil {
		return err
	}
	o, err := f.doctorOptions(names)
	if err != nil {
		return err
	}
	outcomes := doctor.Fleet(ctx, contexts, 0, o.RegistryConcurrency, func(ctx context.Context, name string, cache *xpkg.ReadCache) (*doctor.Result, error) {
		co := o
		co.Kube, co.KubeContext, co.ReadCache = f.kube.ForContext(name), name, cache
		ctx, cancel := context.WithTimeout(ctx, f.Timeout)
		defer cancel()
		d, err := doctor.Run(ctx, co)
		if err == nil {
			err = stopped(ctx, f.Timeout)
		}
		return d, err
	})
	rep := diagnose.NewFleetReport(contexts)
	incomplete, worst := false, findings.Info
	for _, oc := range outcomes {
		if oc.Err != nil {
			rep.Clusters[oc.Context] = diagnose.ClusterReport{Error: oc.Err.Error()}
			incomplete = true
			continue
		}
		rep.Clusters[oc.Context] = diagnose.ClusterReport{Report: oc.Value.Report}
		incomplete = incomplete || len(oc.Value.Snapshot.Denied) > 0
		if w := findings.Worst(oc.Value.Report.Findings); w.Rank() > worst.Rank() {
			worst = w
		}
	}
	if err := printer.Fleet(s.Out, rep); err != nil {
		return err
	}
	switch {
	case ctx.Err() != nil:
		return stopped(ctx, f.Timeout)
	case rep.Read() == 0:
		return errors.New("no cluster could be read (each row says why)")
	case fail == failOnNone:
		return nil
	case incomplete || fail.fails(worst):
		return errFindings
	}
	return nil
}

// runFleet preflights each cluster as one would be (doctor.Fleet, each
// within --timeout, sharing the registry reads); one report. Exit 1 when
// something breaks or degrades in any cluster, else 2 when a cluster could
// not be read or told, else 0.
func (f *preflightFlags) runFleet(ctx context.Context, s IOStreams) error {
	printer, err := report.ParsePrinter(f.Output, f.redactor, report.Table, report.Wide, report.JSON, report.YAML, report.JSONPath)
	if err != nil {
		return usageErrorf("%v", err)
	}
	contexts, err := f.fleetContexts()
	if err != nil {
		return err
	}
	o, err := f.doctorOptions(nil)
	if err != nil {
		return err
	}
	outcomes := doctor.Fleet(ctx, contexts, 0, o.RegistryConcurrency, func(ctx context.Context, name string, cache *xpkg.ReadCache) (*preflight.Report, error) {
		co := o
		co.Kube, co.KubeContext, co.ReadCache = f.kube.ForContext(name), name, cache
		ctx, cancel := context.WithTimeout(ctx, f.Timeout)
		defer cancel()
		rep, err := doctor.Preflight(ctx, co, f.To)
		if err == nil {
			err = stopped(ctx, f.Timeout)
		}
		return rep, err
	})
	reports, errs := make([]*preflight.Report, len(outcomes)), make([]error, len(outcomes))
	for i, oc := range outcomes {
		if oc.Err != nil {
			errs[i] = oc.Err
		} else {
			reports[i] = oc.Value
		}
	}
	rep := preflight.NewFleetReport(f.To, contexts, reports, errs)
	if err := printer.PreflightFleet(s.Out, rep); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return stopped(ctx, f.Timeout)
	}
	switch rep.ExitCode() {
	case preflight.ExitBreaks:
		return errFindings
	case preflight.ExitUnknown:
		return fmt.Errorf("preflight could not tell whether %s accepts everything in every cluster (the Unknown rows say why)", rep.Target)
	}
	return nil
}
