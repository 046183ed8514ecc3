package cmd

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// location is a mirror endpoint: a registry reference or prefix, an OCI
// layout directory (oci:PATH) or a tarball of one (oci-archive:PATH.tar).
type location struct {
	layout, archive string
}

func parseLocation(s string) (location, bool) {
	switch {
	case strings.HasPrefix(s, "oci:"):
		return location{layout: strings.TrimPrefix(s, "oci:")}, true
	case strings.HasPrefix(s, "oci-archive:"):
		return location{archive: strings.TrimPrefix(s, "oci-archive:")}, true
	}
	return location{}, false
}

// export writes refs into a layout or archive (plan first, --yes to write).
func (f *mirrorFlags) export(ctx context.Context, s IOStreams, c *xpkg.Client, refs []string, dst location) error {
	fmt.Fprintf(s.Out, "EXPORT %d reference(s) to %s%s\n", len(refs), dst.layout, dst.archive)
	for _, r := range refs {
		fmt.Fprintf(s.Out, "  %s\n", r)
	}
	if !f.Yes {
		fmt.Fprintln(s.Out, "\nNothing was changed. Run again with --yes to write.")
		return nil
	}
	dir := dst.layout
	if dst.archive != "" {
		tmp, err := os.MkdirTemp("", "xpdoctor-export")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	var parsed []name.Reference
	for _, r := range refs {
		ref, err := c.ParseReference(r)
		if err != nil {
			return err
		}
		parsed = append(parsed, ref)
	}
	res, err := c.Export(ctx, parsed, xpkg.Layout{Dir: dir})
	if err != nil {
		return err
	}
	if dst.archive != "" {
		if err := xpkg.PackLayout(dir, dst.archive); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.Out, "exported %d reference(s): %d blobs written (%s), %d already there; index.json records each reference\n",
		len(res.References), res.BlobsCopied, crossplane.HumanBytes(res.BytesCopied), res.BlobsHad)
	return nil
}

// importLayout pushes every reference a layout records to prefix + its path.
func (f *mirrorFlags) importLayout(ctx context.Context, s IOStreams, c *xpkg.Client, src location, prefix string) error {
	dir := src.layout
	if src.archive != "" {
		tmp, err := os.MkdirTemp("", "xpdoctor-import")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := xpkg.UnpackLayout(src.archive, tmp); err != nil {
			return err
		}
		dir = tmp
	}
	l := xpkg.Layout{Dir: dir}
	items, err := c.PlanImport(ctx, l, prefix, f.Force)
	if err != nil {
		return err
	}
	conflicts := 0
	for _, it := range items {
		fmt.Fprintf(s.Out, "IMPORT %s -> %s\n", it.Source, it.Destination)
		switch {
		case it.Conflict != "":
			conflicts++
			fmt.Fprintf(s.Out, "  tag: CONFLICT %s\n", it.Conflict)
		case it.CurrentDigest == it.Digest:
			fmt.Fprintf(s.Out, "  tag: already %s\n", it.Digest)
		case it.CurrentDigest == "":
			fmt.Fprintf(s.Out, "  tag: new, -> %s\n", it.Digest)
		default:
			fmt.Fprintf(s.Out, "  tag: moves %s -> %s (--force)\n", it.CurrentDigest, it.Digest)
		}
	}
	if !f.Yes {
		fmt.Fprintln(s.Out, "\nNothing was changed. Run again with --yes to import.")
		if conflicts > 0 {
			return errFindings
		}
		return nil
	}
	targets, _ := crossplane.Select(nil)
	for _, it := range items {
		if it.Conflict != "" {
			continue
		}
		res, err := c.Import(ctx, l, it, f.Jobs)
		if err != nil {
			return fmt.Errorf("importing %s: %w", it.Destination, err)
		}
		ref, _ := c.ParseReference(it.Destination)
		got, err := c.GetManifest(ctx, ref)
		if err != nil {
			return fmt.Errorf("verifying %s: %w", it.Destination, err)
		}
		if got.Digest.String() != it.Digest {
			return fmt.Errorf("verifying %s: it resolves to %s, not the exported %s; was the tag moved meanwhile?", it.Destination, got.Digest, it.Digest)
		}
		verdicts, err := judgeCopy(ctx, c, it.Destination, targets)
		if err != nil {
			return err
		}
		if !f.Quiet {
			fmt.Fprintf(s.Out, "imported %s: %s, %d blobs pushed (%s), %d present; %s\n", it.Destination, it.Digest, res.BlobsCopied,
				crossplane.HumanBytes(res.BytesCopied), res.BlobsHad, verdicts)
		}
	}
	if conflicts > 0 {
		return errFindings
	}
	return nil
}
