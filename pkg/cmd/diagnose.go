package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/kubeflags"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// diagnoseFlags are diagnose's flags, shared by the root command.
type diagnoseFlags struct {
	registryFlags
	kube               *kubeflags.ConfigFlags
	FromFile           string
	Kind               string
	Output             string
	ExitZero           bool
	CrossplaneNS       string
	CrossplaneVersion  string
	UpstreamRegistries []string
	Inspect            string
	ReadSecrets        bool
	// now is the clock for event ages (tests pin it).
	now func() time.Time
}

// clock dates event ages; tests pin it.
var clock = time.Now

// wrapKubeTransport lets tests and benchmarks count API requests.
var wrapKubeTransport func(http.RoundTripper) http.RoundTripper

func newDiagnoseFlags() *diagnoseFlags {
	return &diagnoseFlags{kube: kubeflags.NewConfigFlags(true), now: func() time.Time { return clock() }}
}

func (f *diagnoseFlags) add(c *cobra.Command) {
	f.registryFlags.add(c, 2*time.Minute)
	f.kube.AddFlags(c.Flags())
	c.Flags().StringVar(&f.FromFile, "from-file", "", "read a support dump (kubectl get providers,providerrevisions,functions,functionrevisions,configurations,configurationrevisions,deployments,pods,events -A -o yaml) instead of a cluster")
	c.Flags().StringVar(&f.Kind, "kind", "", "only packages of this kind: Provider, Function or Configuration")
	c.Flags().StringVarP(&f.Output, "output", "o", "table", "output format: table, wide, json, yaml or markdown")
	c.Flags().BoolVar(&f.ExitZero, "exit-zero", false, "exit 0 even when there are findings")
	c.Flags().StringVar(&f.CrossplaneNS, "crossplane-namespace", "", "Crossplane's namespace (default: where the crossplane Deployment runs, else crossplane-system)")
	c.Flags().StringVar(&f.CrossplaneVersion, "crossplane-version", "", "judge as this Crossplane version (default: the tag of Crossplane's image)")
	c.Flags().StringSliceVar(&f.UpstreamRegistries, "upstream-registry", nil, "MIRROR=UPSTREAM: compare mirrored packages with their upstream (repeatable)")
	c.Flags().StringVar(&f.Inspect, "inspect", "problems", "which package images to inspect in their registry: problems, all or none")
	c.Flags().BoolVar(&f.ReadSecrets, "read-pull-secrets", true, "read the pull secrets Crossplane uses so images are inspected with its credentials (kept in memory only)")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "wide", "json", "yaml", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"Provider", "Function", "Configuration"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("inspect", cobra.FixedCompletions([]string{"problems", "all", "none"}, cobra.ShellCompDirectiveNoFileComp))
}

const diagnoseLong = `Diagnose reads Crossplane's packages, revisions, runtime Deployments and Pods
and Events, classifies every failure message by its inner cause, inspects the
images involved in their registry with the credentials Crossplane uses, and
names the root cause per package with evidence and the exact fix.

It is the default command: "%[1]s" is "%[1]s diagnose".
Exit status: 0 no findings at error severity, 1 findings (unless --exit-zero),
2 usage errors, missing permissions or no Crossplane.`

func newDiagnoseCommand(s IOStreams, f *diagnoseFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "diagnose [NAME...]",
		Short: "Find why Crossplane packages are not healthy (the default command)",
		Long:  fmt.Sprintf(diagnoseLong, displayName()),
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
	f.add(c)
	return c
}

