package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/fix"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
)

type fixFlags struct {
	*diagnoseFlags
	Yes    bool
	Apply  string
	Jobs   int
	Quiet  bool
	Verify string
}

// fixOptions are validated flags.
type fixOptions struct {
	f      *fixFlags
	doctor doctor.Options
	apply  string
	ui     transferUI
	engine transfer.Options
}

func newFixCommand(s IOStreams) *cobra.Command {
	f := &fixFlags{diagnoseFlags: newDiagnoseFlags()}
	c := &cobra.Command{
		Use:   "fix [NAME...] --upstream-registry MIRROR=UPSTREAM",
		Short: "Re-mirror broken packages from their upstream, verify, and optionally point the cluster at them",
		Long: `Fix runs diagnose, takes the packages whose findings name a mirror defect
(annotation lost, digest drift, collapsed index, recompressed layers, a missing
tag, or a runtime image in place of the package), and re-mirrors each from its
upstream into the registry the cluster pulls from, under the same repository
and tag, byte-for-byte. It prints the plan and changes nothing without --yes.

--apply also changes the cluster: "pin" sets each repaired package's
spec.package to the mirror at the copied digest; "imageconfig" creates an
ImageConfig per --upstream-registry mapping that rewrites the upstream prefix
to the mirror (Crossplane v1.20+). The diff is shown and a server-side dry run
made first; nothing is written to the cluster without --apply and --yes.`,
		Example: exampleText(
			"# What would be re-mirrored",
			"$0 fix --upstream-registry 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound=xpkg.upbound.io/upbound",
			"",
			"# Re-mirror, then pin the packages to the repaired digests",
			"$0 fix provider-aws-s3 --upstream-registry 123456789012.dkr.ecr.us-east-1.amazonaws.com/upbound=xpkg.upbound.io/upbound --yes --apply=pin",
		),
		ValidArgsFunction: f.completeNames,
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.toOptions(args)
			if err != nil {
				return err
			}
			return o.run(c.Context(), s)
		},
	}
	f.diagnoseFlags.add(c, s)
	// Fix copies whole images: give it mirror's default time.
	f.Timeout = 30 * time.Minute
	c.Flags().Lookup("timeout").DefValue = f.Timeout.String()
	// Fix renders transfer plans and results: table or json.
	c.Flags().Lookup("output").Usage = "output format of the plan and the result: table or json"
	c.Flags().BoolVar(&f.Yes, "yes", false, "copy (and with --apply, change the cluster); without it only the plan is shown")
	c.Flags().StringVar(&f.Apply, "apply", "", "also point the cluster at the repaired images: pin or imageconfig")
	c.Flags().IntVarP(&f.Jobs, "jobs", "j", 4, "large blobs (1 MiB and more) streamed in parallel; small ones and metadata requests go 16 at a time")
	c.Flags().BoolVarP(&f.Quiet, "quiet", "q", false, "print only the summary")
	c.Flags().StringVar(&f.Verify, "verify", "graph", "how the repaired mirror is verified before it is tagged: graph or full (also re-hash every blob)")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("apply", cobra.FixedCompletions([]string{"pin", "imageconfig"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// toOptions validates every flag in one place, before anything is read.
func (f *fixFlags) toOptions(names []string) (*fixOptions, error) {
	do, err := f.doctorOptions(names)
	if err != nil {
		return nil, err
	}
	if len(do.Upstreams) == 0 {
		return nil, usageErrorf("fix needs --upstream-registry MIRROR=UPSTREAM to know where to copy from")
	}
	switch f.Apply {
	case "", "pin", "imageconfig":
	default:
		return nil, usageErrorf("--apply must be pin or imageconfig")
	}
	if f.FromFile != "" && f.Apply != "" {
		return nil, usageErrorf("--apply needs a live cluster, not --from-file")
	}
	// Fix exists to move damaged tags: the plan shows each move and --yes is the consent.
	ui, eng, err := transferFlags(f.Output, f.Verify, f.Jobs, f.Timeout, f.Quiet, f.Yes, true)
	if err != nil {
		return nil, err
	}
	return &fixOptions{f: f, doctor: do, apply: f.Apply, ui: ui, engine: eng}, nil
}

func (o *fixOptions) run(ctx context.Context, s IOStreams) error {
	ctx, cancel := context.WithTimeout(ctx, o.f.Timeout)
	defer cancel()
	d, err := doctor.Run(ctx, o.doctor)
	if err != nil {
		return err
	}
	if err := stopped(ctx, o.f.Timeout); err != nil {
		return err
	}
	if d.NotFound != nil {
		// fix changes registries and the cluster: a name that does not
		// exist stops it before anything is planned.
		return d.NotFound
	}
	ui := o.ui
	ui.out, ui.errOut, ui.redactor = s.Out, s.ErrOut, s.Redactor
	if ui.format != report.Table {
		ui.out = s.structuredOut()
	}
	human := s.Out
	if ui.format != report.Table {
		human = s.ErrOut // stdout carries only the JSON
	}
	cands, skipped := fix.Candidates(d.Report, d.Snapshot, d.Upstreams)
	for _, sk := range skipped {
		fmt.Fprintf(s.ErrOut, "not repairable: %s\n", sk)
	}
	if len(cands) == 0 && o.apply != "imageconfig" {
		fmt.Fprintln(human, "No package has a mirror defect that an --upstream-registry mapping covers. Nothing to do.")
		return nil
	}
	client := d.Registry
	eng := transfer.New(client, o.engine)
	defer eng.Close()
	targets := d.Targets
	ui.judge = func(ctx context.Context, ref string) (string, error) { return judgeCopy(ctx, client, ref, targets) }
	// Each candidate is planned alone, so one unreadable upstream does not
	// stop the repair of the others.
	var plans []*transfer.Plan
	var planned []fix.Candidate
	failed := 0
	for _, c := range cands {
		p, err := eng.Plan(ctx, []transfer.Request{{Source: transfer.Endpoint{Kind: transfer.Registry, Ref: c.Upstream}, Destination: transfer.Endpoint{Kind: transfer.Registry, Ref: c.Mirror}}})
		if err != nil {
			fmt.Fprintf(s.ErrOut, "cannot repair %s/%s: %v\n", c.Kind, c.Name, err)
			failed++
			continue
		}
		if ui.format == report.Table && !(o.f.Quiet && o.f.Yes) {
			fmt.Fprintf(s.Out, "%s/%s (%v)\n", c.Kind, c.Name, c.Codes)
		}
		planned = append(planned, c)
		plans = append(plans, p)
	}
	plan := transfer.Join(plans...)
	digests := map[string]string{}
	for i, it := range plan.Items {
		digests[planned[i].Mirror] = it.Digest
	}
	var changes []fix.Change
	switch o.apply {
	case "pin":
		changes = fix.PinChanges(d.Snapshot, planned, digests)
	case "imageconfig":
		changes = fix.ImageConfigChanges(d.Snapshot, d.Upstreams)
	}
	var dyn dynamic.Interface
	if len(changes) > 0 {
		printChanges(human, changes)
		cfg, err := o.f.kube.ToRESTConfig()
		if err != nil {
			return err
		}
		if dyn, err = dynamic.NewForConfig(cfg); err != nil {
			return err
		}
		if err := fix.Apply(ctx, dyn, changes, true); err != nil {
			return err
		}
		fmt.Fprintln(human, "server-side dry run: accepted")
	}
	ui.yes = o.f.Yes
	if _, err := ui.execute(ctx, eng, plan); err != nil && !errors.Is(err, errFindings) {
		return err
	}
	if !o.f.Yes {
		if o.apply != "" {
			fmt.Fprintln(human, "(--yes also applies the cluster changes above.)")
		}
		if failed > 0 {
			return errFindings
		}
		return nil
	}
	if len(changes) > 0 {
		if err := fix.Apply(ctx, dyn, changes, false); err != nil {
			return err
		}
		fmt.Fprintf(human, "applied %d cluster change(s)\n", len(changes))
	}
	if failed > 0 {
		return errFindings
	}
	return nil
}

func printChanges(w io.Writer, changes []fix.Change) {
	fmt.Fprintln(w, "\nCLUSTER CHANGES")
	for _, c := range changes {
		fmt.Fprintf(w, "  %s/%s %s:\n    - %s\n    + %s\n", c.Kind, c.Name, c.Field, c.From, c.To)
	}
}
