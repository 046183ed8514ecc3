package cmd

import (
	"bufio"
	"context"
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
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

type mirrorFlags struct {
	registryFlags
	FromFile        string
	Closure         bool
	EmitImageConfig bool
	Yes             bool
	Force           bool
	Jobs            int
	Quiet           bool
}

type mirrorPair struct{ src, dst string }

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
DST are skipped; children go before their index and the tag goes last, so a
crash never leaves a tag pointing at missing content. A DST tag that points
at a different digest is left alone unless --force. Nothing is ever deleted.
After copying, DST is verified (every manifest and blob present, digest equal
to SRC's) and judged like inspect does.

Air gap: DST may be oci:DIR (an OCI image layout) or oci-archive:FILE.tar; the
export records each reference in index.json. On the private side, SRC may be
such a layout or archive and DST a registry prefix: every recorded reference
is pushed under the prefix with its repository path, byte-for-byte.`,
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
			"# A configuration and everything it depends on, plus the ImageConfig for the cluster",
			"$0 mirror --closure xpkg.upbound.io/upbound/platform-ref-aws:v1.4.0 123456789012.dkr.ecr.us-east-1.amazonaws.com/crossplane --emit-imageconfig --yes",
		),
		RunE: func(c *cobra.Command, args []string) error {
			if f.Closure {
				return f.runClosure(c.Context(), s, args)
			}
			if len(args) == 2 {
				src, srcLocal := parseLocation(args[0])
				dst, dstLocal := parseLocation(args[1])
				ctx, cancel := context.WithTimeout(c.Context(), f.Timeout)
				defer cancel()
				switch {
				case srcLocal && dstLocal:
					return usageErrorf("copy between two layouts with cp; mirror reads or writes a registry")
				case dstLocal:
					if _, err := f.client().ParseReference(args[0]); err != nil {
						return usageErrorf("%v", err)
					}
					return f.export(ctx, s, f.client(), []string{args[0]}, dst)
				case srcLocal:
					return f.importLayout(ctx, s, f.client(), src, strings.TrimSuffix(args[1], "/"))
				}
			}
			pairs, err := f.pairs(args)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), f.Timeout)
			defer cancel()
			return runMirror(ctx, s, f.client(), pairs, f)
		},
	}
	f.registryFlags.add(c, 30*time.Minute, s)
	c.Flags().StringVar(&f.FromFile, "from-file", "", "file of 'SRC DST' lines ('-' for stdin; # starts a comment)")
	c.Flags().BoolVar(&f.Closure, "closure", false, "SRC DST-PREFIX: mirror SRC and every package it depends on (dependsOn, recursively, versions resolved as Crossplane does) under DST-PREFIX, keeping repository paths")
	c.Flags().BoolVar(&f.EmitImageConfig, "emit-imageconfig", false, "with --closure: print the ImageConfig that makes Crossplane v1.20+ pull the closure from the mirror, and the alternative for older versions")
	c.Flags().BoolVar(&f.Yes, "yes", false, "copy (without it, only the plan is shown)")
	c.Flags().BoolVar(&f.Force, "force", false, "move DST tags that point at a different digest")
	c.Flags().IntVarP(&f.Jobs, "jobs", "j", 4, "blobs copied in parallel per image")
	c.Flags().BoolVarP(&f.Quiet, "quiet", "q", false, "print only the summary")
	return c
}

func (f *mirrorFlags) pairs(args []string) ([]mirrorPair, error) {
	if f.Jobs < 1 {
		return nil, usageErrorf("--jobs must be at least 1")
	}
	if f.Timeout <= 0 {
		return nil, usageErrorf("--timeout must be positive")
	}
	var pairs []mirrorPair
	switch {
	case f.FromFile != "" && len(args) > 0:
		return nil, usageErrorf("give SRC DST or --from-file, not both")
	case f.FromFile != "":
		var r io.Reader = os.Stdin
		if f.FromFile != "-" {
			fh, err := os.Open(f.FromFile)
			if err != nil {
				return nil, usageErrorf("--from-file: %v", err)
			}
			defer fh.Close()
			r = fh
		}
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
				return nil, usageErrorf("%s:%d: want 'SRC DST', got %q", f.FromFile, n, line)
			}
			pairs = append(pairs, mirrorPair{fields[0], fields[1]})
		}
		if err := sc.Err(); err != nil {
			return nil, usageErrorf("--from-file: %v", err)
		}
	case len(args) == 2:
		pairs = []mirrorPair{{args[0], args[1]}}
	default:
		return nil, usageErrorf("want SRC DST, or --from-file FILE")
	}
	c := f.client()
	for _, p := range pairs {
		for _, r := range []string{p.src, p.dst} {
			if _, err := c.ParseReference(r); err != nil {
				return nil, usageErrorf("%v", err)
			}
		}
	}
	return pairs, nil
}

// imagesAtOnce is how many packages of a --from-file list are planned and
// copied concurrently; small packages are latency-bound (peers.md s.5.3).
const imagesAtOnce = 4

// forEach runs fn(i) for i in [0,n), imagesAtOnce at a time, and returns
// the error of the lowest index that failed.
func forEach(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, imagesAtOnce)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func runMirror(ctx context.Context, s IOStreams, c *xpkg.Client, pairs []mirrorPair, f *mirrorFlags) error {
	plans := make([]*xpkg.CopyPlan, len(pairs))
	err := forEach(len(pairs), func(i int) error {
		src, _ := c.ParseReference(pairs[i].src)
		dst, _ := c.ParseReference(pairs[i].dst)
		p, err := c.PlanCopy(ctx, src, dst, f.Force)
		plans[i] = p
		return err
	})
	if err != nil {
		return err
	}
	conflicts := 0
	var toCopy int64
	for _, p := range plans {
		if p.Conflict != "" {
			conflicts++
		} else {
			toCopy += p.BytesToCopy
		}
		if !f.Quiet {
			printPlan(s.Out, p)
		}
	}
	if !f.Yes {
		fmt.Fprintln(s.Out, "\nNothing was changed. Run again with --yes to copy.")
		if conflicts > 0 {
			return errFindings
		}
		return nil
	}
	targets, _ := crossplane.Select(nil)
	start := time.Now()
	progress, finish := copyProgress(s.Out, f.Quiet, toCopy)
	results := make([]*xpkg.CopyResult, len(plans))
	lines := make([]string, len(plans))
	err = forEach(len(plans), func(i int) error {
		p := plans[i]
		switch {
		case p.Conflict != "":
			lines[i] = fmt.Sprintf("skipped %s: %s", p.Destination, p.Conflict)
			return nil
		case p.Current:
			lines[i] = fmt.Sprintf("%s is already %s", p.Destination, p.Digest)
			return nil
		}
		res, err := c.Copy(ctx, p, f.Jobs, progress)
		if err != nil {
			return fmt.Errorf("copying %s to %s: %w", p.Source, p.Destination, err)
		}
		if err := c.Verify(ctx, p); err != nil {
			return fmt.Errorf("verifying %s: %w", p.Destination, err)
		}
		results[i] = res
		verdicts, err := judgeCopy(ctx, c, p.Destination, targets)
		if err != nil {
			return err
		}
		lines[i] = fmt.Sprintf("copied %s -> %s: verified %s; %s", p.Source, p.Destination, p.Digest, verdicts)
		return nil
	})
	finish()
	var total xpkg.CopyResult
	for i, res := range results {
		if !f.Quiet && lines[i] != "" {
			fmt.Fprintln(s.Out, lines[i])
		}
		if res == nil {
			continue
		}
		total.BlobsCopied += res.BlobsCopied
		total.BlobsSkipped += res.BlobsSkipped
		total.BlobsMounted += res.BlobsMounted
		total.ManifestsPushed += res.ManifestsPushed
		total.BytesCopied += res.BytesCopied
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "%d blobs copied (%s), %d mounted, %d already present, %d manifests pushed, in %s\n",
		total.BlobsCopied, crossplane.HumanBytes(total.BytesCopied), total.BlobsMounted, total.BlobsSkipped, total.ManifestsPushed, time.Since(start).Round(time.Millisecond))
	if conflicts > 0 {
		return errFindings
	}
	return nil
}

// judgeCopy re-runs the inspect verdict on what was just written and
// summarises it: "v1.13 BaseLayer, ..., v2.2+ BaseLayer".
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

func printPlan(w io.Writer, p *xpkg.CopyPlan) {
	fmt.Fprintf(w, "PLAN %s -> %s\n", p.Source, p.Destination)
	if p.Current {
		fmt.Fprintf(w, "  up to date: both resolve to %s; nothing to copy\n", p.Digest)
		return
	}
	switch {
	case p.Conflict != "":
		fmt.Fprintf(w, "  tag:       CONFLICT %s\n", p.Conflict)
	case p.CurrentDigest == "":
		fmt.Fprintf(w, "  tag:       new, -> %s\n", p.Digest)
	case p.CurrentDigest == p.Digest:
		fmt.Fprintf(w, "  tag:       already %s\n", p.Digest)
	default:
		fmt.Fprintf(w, "  tag:       moves %s -> %s (--force)\n", p.CurrentDigest, p.Digest)
	}
	missing := func(items []xpkg.PlanItem) (n int) {
		for _, i := range items {
			if !i.Exists {
				n++
			}
		}
		return n
	}
	fmt.Fprintf(w, "  manifests: %d (%d to push)\n", len(p.Manifests), missing(p.Manifests))
	fmt.Fprintf(w, "  blobs:     %d (%d to copy, %d already present)\n", len(p.Blobs), missing(p.Blobs), len(p.Blobs)-missing(p.Blobs))
	fmt.Fprintf(w, "  to copy:   %s\n", crossplane.HumanBytes(p.BytesToCopy))
}

func (f *mirrorFlags) runClosure(ctx context.Context, s IOStreams, args []string) error {
	if len(args) != 2 || f.FromFile != "" {
		return usageErrorf("--closure wants SRC DST-PREFIX")
	}
	c := f.client()
	if _, err := c.ParseReference(args[0]); err != nil {
		return usageErrorf("%v", err)
	}
	prefix := strings.TrimSuffix(args[1], "/")
	airgap, toLayout := parseLocation(args[1])
	if _, err := name.NewRepository(prefix + "/x"); err != nil && !toLayout {
		return usageErrorf("DST-PREFIX %q must be REGISTRY[/PATH], oci:DIR or oci-archive:FILE.tar: %v", prefix, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	nodes, err := closure.Resolve(ctx, c, args[0])
	if err != nil {
		return fmt.Errorf("resolving the dependency closure: %w", err)
	}
	if toLayout {
		refs := make([]string, len(nodes))
		for i, n := range nodes {
			refs[i] = n.Ref
		}
		return f.export(ctx, s, c, refs, airgap)
	}
	if err := closure.CheckFamilies(prefix, nodes); err != nil {
		return err
	}
	if !f.Quiet {
		fmt.Fprintf(s.Out, "CLOSURE of %s (%d packages)\n", args[0], len(nodes))
		for _, n := range nodes {
			via := ""
			if n.Constraint != "" {
				via = fmt.Sprintf("  (%s, via %s)", n.Constraint, n.Chain[len(n.Chain)-2])
			}
			fmt.Fprintf(s.Out, "  %s %s%s\n", n.Kind, n.Ref, via)
		}
		fmt.Fprintln(s.Out)
	}
	pairs := make([]mirrorPair, len(nodes))
	for i, n := range nodes {
		pairs[i] = mirrorPair{src: n.Ref, dst: closure.Destination(prefix, n.Ref)}
	}
	err = runMirror(ctx, s, c, pairs, f)
	if f.EmitImageConfig {
		fmt.Fprintf(s.Out, "\n# Crossplane v1.20+: apply this so package and dependency sources resolve to the mirror.\n%s", closure.ImageConfigs(prefix, nodes))
		fmt.Fprintf(s.Out, "\n%s", closure.OlderCrossplane(prefix, nodes))
	}
	return err
}