// completeNames completes package names from the cluster.
func (f *diagnoseFlags) completeNames(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	snap, err := f.snapshot(c.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, p := range snap.Packages {
		names = append(names, p.Name+"\t"+p.Kind)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

func (f *diagnoseFlags) snapshot(ctx context.Context) (*cluster.Snapshot, error) {
	if f.FromFile != "" {
		return cluster.ReadFile(f.FromFile)
	}
	cfg, err := f.kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot load a kubeconfig (set --kubeconfig or KUBECONFIG, or use --from-file): %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	if wrapKubeTransport != nil {
		cfg.Wrap(wrapKubeTransport)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := cluster.NewDiscoveryForConfig(cfg)
	if err != nil {
		return nil, err
	}
	r := &cluster.Reader{Dynamic: dyn, Discovery: disc, Namespace: f.CrossplaneNS, ReadSecrets: f.ReadSecrets}
	snap, err := r.Read(ctx)
	if errors.Is(err, cluster.ErrCrossplaneNotInstalled) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the cluster at %s: %w (check --kubeconfig and --context, or read a support dump with --from-file)", cfg.Host, err)
	}
	snap.Source = cfg.Host
	if raw, err := f.kube.ToRawKubeConfigLoader().RawConfig(); err == nil && raw.CurrentContext != "" {
		snap.Source = raw.CurrentContext
		if f.kube.Context != nil && *f.kube.Context != "" {
			snap.Source = *f.kube.Context
		}
	}
	return snap, nil
}

// diagnosis is one collected and decided run.
type diagnosis struct {
	snap   *cluster.Snapshot
	target crossplane.Target
	maps   []xpkg.Mapping
	report *diagnose.Report
}

// validate checks the flags that every diagnose-based command shares.
func (f *diagnoseFlags) validate() (kind string, maps []xpkg.Mapping, err error) {
	switch f.Inspect {
	case "problems", "all", "none":
	default:
		return "", nil, usageErrorf("--inspect must be problems, all or none")
	}
	if f.Kind != "" {
		for _, k := range []string{"Provider", "Function", "Configuration"} {
			if strings.EqualFold(strings.TrimSuffix(f.Kind, "s"), k) {
				kind = k
			}
		}
		if kind == "" {
			return "", nil, usageErrorf("--kind must be Provider, Function or Configuration")
		}
	}
	for _, m := range f.UpstreamRegistries {
		mp, err := xpkg.ParseMapping(m)
		if err != nil {
			return "", nil, usageErrorf("--upstream-registry: %v", err)
		}
		maps = append(maps, mp)
	}
	if f.Timeout <= 0 {
		return "", nil, usageErrorf("--timeout must be positive")
	}
	return kind, maps, nil
}

// collect validates the shared flags, then collects (cluster, registry) and decides.
func (f *diagnoseFlags) collect(ctx context.Context, names []string) (*diagnosis, error) {
	kind, maps, err := f.validate()
	if err != nil {
		return nil, err
	}
	return f.diagnose(ctx, names, kind, maps)
}

// diagnose collects (cluster, registry) and decides.
func (f *diagnoseFlags) diagnose(ctx context.Context, names []string, kind string, maps []xpkg.Mapping) (*diagnosis, error) {
	snap, err := f.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	target, err := f.target(snap)
	if err != nil {
		return nil, err
	}
	images := f.inspectImages(ctx, snap, target, maps, names, kind)
	rep := diagnose.Diagnose(diagnose.Input{Snapshot: snap, Images: images, Target: target, Now: f.now(), Only: names, Kind: kind})
	return &diagnosis{snap: snap, target: target, maps: maps, report: rep}, nil
}

func (f *diagnoseFlags) run(ctx context.Context, s IOStreams, names []string) error {
	format, err := report.ParseFormat(f.Output, report.Table, report.Wide, report.JSON, report.YAML, report.Markdown)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	d, err := f.collect(ctx, names)
	if err != nil {
		return err
	}
	if err := report.Diagnose(s.Out, format, d.report); err != nil {
		return err
	}
	if len(d.snap.Denied) > 0 {
		return errors.New("some reads were forbidden (see PermissionDenied); the report is incomplete")
	}
	if findings.Worst(toFindings(d.report.Findings)) == findings.Error && !f.ExitZero {
		return errFindings
	}
	return nil
}

func toFindings(fs []diagnose.Finding) []findings.Finding {
	out := make([]findings.Finding, len(fs))
	for i, f := range fs {
		out[i] = findings.Finding{Code: f.Code, Severity: f.Severity}
	}
	return out
}

// target is the Crossplane version to judge as: the flag, else the tag of
// Crossplane's image, else the newest generation.
func (f *diagnoseFlags) target(snap *cluster.Snapshot) (crossplane.Target, error) {
	v := f.CrossplaneVersion
	if v == "" {
		v = snap.CrossplaneVersion()
	}
	if v != "" {
		ts, err := crossplane.Select([]string{v})
		if err == nil {
			return ts[0], nil
		}
		if f.CrossplaneVersion != "" {
			return crossplane.Target{}, usageErrorf("%v", err)
		}
	}
	all, _ := crossplane.Select(nil)
	return all[len(all)-1], nil
}

// registryClient uses the pull secrets Crossplane uses, then the local docker config.
func (f *diagnoseFlags) registryClient(snap *cluster.Snapshot) *xpkg.Client {
	var secrets [][]byte
	for _, b := range snap.Secrets {
		secrets = append(secrets, b)
	}
	return f.client(xpkg.WithKeychain(authn.NewMultiKeychain(xpkg.KeychainFromDockerConfigs(secrets...), authn.DefaultKeychain)))
}

// inspectImages judges the images of the packages that need it, with the
// credentials Crossplane would use plus the local docker config.
func (f *diagnoseFlags) inspectImages(ctx context.Context, snap *cluster.Snapshot, target crossplane.Target, maps []xpkg.Mapping, names []string, kind string) map[string]inspect.Image {
	out := map[string]inspect.Image{}
	if f.Inspect == "none" {
		return out
	}
	client := f.registryClient(snap)
	only := map[string]bool{}
	for _, n := range names {
		only[n] = true
	}
	var reqs []inspect.Request
	seen := map[string]bool{}
	for _, p := range snap.Packages {
		if (len(only) > 0 && !only[p.Name]) || (kind != "" && p.Kind != kind) {
			continue
		}
		healthy := p.Condition("Healthy") != nil && p.Condition("Healthy").Status == "True" &&
			p.Condition("Installed") != nil && p.Condition("Installed").Status == "True"
		if f.Inspect == "problems" && healthy && len(maps) == 0 {
			continue
		}
		src := p.Source()
		if seen[src] {
			continue
		}
		if _, err := client.ParseReference(src); err != nil {
			continue
		}
		seen[src] = true
		req := inspect.Request{Reference: src}
		if up, ok := xpkg.MapAll(maps, src); ok {
			if _, err := client.ParseReference(up); err == nil {
				req.Upstream = up
			}
		}
		reqs = append(reqs, req)
	}
	if len(reqs) == 0 {
		return out
	}
	rep, err := inspect.Run(ctx, client, reqs, inspect.Options{Targets: []crossplane.Target{target}}, xpkg.ReadOptions{})
	if err != nil {
		return out
	}
	for _, img := range rep.Images {
		out[img.Reference] = img
	}
	return out
}
