package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/closure"
	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// mirrorFlags are mirror's command-line flags.
type mirrorFlags struct {
	registryFlags
	FromFile        string
	Closure         bool
	EmitImageConfig string
	Yes             bool
	Force           bool
	Jobs            int
	Quiet           bool
	Output          string
	Verify          string
}

// mirrorPair is one SRC DST of the command line or of --from-file.
type mirrorPair struct{ src, dst string }

// mirrorOptions are validated flags: everything run needs, nothing to check.
type mirrorOptions struct {
	pairs []mirrorPair
	// closureRoot is set for --closure; closurePrefix is DST-PREFIX.
	closureRoot, closurePrefix string
	// emit is where --emit-imageconfig writes: "" nowhere, "-" stdout, or a file.
	emit      string
	ui        transferUI
	engine    transfer.Options
	timeout   time.Duration
	newClient func() *xpkg.Client
}

// emitStdout is --emit-imageconfig given without a file.
const emitStdout = "-"

func newMirrorCommand(s IOStreams) *cobra.Command {
	f := &mirrorFlags{}
	c := &cobra.Command{
		Use: "mirror SRC DST",
		// SRC and DST may also be oci:DIR or oci-archive:FILE.tar (air gap).
		Short: "Copy packages between registries byte-for-byte (plan first; --yes to copy)",
		Long: `Mirror copies a package (an index, every platform, every blob) from SRC to DST
with its manifests pushed as the exact bytes fetched, so digests and the
io.crossplane.xpkg annotation survive: what docker pull/tag/push does not do.

It prints a plan and changes nothing unless --yes is given. Blobs already in
DST are skipped; children go before their index, and every byte copied is
checked against its digest. Before the tag is set, DST is verified: every
manifest read back by digest and compared byte for byte, every blob's
presence and size (--verify=full re-reads and hashes every blob). Only then
is the tag set, so no tag ever points at content that is not there. A DST
tag that points at a different digest is left alone unless --force. Nothing
is ever deleted. DST must name a tag (REGISTRY/REPOSITORY:TAG).

Air gap: DST may be oci:DIR (an OCI image layout) or oci-archive:FILE.tar;
the export records each reference in index.json, and an existing layout or
archive gains references (other files are refused). On the private side,
SRC may be such a layout or archive and DST a registry prefix: every
recorded reference is pushed under the prefix with its repository path,
byte-for-byte. Archives are read in place, never unpacked; index.json is
read up to 4 MiB and 10,000 references.`,
		Example: exampleText(
			"# See what would be copied",
			"$0 mirror xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound/provider-aws-s3:v1.6.0",
			"",
			"# Copy, replacing a docker-pushed tag",
			"$0 mirror xpkg.upbound.io/upbound/provider-aws-s3:v1.6.0 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound/provider-aws-s3:v1.6.0 --yes --force",
			"",
			"# Many packages, one 'SRC DST' pair per line",
			"$0 mirror --from-file packages.txt --yes",
			"",
			"# Across an air gap: export a closure, carry the file, import it on the private side",
			"$0 mirror --closure xpkg.upbound.io/upbound/platform-ref-aws:v1.4.0 oci-archive:platform.tar --yes",
			"$0 mirror oci-archive:platform.tar registry.internal.example/crossplane --yes",
			"",
			"# A configuration and everything it depends on; the ImageConfig for the cluster into a file",
			"$0 mirror --closure xpkg.upbound.io/upbound/platform-ref-aws:v1.4.0 123456789012.dkr.ecr.us-east-1.amazonaws.com/crossplane --emit-imageconfig=imageconfig.yaml --yes",
		),
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.toOptions(args, c.Flags().Changed("emit-imageconfig"))
			if err != nil {
				return err
			}
			return o.run(c.Context(), s)
		},
	}
	f.registryFlags.add(c, 30*time.Minute, s)
	c.Flags().StringVar(&f.FromFile, "from-file", "", "file of 'SRC DST' lines ('-' for stdin; # starts a comment)")
	c.Flags().BoolVar(&f.Closure, "closure", false, "SRC DST-PREFIX: mirror SRC and every package it depends on (dependsOn, recursively, versions resolved as Crossplane does) under DST-PREFIX, keeping repository paths")
	c.Flags().StringVar(&f.EmitImageConfig, "emit-imageconfig", "", "with --closure to a registry: write the ImageConfig that makes Crossplane v1.20+ pull the closure from the mirror, as YAML that kubectl apply -f accepts (the alternative for older versions as comments), to stdout (then everything else goes to stderr) or to the file named with --emit-imageconfig=FILE")
	c.Flags().Lookup("emit-imageconfig").NoOptDefVal = emitStdout
	c.Flags().BoolVar(&f.Yes, "yes", false, "copy (without it, only the plan is shown)")
	c.Flags().BoolVar(&f.Force, "force", false, "move DST tags that point at a different digest")
	c.Flags().IntVarP(&f.Jobs, "jobs", "j", 4, "large blobs (1 MiB and more) streamed in parallel; small ones and metadata requests go 16 at a time")
	c.Flags().BoolVarP(&f.Quiet, "quiet", "q", false, "print only the summary")
	c.Flags().StringVarP(&f.Output, "output", "o", "table", "output format of the plan and the result: table or json (the JSON result carries each destination's digest)")
	c.Flags().StringVar(&f.Verify, "verify", "graph", "how the destination is verified before it is tagged: graph (manifests read back by digest and compared, every blob's presence and size) or full (also re-read and hash every blob)")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("verify", cobra.FixedCompletions([]string{"graph", "full"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// toOptions validates every flag and argument, for every mode, in one
// place, before anything is read or written.
func (f *mirrorFlags) toOptions(args []string, emitGiven bool) (*mirrorOptions, error) {
	ui, eng, err := transferFlags(f.Output, f.Verify, f.Jobs, f.Timeout, f.Quiet, f.Yes, f.Force)
	if err != nil {
		return nil, err
	}
	if err := f.registryFlags.validate(); err != nil {
		return nil, err
	}
	o := &mirrorOptions{ui: ui, engine: eng, timeout: f.Timeout, newClient: func() *xpkg.Client { return f.client() }}
	if emitGiven {
		o.emit = f.EmitImageConfig
		if o.emit == "" {
			return nil, usageErrorf("--emit-imageconfig=FILE needs a file name (or --emit-imageconfig alone for stdout)")
		}
	}
	parse := xpkg.NewClient(xpkg.WithInsecureRegistries(f.Insecure...))
	switch {
	case f.Closure:
		if f.FromFile != "" || len(args) != 2 {
			return nil, usageErrorf("--closure wants SRC DST-PREFIX (and no --from-file)")
		}
		if _, err := parse.ParseReference(args[0]); err != nil {
			return nil, usageErrorf("%v", err)
		}
		o.closureRoot = args[0]
		kind, prefix := transfer.ParseLocation(args[1])
		o.closurePrefix = args[1]
		if kind == transfer.Registry {
			o.closurePrefix = strings.TrimSuffix(prefix, "/")
			if _, err := name.NewRepository(o.closurePrefix + "/x"); err != nil {
				return nil, usageErrorf("DST-PREFIX %q must be REGISTRY[/PATH], oci:DIR or oci-archive:FILE.tar", args[1])
			}
		} else if o.emit != "" {
			return nil, usageErrorf("--emit-imageconfig writes the ImageConfig for the registry the closure is mirrored to; %s is not a registry: emit it when you import the export on the private side with --closure, or write it yourself", args[1])
		}
		if prefix == "" {
			return nil, usageErrorf("DST-PREFIX is empty")
		}
	case o.emit != "":
		return nil, usageErrorf("--emit-imageconfig needs --closure: it writes the ImageConfig for a mirrored closure")
	case f.FromFile != "" && len(args) > 0:
		return nil, usageErrorf("give SRC DST or --from-file FILE, not both")
	case f.FromFile != "":
		pairs, err := readPairs(f.FromFile)
		if err != nil {
			return nil, err
		}
		o.pairs = pairs
	case len(args) == 2:
		o.pairs = []mirrorPair{{args[0], args[1]}}
	default:
		return nil, usageErrorf("want SRC DST, or --from-file FILE")
	}
	if o.emit == emitStdout && ui.format != report.Table {
		return nil, usageErrorf("--emit-imageconfig and -o %s would both write to stdout: name a file with --emit-imageconfig=FILE", ui.format)
	}
	for i, p := range o.pairs {
		where := ""
		if f.FromFile != "" {
			where = fmt.Sprintf("%s:%d: ", f.FromFile, i+1)
		}
		if err := checkPair(parse, p, f.Yes, where); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// transferFlags validates the flags every transfer front end shares.
func transferFlags(output, verify string, jobs int, timeout time.Duration, quiet, yes, force bool) (transferUI, transfer.Options, error) {
	format, err := report.ParseFormat(output, report.Table, report.JSON)
	if err != nil {
		return transferUI{}, transfer.Options{}, usageErrorf("%v", err)
	}
	mode, err := transfer.ParseVerifyMode(verify)
	if err != nil {
		return transferUI{}, transfer.Options{}, usageErrorf("%v", err)
	}
	if jobs < 1 {
		return transferUI{}, transfer.Options{}, usageErrorf("--jobs must be at least 1")
	}
	if timeout <= 0 {
		return transferUI{}, transfer.Options{}, usageErrorf("--timeout must be positive")
	}
	return transferUI{format: format, quiet: quiet, yes: yes}, transfer.Options{Jobs: jobs, Force: force, Verify: mode}, nil
}

// checkPair refuses a pair before anything is read or written.
func checkPair(c *xpkg.Client, p mirrorPair, yes bool, where string) error {
	sk, _ := transfer.ParseLocation(p.src)
	dk, dpath := transfer.ParseLocation(p.dst)
	switch {
	case sk != transfer.Registry && dk != transfer.Registry:
		return usageErrorf("%scopy between two layouts with cp; mirror reads or writes a registry", where)
	case sk != transfer.Registry:
		prefix := strings.TrimSuffix(dpath, "/")
		if _, err := name.NewRepository(prefix + "/x"); err != nil || prefix == "" {
			return usageErrorf("%simport wants a registry prefix as DST (REGISTRY[/PATH]), not %q", where, p.dst)
		}
		return nil
	}
	if _, err := c.ParseReference(p.src); err != nil {
		return usageErrorf("%s%v", where, err)
	}
	if dk != transfer.Registry {
		if dpath == "" {
			return usageErrorf("%s%s names no path", where, p.dst)
		}
		return nil
	}
	if err := transfer.CheckDestination(p.src, p.dst); err != nil {
		var de *transfer.DestinationError
		if errors.As(err, &de) {
			yesFlag := ""
			if yes {
				yesFlag = " --yes"
			}
			return usageErrorf("%sdestination %s %s: nothing was written. Run:\n  %s mirror %s %s%s", where, de.Given, de.Reason, displayName(), p.src, de.Suggest, yesFlag)
		}
		return usageErrorf("%s%v", where, err)
	}
	if _, err := c.ParseReference(p.dst); err != nil {
		return usageErrorf("%s%v", where, err)
	}
	return nil
}

func readPairs(file string) ([]mirrorPair, error) {
	var r io.Reader = os.Stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, usageErrorf("--from-file: %v", err)
		}
		defer fh.Close()
		r = fh
	}
	var pairs []mirrorPair
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, usageErrorf("%s:%d: want 'SRC DST', got %q", file, n, line)
		}
		pairs = append(pairs, mirrorPair{fields[0], fields[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("--from-file: %v", err)
	}
	if len(pairs) == 0 {
		return nil, usageErrorf("%s holds no 'SRC DST' line", file)
	}
	return pairs, nil
}

func (o *mirrorOptions) run(ctx context.Context, s IOStreams) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	ui := o.ui
	ui.out, ui.errOut, ui.redactor = s.Out, s.ErrOut, s.Redactor
	if ui.format != report.Table {
		ui.out = s.structuredOut()
	}
	if o.emit == emitStdout {
		// stdout carries only the YAML.
		ui.out = s.ErrOut
	}
	c := o.newClient()
	eng := transfer.New(c, o.engine)
	defer eng.Close()
	ui.judge = judgeLatest(c)
	if o.closureRoot != "" {
		return o.runClosure(ctx, s, ui, c, eng)
	}
	var reqs []transfer.Request
	for _, p := range o.pairs {
		rs, err := requestsFor(c, eng, p)
		if err != nil {
			return err
		}
		reqs = append(reqs, rs...)
	}
	_, err := ui.transfer(ctx, eng, reqs)
	return err
}

// requestsFor turns one SRC DST into requests: a copy, an export (DST a
// layout or archive: the reference is recorded under its name) or an
// import (SRC a layout or archive: every recorded reference, under DST).
func requestsFor(c *xpkg.Client, eng *transfer.Engine, p mirrorPair) ([]transfer.Request, error) {
	sk, spath := transfer.ParseLocation(p.src)
	dk, dpath := transfer.ParseLocation(p.dst)
	if sk != transfer.Registry {
		refs, err := eng.References(sk, spath)
		if err != nil {
			return nil, err
		}
		prefix := strings.TrimSuffix(dpath, "/")
		out := make([]transfer.Request, len(refs))
		for i, r := range refs {
			out[i] = transfer.Request{Source: transfer.Endpoint{Kind: sk, Path: spath, Ref: r},
				Destination: transfer.Endpoint{Kind: transfer.Registry, Ref: closure.Destination(prefix, r)}}
		}
		return out, nil
	}
	ref, err := c.ParseReference(p.src)
	if err != nil {
		return nil, err
	}
	dst := transfer.Endpoint{Kind: transfer.Registry, Ref: p.dst}
	if dk != transfer.Registry {
		dst = transfer.Endpoint{Kind: dk, Path: dpath, Ref: ref.String()}
	}
	return []transfer.Request{{Source: transfer.Endpoint{Kind: transfer.Registry, Ref: ref.String()}, Destination: dst}}, nil
}

func (o *mirrorOptions) runClosure(ctx context.Context, s IOStreams, ui transferUI, c *xpkg.Client, eng *transfer.Engine) error {
	nodes, err := closure.Resolve(ctx, c, o.closureRoot)
	if err != nil {
		return fmt.Errorf("resolving the dependency closure: %w", err)
	}
	kind, path := transfer.ParseLocation(o.closurePrefix)
	if kind == transfer.Registry {
		if err := closure.CheckFamilies(o.closurePrefix, nodes); err != nil {
			return err
		}
	}
	if !ui.quiet && ui.format == report.Table {
		fmt.Fprintf(ui.out, "CLOSURE of %s (%d packages)\n", o.closureRoot, len(nodes))
		for _, n := range nodes {
			via := ""
			if n.Constraint != "" {
				via = fmt.Sprintf("  (%s, via %s)", n.Constraint, n.Chain[len(n.Chain)-2])
			}
			fmt.Fprintf(ui.out, "  %s %s%s\n", n.Kind, n.Ref, via)
		}
		fmt.Fprintln(ui.out)
	}
	reqs := make([]transfer.Request, len(nodes))
	for i, n := range nodes {
		dst := transfer.Endpoint{Kind: transfer.Registry, Ref: closure.Destination(o.closurePrefix, n.Ref)}
		if kind != transfer.Registry {
			dst = transfer.Endpoint{Kind: kind, Path: path, Ref: n.Ref}
		}
		reqs[i] = transfer.Request{Source: transfer.Endpoint{Kind: transfer.Registry, Ref: n.Ref}, Destination: dst}
	}
	res, err := ui.transfer(ctx, eng, reqs)
	if err != nil && !errors.Is(err, errFindings) {
		return err
	}
	if o.emit != "" && res == nil && o.emit != emitStdout {
		// A plan writes nothing, not even the file.
		fmt.Fprintf(s.ErrOut, "(with --yes, the ImageConfig is also written to %s)\n", o.emit)
	}
	// The ImageConfig is printed with the plan too: it changes nothing.
	if o.emit != "" && (res != nil || o.emit == emitStdout) {
		yaml := closure.ImageConfigs(o.closurePrefix, nodes) + commented(closure.OlderCrossplane(o.closurePrefix, nodes))
		if werr := writeEmitted(s, o.emit, yaml); werr != nil {
			return werr
		}
	}
	return err
}

// commented turns text into YAML comments, so the emitted stream stays
// pure YAML for kubectl apply.
func commented(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if !strings.HasPrefix(l, "#") {
			l = "# " + l
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

func writeEmitted(s IOStreams, where, yaml string) error {
	if where == emitStdout {
		_, err := io.WriteString(s.Out, yaml)
		return err
	}
	if err := writeNew(where, []byte(yaml)); err != nil {
		return fmt.Errorf("--emit-imageconfig: %w", err)
	}
	fmt.Fprintf(s.ErrOut, "wrote the ImageConfig to %s (kubectl apply -f %s)\n", where, where)
	return nil
}

// writeNew writes a file, refusing to overwrite one that holds something
// else (nothing is overwritten without an explicit flag).
func writeNew(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil {
		if string(old) == string(b) {
			return nil
		}
		return fmt.Errorf("%s exists with other content: refusing to overwrite it; remove it or name another file", path)
	}
	return os.WriteFile(path, b, 0o644)
}

// transferUI is the one front end of the transfer engine: plan, consent,
// execute with progress, verdicts and the summary, the same for mirror,
// --closure, export, import and fix.
type transferUI struct {
	out, errOut io.Writer
	format      report.Format
	// redactor holds the run's credentials, for what is printed.
	redactor   *redact.Redactor
	quiet, yes bool
	// judge returns the Crossplane verdicts of a registry reference.
	judge func(ctx context.Context, ref string) (string, error)
}

func (ui transferUI) printer() report.Printer {
	return report.Printer{Format: ui.format, Redactor: ui.redactor}
}

// transfer plans reqs, shows the plan, and with --yes executes it. It
// returns errFindings when a tag was left alone.
func (ui transferUI) transfer(ctx context.Context, eng *transfer.Engine, reqs []transfer.Request) (*transfer.Result, error) {
	plan, err := eng.Plan(ctx, reqs)
	if err != nil {
		return nil, err
	}
	return ui.execute(ctx, eng, plan)
}

func (ui transferUI) execute(ctx context.Context, eng *transfer.Engine, plan *transfer.Plan) (*transfer.Result, error) {
	// The plan is the output of a run without --yes; with --yes, -q and
	// -o json keep only the result.
	if !ui.yes || (!ui.quiet && ui.format == report.Table) {
		if err := ui.printer().TransferPlan(ui.out, plan); err != nil {
			return nil, err
		}
	}
	if !ui.yes {
		if ui.format == report.Table {
			fmt.Fprintln(ui.out, "\nNothing was changed. Run again with --yes to copy.")
		}
		if plan.Conflicts() > 0 {
			return nil, errFindings
		}
		return nil, nil
	}
	progress, finish := transferProgress(ui.out, ui.quiet || ui.format != report.Table, plan.BytesToCopy)
	eng.SetProgress(progress)
	// Verdicts of what is copied: a registry source is judged while the copy
	// runs (the destination is then verified to hold the same bytes); an
	// import is judged at the destination afterwards.
	verdicts := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	judge := func(key, ref string) {
		defer wg.Done()
		v, err := ui.judge(ctx, ref)
		if err == nil {
			mu.Lock()
			verdicts[key] = v
			mu.Unlock()
		}
	}
	want := ui.judge != nil && !ui.quiet && ui.format == report.Table
	var later []*transfer.Item
	for _, it := range plan.Items {
		if !want || it.Destination.Kind != transfer.Registry || (it.Action != transfer.Copy && it.Action != transfer.Move) {
			continue
		}
		if it.Source.Kind == transfer.Registry {
			wg.Add(1)
			go judge(it.Destination.String(), it.Source.Ref)
		} else {
			later = append(later, it)
		}
	}
	res, err := eng.Execute(ctx, plan)
	finish()
	if err == nil {
		for _, it := range later {
			wg.Add(1)
			go judge(it.Destination.String(), it.Destination.Ref)
		}
	}
	wg.Wait()
	if err != nil {
		return res, err
	}
	if err := ui.printer().TransferResult(ui.out, res, verdicts, ui.quiet); err != nil {
		return res, err
	}
	if plan.Conflicts() > 0 {
		return res, errFindings
	}
	return res, nil
}

// judgeLatest judges a reference for every Crossplane generation.
func judgeLatest(c *xpkg.Client) func(context.Context, string) (string, error) {
	targets, _ := crossplane.Select(nil)
	return func(ctx context.Context, ref string) (string, error) { return judgeCopy(ctx, c, ref, targets) }
}

// judgeCopy re-runs the inspect verdict on a reference and summarises it:
// "v1.13 BaseLayer, ..., v2.2+ BaseLayer".
func judgeCopy(ctx context.Context, c *xpkg.Client, ref string, targets []crossplane.Target) (string, error) {
	rep, err := inspect.Run(ctx, c, []inspect.Request{{Reference: ref}}, inspect.Options{Targets: targets}, xpkg.ReadOptions{})
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(rep.Images[0].Verdicts))
	for _, v := range rep.Images[0].Verdicts {
		parts = append(parts, v.Crossplane+" "+string(v.Outcome))
	}
	return strings.Join(parts, ", "), nil
}
