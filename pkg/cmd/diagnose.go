package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/kubeflags"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// diagnoseFlags are diagnose's flags, shared by the root command.
type diagnoseFlags struct {
	registryFlags
	reportFlags
	kube               *kubeflags.ConfigFlags
	FromFile           string
	Kinds              []string
	Output             string
	ExitZero           bool
	CrossplaneNS       string
	CrossplaneVersion  string
	UpstreamRegistries []string
	Inspect            string
	ReadSecrets        bool
	// stdin is the dump of --from-file - (nil for commands that have none).
	stdin io.Reader
	// RegistryCredentials is crossplane or local (--registry-credentials).
	RegistryCredentials string
	// now is the clock for event ages (tests pin it).
	now func() time.Time
	// fleetFlags are diagnose's several clusters (contexts.go).
	fleetFlags
}

// clock dates event ages; tests pin it.
var clock = time.Now

// wrapKubeTransport lets tests and benchmarks count API requests.
var wrapKubeTransport func(http.RoundTripper) http.RoundTripper

func newDiagnoseFlags() *diagnoseFlags {
	return &diagnoseFlags{kube: kubeflags.NewConfigFlags(true), now: func() time.Time { return clock() }}
}

func (f *diagnoseFlags) add(c *cobra.Command, s IOStreams) {
	f.addInput(c, s)
	f.stdin = s.In
	c.Flags().StringSliceVar(&f.Kinds, "kind", nil, "only packages of these kinds: Provider, Function or Configuration (repeatable, or comma-separated)")
	c.Flags().StringVarP(&f.Output, "output", "o", "table", "output format: table, wide, json, yaml, markdown, name or jsonpath=TEMPLATE")
	c.Flags().BoolVar(&f.ExitZero, "exit-zero", false, "exit 0 even when there are findings")
	f.addJudging(c)
	_ = c.RegisterFlagCompletionFunc("kind", completeKinds)
}

// addInput registers the flags that say what is read and how: kubectl's
// connection flags, the registry flags, the support dump, Crossplane's
// namespace, upstreams and pull secrets. The mcp command has these only.
func (f *diagnoseFlags) addInput(c *cobra.Command, s IOStreams) {
	f.addCluster(c, s, 2*time.Minute)
	c.Flags().StringVar(&f.FromFile, "from-file", "", fmt.Sprintf("read a support dump instead of a cluster (- reads standard input): what `%s bundle` writes, or kubectl's (see Long help); "+
		"dumps up to %d MiB are read as a stream in under 256 MiB of memory, values longer than %d KiB are cut and marked", displayName(), cluster.MaxDumpBytes>>20, cluster.MaxValueBytes>>10))
}

// addCluster registers addInput's flags but the support dump: serve reads
// a live cluster only.
func (f *diagnoseFlags) addCluster(c *cobra.Command, s IOStreams, timeout time.Duration) {
	f.registryFlags.add(c, timeout, s)
	f.kube.AddFlags(c.Flags())
	// Crossplane's packages are cluster-scoped: the namespace that matters
	// is Crossplane's, so -n names it, as a kubectl user types it.
	if ns := c.Flags().Lookup(kubeflags.FlagNamespace); ns != nil {
		ns.Usage = "Crossplane's namespace, as --crossplane-namespace (packages are cluster-scoped)"
	}
	c.Flags().StringVar(&f.CrossplaneNS, "crossplane-namespace", "", "Crossplane's namespace (default: where the Deployment crossplane runs, found cluster-wide, else crossplane-system)")
	c.Flags().StringSliceVar(&f.UpstreamRegistries, "upstream-registry", nil, "MIRROR=UPSTREAM: compare mirrored packages with their upstream (repeatable)")
	c.Flags().BoolVar(&f.ReadSecrets, "read-pull-secrets", true, "read the pull secrets Crossplane uses so images are inspected with its credentials (kept in memory only)")
}

