package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/report"
)

const preflightLong = `Preflight answers "will Crossplane vX.Y.Z accept what this cluster runs?"
before the upgrade, per package and overall: each package's image judged the
way the target version reads it, its spec.crossplane.version constraint, its
dependencies' constraints, and every package-side change between the running
and the target version (ControllerConfig, unqualified package references,
removed core flags, native patch-and-transform Compositions, signature
verification, ...), each with its Crossplane source (docs/preflight.md).
Every row that is not Safe says what to change before upgrading.

It only reads: the cluster (or a support dump) and the package images, with
the credentials Crossplane uses; its clients refuse every write.

Exit status: 0 safe, 1 something breaks or degrades, 2 preflight could not
tell (an image it could not read, an unknown running version, a forbidden
read) or a usage error.`

// preflightFlags are preflight's flags: diagnose's input flags but the
// upstreams (nothing is compared), the running version, --to and -o.
type preflightFlags struct {
	*diagnoseFlags
	To string
}

func newPreflightCommand(s IOStreams) *cobra.Command {
	f := &preflightFlags{diagnoseFlags: newDiagnoseFlags()}
	// Preflight judges; it never writes, so nothing it builds may.
	f.readOnly = true
	c := &cobra.Command{
		Use:   "preflight --to VERSION",
		Short: "Will Crossplane VERSION accept what this cluster runs? Checks before an upgrade",
		Long:  preflightLong,
		Example: exampleText(
			"# Before upgrading the current context's Crossplane to v2.0.0",
			"$0 preflight --to v2.0.0",
			"",
			"# In CI, from a support dump, as JSON",
			"$0 preflight --to v2.3.4 --from-file dump.yaml -o json",
			"",
			"# Every cluster of the kubeconfig, one report",
			"$0 preflight --to v2.0.0 --all-contexts",
		),
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return f.run(c.Context(), s) },
	}
	f.registryFlags.add(c, 2*time.Minute, s)
	f.kube.AddFlags(c.Flags())
	f.addContexts(c)
	c.Flags().StringVar(&f.To, "to", "", "the Crossplane version to upgrade to, e.g. v2.0.0 (required)")
	c.Flags().StringVar(&f.CrossplaneVersion, "crossplane-version", "", "the running Crossplane version (default: the tag of Crossplane's image)")
	c.Flags().StringVar(&f.FromFile, "from-file", "", fmt.Sprintf("read a support dump instead of a cluster (see diagnose --help; add compositions to the kubectl get list so native patch-and-transform Compositions are judged); dumps up to %d MiB", cluster.MaxDumpBytes>>20))
	c.Flags().StringVar(&f.CrossplaneNS, "crossplane-namespace", "", "Crossplane's namespace (default: where the crossplane Deployment runs, else crossplane-system)")
	c.Flags().BoolVar(&f.ReadSecrets, "read-pull-secrets", true, "read the pull secrets Crossplane uses so images are read with its credentials (kept in memory only)")
	c.Flags().StringVarP(&f.Output, "output", "o", "table", "output format: table, wide, json, yaml or jsonpath=TEMPLATE")
	_ = c.RegisterFlagCompletionFunc("output", completeOutputs([]string{"table", "wide", "json", "yaml", "jsonpath="}))
	_ = c.RegisterFlagCompletionFunc("to", cobra.NoFileCompletions)
	return c
}

func (f *preflightFlags) run(ctx context.Context, s IOStreams) error {
	printer, err := report.ParsePrinter(f.Output, f.redactor, report.Table, report.Wide, report.JSON, report.YAML, report.JSONPath)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if f.To == "" {
		return usageErrorf("--to is required: the Crossplane version to upgrade to, e.g. --to v2.0.0")
	}
	if err := preflight.CheckTarget(f.To); err != nil {
		return usageErrorf("--to: %v", err)
	}
	if f.fleet() {
		return f.runFleet(ctx, s)
	}
	rep, err := f.preflight(ctx, f.To)
	if err != nil {
		return err
	}
	if err := printer.Preflight(s.Out, rep); err != nil {
		return err
	}
	return preflightExit(rep)
}

// preflight validates the flags and runs doctor.Preflight within --timeout:
// the command's and the mcp tool's one way to a report.
func (f *diagnoseFlags) preflight(ctx context.Context, target string) (*preflight.Report, error) {
	o, err := f.doctorOptions(nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	rep, err := doctor.Preflight(ctx, o, target)
	if err != nil {
		return nil, err
	}
	if err := stopped(ctx, f.Timeout); err != nil {
		return nil, err
	}
	return rep, nil
}

// preflightExit maps the report's status to the exit status: 1 (errFindings)
// when something breaks or degrades, 2 with what could not be told.
func preflightExit(rep *preflight.Report) error {
	switch rep.ExitCode() {
	case preflight.ExitBreaks:
		return errFindings
	case preflight.ExitUnknown:
		return fmt.Errorf("preflight could not tell whether %s accepts everything: %d check(s) are Unknown (their rows say what would tell)", rep.Target, unknownChecks(rep))
	}
	return nil
}

func unknownChecks(rep *preflight.Report) int {
	n := 0
	for _, c := range rep.Crossplane {
		if c.Status == preflight.Unknown {
			n++
		}
	}
	for _, p := range rep.Packages {
		for _, c := range p.Checks {
			if c.Status == preflight.Unknown {
				n++
			}
		}
	}
	return n
}
