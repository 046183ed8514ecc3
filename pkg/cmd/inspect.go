package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// registryFlags are the flags every command that talks to registries shares.
type registryFlags struct {
	Insecure []string
	Timeout  time.Duration
	Verbose  int
	// Concurrency bounds the registry reads in flight per registry host.
	Concurrency int
	cmd         *cobra.Command
	// redactor receives every credential the client resolves or sends.
	redactor *redact.Redactor
	// readOnly makes every client the flags build refuse writes before
	// they are sent (the mcp command sets it).
	readOnly bool
}

func (f *registryFlags) add(c *cobra.Command, timeout time.Duration, s IOStreams) {
	f.cmd, f.redactor = c, s.Redactor
	c.Flags().StringSliceVar(&f.Insecure, "insecure-registry", nil, "registry host[:port] that may use plain HTTP or an unverified TLS certificate (repeatable; loopback hosts always may use HTTP)")
	c.Flags().DurationVar(&f.Timeout, "timeout", timeout, "give up after this long")
	c.Flags().IntVarP(&f.Verbose, "v", "v", 0, "log level: 1 and above log every registry request to stderr (never headers or credentials)")
	c.Flags().IntVar(&f.Concurrency, "registry-concurrency", xpkg.DefaultRegistryConcurrency, "images read at once per registry host")
}

// validate checks the flags before anything is read.
func (f *registryFlags) validate() error {
	if f.Timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	if f.Concurrency < 1 {
		return usageErrorf("--registry-concurrency must be at least 1")
	}
	return nil
}

// options are the registry client options the flags say: the run's
// Redactor, warnings (a registry rate limiting) and, with -v, the request
// log, both to the root's stderr, which is a report.SafeWriter.
func (f *registryFlags) options() []xpkg.Option {
	opts := []xpkg.Option{xpkg.WithInsecureRegistries(f.Insecure...), xpkg.WithRedactor(f.redactor)}
	if f.readOnly {
		opts = append(opts, xpkg.WithReadOnly())
	}
	if f.cmd != nil {
		w := f.cmd.ErrOrStderr()
		opts = append(opts, xpkg.WithWarnings(func(format string, args ...any) { fmt.Fprintf(w, "warning: "+format+"\n", args...) }))
		if f.Verbose > 0 {
			opts = append(opts, xpkg.WithLogger(func(format string, args ...any) { fmt.Fprintf(w, "registry: "+format+"\n", args...) }))
		}
	}
	return opts
}

// client is a registry client for one run, with a ReadCache of its own.
func (f *registryFlags) client(extra ...xpkg.Option) *xpkg.Client {
	opts := append(f.options(), xpkg.WithReadCache(xpkg.NewReadCache(f.Concurrency)))
	return xpkg.NewClient(append(opts, extra...)...)
}

// inspectFlags are inspect's command-line flags.
type inspectFlags struct {
	registryFlags
	reportFlags
	Upstream           string
	UpstreamRegistries []string
	CrossplaneVersions []string
	Output             string
	ExitZero           bool
	AllPlatforms       bool
	BandwidthMBps      float64
	Dependencies       bool
}

// inspectOptions are validated flags.
type inspectOptions struct {
	requests  []inspect.Request
	judge     inspect.Options
	read      xpkg.ReadOptions
	printer   report.Printer
	fail      failOn
	timeout   time.Duration
	newClient func() *xpkg.Client
	// maps are --upstream-registry's, for the references a layout records.
	maps []xpkg.Mapping
}

// Defaults of inspect's flags, which the mcp command's inspect tool uses too.
const (
	defaultBandwidthMBps = 10
	defaultDependencies  = true
)

func newInspectCommand(s IOStreams) *cobra.Command {
	f := &inspectFlags{}
	c := &cobra.Command{
		Use:   "inspect REF...",
		Short: "Judge package images in a registry the way each Crossplane version would",
		Long: `Inspect reads a package image from its registry, downloading as little as it
can (manifests, config and the annotated layer), and tells, for each Crossplane
generation, whether the package parses through its annotated base layer, only
through the slow flatten fallback, or not at all, with the exact message that
Crossplane version puts in its events. With --upstream it also tells how a
mirror differs from its upstream and which copy tool that damage is typical of.

It also checks that each dependsOn exists where Crossplane's dependency
resolver looks for it and that a tag satisfies its constraint, and says at
which stage each failure surfaces (resolve, fetch, parse, lint, dependencies)
and whether Crossplane creates a package revision at all.

Exit status: 0 when every verdict is BaseLayer and no finding is an error,
1 when there are findings (unless --exit-zero), 2 on usage or tool errors.`,
		Example: exampleText(
			"# Judge a mirrored provider against its upstream",
			"$0 inspect 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound/provider-aws-s3:v1.6.0 \\",
			"    --upstream xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0",
			"",
			"# The same for several mirrored packages, mapping the registry",
			"$0 inspect mirror.example.com/upbound/provider-aws-s3:v1.6.0 mirror.example.com/crossplane-contrib/function-patch-and-transform:v0.8.2 \\",
			"    --upstream-registry mirror.example.com/upbound=xpkg.upbound.io/upbound \\",
			"    --upstream-registry mirror.example.com/crossplane-contrib=xpkg.crossplane.io/crossplane-contrib",
			"",
			"# Only the Crossplane version you run, as JSON for a script",
			"$0 inspect localhost:5000/provider-nop:v0.4.0 --crossplane-version v2.1.3 -o json",
		),
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.toOptions(args)
			if err != nil {
				return err
			}
			return o.run(c.Context(), s)
		},
	}
	f.registryFlags.add(c, 2*time.Minute, s)
	c.Flags().StringVar(&f.Upstream, "upstream", "", "upstream reference to compare a single mirrored image with")
	c.Flags().StringSliceVar(&f.UpstreamRegistries, "upstream-registry", nil, "MIRROR=UPSTREAM prefix mapping, or HOST[/PREFIX] for the upstream of every image (repeatable)")
	c.Flags().StringSliceVar(&f.CrossplaneVersions, "crossplane-version", nil, "judge only these Crossplane versions (e.g. v1.20.0, v2.3.4; repeatable); default: every generation")
	c.Flags().StringVarP(&f.Output, "output", "o", "table", "output format: table, wide, json, yaml, name (each image as REPOSITORY@DIGEST) or jsonpath=TEMPLATE")
	c.Flags().BoolVar(&f.ExitZero, "exit-zero", false, "exit 0 even when there are findings")
	c.Flags().BoolVar(&f.AllPlatforms, "all-platforms", false, "look for package.yaml in every platform of an index, not only the one Crossplane reads")
	c.Flags().BoolVar(&f.Dependencies, "dependencies", defaultDependencies, "check that each dependsOn exists where Crossplane's dependency resolver looks and that a tag satisfies its constraint (one level; --dependencies=false skips it)")
	c.Flags().Float64Var(&f.BandwidthMBps, "assumed-bandwidth", defaultBandwidthMBps, "registry throughput in MB/s assumed when judging whether the flatten fallback fits Crossplane's deadline (0: do not judge)")
	f.reportFlags.add(c, inspectOutputs)
	return c
}