// addJudging registers how a diagnosis judges: the Crossplane version and
// which images to inspect (diagnose and serve).
func (f *diagnoseFlags) addJudging(c *cobra.Command) {
	c.Flags().StringVar(&f.CrossplaneVersion, "crossplane-version", "", "judge as this Crossplane version (default: the tag of Crossplane's image)")
	c.Flags().StringVar(&f.Inspect, "inspect", "problems", "which package images to inspect in their registry: problems, all or none")
	c.Flags().StringVar(&f.RegistryCredentials, "registry-credentials", "crossplane", "whose credentials package images are read with: crossplane (exactly the pull secrets Crossplane uses for each package) or local (your docker config and credential helpers)")
	_ = c.RegisterFlagCompletionFunc("registry-credentials", cobra.FixedCompletions([]string{"crossplane", "local"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("inspect", cobra.FixedCompletions([]string{"problems", "all", "none"}, cobra.ShellCompDirectiveNoFileComp))
}

const diagnoseLong = `Diagnose reads Crossplane's packages, revisions, runtime Deployments and Pods
and Events, classifies every failure message by its inner cause, inspects the
images involved in their registry with the credentials Crossplane uses, and
names the root cause per package with evidence and the exact fix.

It is the default command: "%[1]s" is "%[1]s diagnose". -n names
Crossplane's namespace, as --crossplane-namespace does (packages are
cluster-scoped); without either, Crossplane's Deployment is found cluster-wide.

Support dumps: "%[1]s bundle -o FILE" writes one (Crossplane-scoped, no
Secrets, environment values redacted) that diagnoses as the cluster does;
--from-file FILE reads it, --from-file - reads standard input. With kubectl
alone (it keeps environment values; put Crossplane's namespace for
crossplane-system):

%[2]s
Exit status: 0 no findings at error severity, 1 findings (unless --exit-zero)
or a NAME that no package has (NotFound, as kubectl), 2 usage errors, missing
permissions or no Crossplane (in the cluster, the namespace or the dump).`

func newDiagnoseCommand(s IOStreams, f *diagnoseFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "diagnose [NAME...]",
		Short: "Find why Crossplane packages are not healthy (the default command)",
		Long:  fmt.Sprintf(diagnoseLong, displayName(), indent(kubectlDumpRecipe, "  ")),
		Example: exampleText(
			"# Every package in the current context",
			"$0",
			"",
			"# One provider, compared with its upstream, for an incident ticket",
			"$0 diagnose provider-aws-s3 --upstream-registry 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound=xpkg.upbound.io/upbound -o markdown",
			"",
			"# From a support dump, without a cluster",
			"$0 diagnose --from-file dump.yaml",
		),
		ValidArgsFunction: f.completeNames,
		RunE:              func(c *cobra.Command, args []string) error { return f.run(c.Context(), s, args) },
	}
	f.add(c, s)
	f.reportFlags.add(c, diagnoseOutputs)
	f.addContexts(c)
	return c
}

// completeNames completes package names from the cluster.
func (f *diagnoseFlags) completeNames(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	if f.FromFile == "-" {
		// Standard input is the shell's while it completes.
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	snap, err := doctor.Snapshot(c.Context(), f.options(nil, nil))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	text := report.Text{Redactor: f.redactor}
	for _, p := range snap.Packages {
		// Shells print completions: a name from a dump is outside text.
		names = append(names, text.Line(p.Name)+"\t"+p.Kind)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// options maps the flags to doctor's options.
func (f *diagnoseFlags) options(maps []xpkg.Mapping, kinds []string) doctor.Options {
	o := doctor.Options{
		FromFile: f.FromFile, Stdin: f.stdin, Kube: f.kube, CrossplaneNamespace: f.crossplaneNamespace(), ReadPullSecrets: f.ReadSecrets,
		CrossplaneVersion: f.CrossplaneVersion, Inspect: doctor.InspectMode(f.Inspect), Upstreams: maps,
		Registry: f.registryFlags.options(), Redactor: f.redactor, Now: f.now(), WrapTransport: wrapKubeTransport,
		Select: diagnose.Selector{Kinds: kinds}, ReadOnly: f.readOnly, RegistryConcurrency: f.Concurrency,
		RegistryCredentials: doctor.RegistryCredentials(f.RegistryCredentials),
	}
	if f.kube.Context != nil {
		o.KubeContext = *f.kube.Context
	}
	return o
}

// collect validates the flags every diagnose-based command shares, then
// runs the diagnosis.
func (f *diagnoseFlags) collect(ctx context.Context, names []string) (*doctor.Result, error) {
	o, err := f.doctorOptions(names)
	if err != nil {
		return nil, err
	}
	return doctor.Run(ctx, o)
}

// doctorOptions validates the flags diagnose and fix share, before anything
// is read, and maps them to doctor's options.
func (f *diagnoseFlags) doctorOptions(names []string) (doctor.Options, error) {
	kinds, err := packageKinds(f.Kinds)
	if err != nil {
		return doctor.Options{}, err
	}
	var maps []xpkg.Mapping
	for _, m := range f.UpstreamRegistries {
		mp, err := xpkg.ParseMapping(m)
		if err != nil {
			return doctor.Options{}, usageErrorf("--upstream-registry: %v", err)
		}
		maps = append(maps, mp)
	}
	if err := f.validate(); err != nil {
		return doctor.Options{}, err
	}
	if ns := f.namespaceFlag(); ns != "" && f.CrossplaneNS != "" && ns != f.CrossplaneNS {
		return doctor.Options{}, usageErrorf("-n %s and --crossplane-namespace %s name two namespaces: both name Crossplane's; give one", ns, f.CrossplaneNS)
	}
	o := f.options(maps, kinds)
	o.Select.Names = names
	if err := o.Validate(); err != nil {
		return doctor.Options{}, usageErrorf("%v", err)
	}
	return o, nil
}

// diagnosis runs the diagnosis within --timeout.
func (f *diagnoseFlags) diagnosis(ctx context.Context, names []string) (*doctor.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	d, err := f.collect(ctx, names)
	if err != nil {
		return nil, err
	}
	if err := stopped(ctx, f.Timeout); err != nil {
		return nil, err
	}
	return d, nil
}

func (f *diagnoseFlags) run(ctx context.Context, s IOStreams, names []string) error {
	if f.fleet() {
		return f.runFleet(ctx, s, names)
	}
	printer, fail, err := f.reportFlags.printer(f.cmd, f.Output, f.ExitZero, f.redactor, report.Table, report.Wide, report.JSON, report.YAML, report.Markdown, report.Name, report.JSONPath)
	if err != nil {
		return err
	}
	d, err := f.diagnosis(ctx, names)
	if err != nil {
		return err
	}
	if err := printer.Diagnose(s.Out, d.Report); err != nil {
		return err
	}
	if d.NotFound != nil {
		// As kubectl get with some names missing: the others, then NotFound (exit 1).
		return d.NotFound
	}
	if len(d.Snapshot.Denied) > 0 {
		return errors.New("some reads were forbidden (see PermissionDenied); the report is incomplete")
	}
	if fail.fails(findings.Worst(d.Report.Findings)) {
		return errFindings
	}
	return nil
}

// namespaceFlag is -n as given ("" when not given; the kubeconfig
// context's namespace is for namespaced objects, not Crossplane's).
func (f *diagnoseFlags) namespaceFlag() string {
	if f.kube.Namespace == nil {
		return ""
	}
	return *f.kube.Namespace
}

// crossplaneNamespace is Crossplane's namespace as given by
// --crossplane-namespace or -n ("" finds it).
func (f *diagnoseFlags) crossplaneNamespace() string {
	if f.CrossplaneNS != "" {
		return f.CrossplaneNS
	}
	return f.namespaceFlag()
}
