package cmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/fix"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

type fixFlags struct {
	*diagnoseFlags
	Yes   bool
	Apply string
	Jobs  int
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
		RunE:              func(c *cobra.Command, args []string) error { return f.runFix(c.Context(), s, args) },
	}
	f.diagnoseFlags.add(c)
	// Fix copies whole images: give it mirror's default time.
	f.Timeout = 30 * time.Minute
	c.Flags().Lookup("timeout").DefValue = f.Timeout.String()
	c.Flags().BoolVar(&f.Yes, "yes", false, "copy (and with --apply, change the cluster); without it only the plan is shown")
	c.Flags().StringVar(&f.Apply, "apply", "", "also point the cluster at the repaired images: pin or imageconfig")
	c.Flags().IntVarP(&f.Jobs, "jobs", "j", 4, "blobs copied in parallel per image")
	_ = c.RegisterFlagCompletionFunc("apply", cobra.FixedCompletions([]string{"pin", "imageconfig"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (f *fixFlags) runFix(ctx context.Context, s IOStreams, names []string) error {
	if len(f.UpstreamRegistries) == 0 {
		return usageErrorf("fix needs --upstream-registry MIRROR=UPSTREAM to know where to copy from")
	}
	switch f.Apply {
	case "", "pin", "imageconfig":
	default:
		return usageErrorf("--apply must be pin or imageconfig")
	}
	if f.Jobs < 1 {
		return usageErrorf("--jobs must be at least 1")
	}
	if f.FromFile != "" && f.Apply != "" {
		return usageErrorf("--apply needs a live cluster, not --from-file")
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	d, err := f.collect(ctx, names)
	if err != nil {
		return err
	}
	maps := d.Upstreams
	cands, skipped := fix.Candidates(d.Report, d.Snapshot, maps)
	for _, sk := range skipped {
		fmt.Fprintf(s.ErrOut, "not repairable: %s\n", sk)
	}
	if len(cands) == 0 && f.Apply != "imageconfig" {
		fmt.Fprintln(s.Out, "No package has a mirror defect that an --upstream-registry mapping covers. Nothing to do.")
		return nil
	}
	client := d.Registry
	var plans []*xpkg.CopyPlan
	var planned []fix.Candidate
	failed := 0
	for _, c := range cands {
		src, err := client.ParseReference(c.Upstream)
		if err != nil {
			return err
		}
		dst, err := client.ParseReference(c.Mirror)
		if err != nil {
			return err
		}
		// Fix exists to move damaged tags: the plan shows each move and --yes is the consent.
		p, err := client.PlanCopy(ctx, src, dst, true)
		if err != nil {
			fmt.Fprintf(s.ErrOut, "cannot repair %s/%s: %v\n", c.Kind, c.Name, err)
			failed++
			continue
		}
		planned = append(planned, c)
		fmt.Fprintf(s.Out, "%s/%s (%v)\n", c.Kind, c.Name, c.Codes)
		printPlan(s.Out, p)
		plans = append(plans, p)
	}
	digests := map[string]string{}
	for i, p := range plans {
		digests[planned[i].Mirror] = p.Digest
	}
	var changes []fix.Change
	switch f.Apply {
	case "pin":
		changes = fix.PinChanges(d.Snapshot, planned, digests)
	case "imageconfig":
		changes = fix.ImageConfigChanges(d.Snapshot, maps)
	}
	var dyn dynamic.Interface
	if len(changes) > 0 {
		printChanges(s.Out, changes)
		cfg, err := f.kube.ToRESTConfig()
		if err != nil {
			return err
		}
		if dyn, err = dynamic.NewForConfig(cfg); err != nil {
			return err
		}
		if err := fix.Apply(ctx, dyn, pkgVersion, changes, true); err != nil {
			return err
		}
		fmt.Fprintln(s.Out, "server-side dry run: accepted")
	}
	if !f.Yes {
		fmt.Fprintln(s.Out, "\nNothing was changed. Run again with --yes to copy"+map[bool]string{true: " and apply.", false: "."}[f.Apply != ""])
		if failed > 0 {
			return errFindings
		}
		return nil
	}
	targets := d.Targets
	for _, p := range plans {
		res, err := client.Copy(ctx, p, f.Jobs)
		if err != nil {
			return fmt.Errorf("copying %s to %s: %w", p.Source, p.Destination, err)
		}
		if err := client.Verify(ctx, p); err != nil {
			return fmt.Errorf("verifying %s: %w", p.Destination, err)
		}
		verdicts, err := judgeCopy(ctx, client, p.Destination, targets)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "repaired %s: %s, %d blobs copied (%s), %d present; %s\n", p.Destination, p.Digest, res.BlobsCopied,
			crossplane.HumanBytes(res.BytesCopied), res.BlobsSkipped, verdicts)
	}
	if len(changes) > 0 {
		if err := fix.Apply(ctx, dyn, pkgVersion, changes, false); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "applied %d cluster change(s)\n", len(changes))
	}
	if failed > 0 {
		return errFindings
	}
	return nil
}

func pkgVersion(resource string) string {
	if resource == "imageconfigs" {
		return "v1beta1"
	}
	return "v1"
}

func printChanges(w io.Writer, changes []fix.Change) {
	fmt.Fprintln(w, "\nCLUSTER CHANGES")
	for _, c := range changes {
		fmt.Fprintf(w, "  %s/%s %s:\n    - %s\n    + %s\n", c.Kind, c.Name, c.Field, c.From, c.To)
	}
}