func (f *inspectFlags) toOptions(args []string) (*inspectOptions, error) {
	printer, fail, err := f.reportFlags.printer(f.cmd, f.Output, f.ExitZero, f.redactor, report.Table, report.Wide, report.JSON, report.YAML, report.Name, report.JSONPath)
	if err != nil {
		return nil, err
	}
	if f.Upstream != "" && len(args) > 1 {
		return nil, usageErrorf("--upstream compares one image; for several images use --upstream-registry MIRROR=UPSTREAM")
	}
	if f.Upstream != "" && len(f.UpstreamRegistries) > 0 {
		return nil, usageErrorf("use either --upstream or --upstream-registry, not both")
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	if f.BandwidthMBps < 0 {
		return nil, usageErrorf("--assumed-bandwidth must not be negative")
	}
	targets, err := crossplane.Select(f.CrossplaneVersions)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	var maps []xpkg.Mapping
	for _, m := range f.UpstreamRegistries {
		mp, err := xpkg.ParseMapping(m)
		if err != nil {
			return nil, usageErrorf("--upstream-registry: %v", err)
		}
		maps = append(maps, mp)
	}
	o := &inspectOptions{
		printer: printer, fail: fail, timeout: f.Timeout, newClient: func() *xpkg.Client { return f.client() },
		judge: inspect.Options{Targets: targets, Judge: crossplane.JudgeOptions{Bandwidth: int64(f.BandwidthMBps * 1e6)}},
		read:  xpkg.ReadOptions{AllPlatforms: f.AllPlatforms},
	}
	if f.Dependencies {
		o.judge.Dependencies = &inspect.DependencyOptions{}
	}
	o.maps = maps
	client := f.client()
	for _, a := range args {
		if kind, path := transfer.ParseLocation(a); kind != transfer.Registry {
			// Every reference the layout records; read when the command runs.
			if path == "" {
				return nil, usageErrorf("%s needs a path: %s:DIR or %s:FILE.tar", a, transfer.Layout, transfer.Archive)
			}
			o.requests = append(o.requests, inspect.Request{Reference: a, Upstream: f.Upstream})
			continue
		}
		if _, err := client.ParseReference(a); err != nil {
			return nil, usageErrorf("%v", err)
		}
		req := inspect.Request{Reference: a, Upstream: f.Upstream}
		if len(maps) > 0 {
			up, ok := xpkg.MapAll(maps, a)
			if !ok {
				return nil, usageErrorf("no --upstream-registry mapping covers %s", a)
			}
			req.Upstream = up
		}
		if req.Upstream != "" {
			if _, err := client.ParseReference(req.Upstream); err != nil {
				return nil, usageErrorf("upstream of %s: %v", a, err)
			}
		}
		o.requests = append(o.requests, req)
	}
	return o, nil
}

// report reads and judges the images, within the timeout.
func (o *inspectOptions) report(ctx context.Context) (*inspect.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	client := o.newClient()
	reqs, local, err := o.expand(client)
	if err != nil {
		return nil, err
	}
	defer local.close()
	rep, err := inspect.Run(ctx, client, reqs, o.judge, o.read)
	if err != nil {
		return nil, err
	}
	local.relabel(rep)
	if err := stopped(ctx, o.timeout); err != nil {
		return nil, err
	}
	return rep, nil
}

func (o *inspectOptions) run(ctx context.Context, s IOStreams) error {
	rep, err := o.report(ctx)
	if err != nil {
		return err
	}
	if err := o.printer.Inspect(s.Out, rep); err != nil {
		return err
	}
	for _, img := range rep.Images {
		if o.fail != failOnNone && (!img.Healthy() || o.fail.fails(findings.Worst(img.Findings))) {
			return errFindings
		}
	}
	return nil
}
