package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
)

// TransferAPIVersion versions the JSON of transfer plans and results.
const TransferAPIVersion = "xpdoctor.io/v1alpha1"

// transferPlanDoc is a plan as JSON: kind TransferPlan.
type transferPlanDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	*transfer.Plan
}

// TransferResultDoc is a result as JSON: kind TransferResult; each item
// carries the digest its destination names afterwards, as crane prints it.
type transferResultDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	*transfer.Result
	// Verdicts are the Crossplane verdicts per destination, when judged.
	Verdicts map[string]string `json:"verdicts,omitempty"`
}

// TransferPlan renders a plan: one block per reference, then what a run
// with --yes would send in all. Its lines quote registry answers (a
// conflict): they go through a SafeWriter.
func (pr Printer) TransferPlan(w io.Writer, p *transfer.Plan) error {
	if pr.Format == JSON || pr.Format == YAML {
		return pr.Structured(w, transferPlanDoc{APIVersion: TransferAPIVersion, Kind: "TransferPlan", Plan: p})
	}
	w = pr.human(w)
	for _, it := range p.Items {
		fmt.Fprintf(w, "PLAN %s -> %s\n", it.Source, it.Destination)
		switch it.Action {
		case transfer.UpToDate:
			fmt.Fprintf(w, "  up to date: the destination already names these exact bytes (%s); %s; nothing to copy\n", it.Digest, presentCounts(len(it.Manifests), len(it.Blobs), it.NotWalked))
			continue
		case transfer.Conflict:
			fmt.Fprintf(w, "  tag:       CONFLICT %s\n", it.Conflict)
		case transfer.Move:
			fmt.Fprintf(w, "  tag:       moves %s -> %s (--force)\n", it.CurrentDigest, it.Digest)
		default:
			fmt.Fprintf(w, "  tag:       new, -> %s\n", it.Digest)
		}
		mm, mb := it.Missing()
		fmt.Fprintf(w, "  manifests: %d (%d to push, %d already present)\n", len(it.Manifests), mm, len(it.Manifests)-mm)
		fmt.Fprintf(w, "  blobs:     %d (%d to copy, %d already present)\n", len(it.Blobs), mb, len(it.Blobs)-mb)
		fmt.Fprintf(w, "  to copy:   %s\n", crossplane.HumanBytes(it.BytesToCopy))
	}
	if len(p.Items) > 1 {
		fmt.Fprintf(w, "TOTAL %d references, %s to copy\n", len(p.Items), crossplane.HumanBytes(p.BytesToCopy))
	}
	for _, s := range p.Space {
		free := "unknown"
		if s.Free >= 0 {
			free = crossplane.HumanBytes(s.Free)
		}
		fmt.Fprintf(w, "DISK %s needs %s, %s free\n", s.Path, crossplane.HumanBytes(s.Need), free)
	}
	return nil
}

// TransferResult renders what an execution did: a line per reference
// (unless quiet) and a summary that counts what happened.
func (pr Printer) TransferResult(w io.Writer, r *transfer.Result, verdicts map[string]string, quiet bool) error {
	if pr.Format == JSON || pr.Format == YAML {
		return pr.Structured(w, transferResultDoc{APIVersion: TransferAPIVersion, Kind: "TransferResult", Result: r, Verdicts: verdicts})
	}
	w = pr.human(w)
	if !quiet {
		for _, it := range r.Items {
			v := ""
			if verdicts[it.Destination] != "" {
				v = "; " + verdicts[it.Destination]
			}
			switch it.Action {
			case transfer.Conflict:
				fmt.Fprintf(w, "skipped %s: %s\n", it.Destination, it.Conflict)
			case transfer.UpToDate:
				fmt.Fprintf(w, "up to date %s: %s (%s)%s\n", it.Destination, it.Digest, presentCounts(it.ManifestsPresent, it.BlobsPresent, it.NotWalked), v)
			default:
				fmt.Fprintf(w, "copied %s -> %s: %s, tag %s, verified%s\n", it.Source, it.Destination, it.Digest, it.Tag, v)
			}
		}
	}
	t := r.Totals()
	counts := map[transfer.Action]int{}
	for _, it := range r.Items {
		counts[it.Action]++
	}
	notWalked := 0
	for _, it := range r.Items {
		if it.NotWalked {
			notWalked++
		}
	}
	refs := []string{fmt.Sprintf("%d copied", counts[transfer.Copy]+counts[transfer.Move])}
	if n := counts[transfer.UpToDate]; n > 0 {
		refs = append(refs, fmt.Sprintf("%d up to date", n))
	}
	if n := counts[transfer.Conflict]; n > 0 {
		refs = append(refs, fmt.Sprintf("%d left alone (conflict)", n))
	}
	uncounted := ""
	if notWalked > 0 {
		uncounted = fmt.Sprintf(" (and those of %d up-to-date index(es), not walked)", notWalked)
	}
	fmt.Fprintf(w, "%d reference(s): %s. Blobs: %d copied (%s), %d mounted, %d already present%s. Manifests: %d pushed, %d already present. Tags: %d created, %d moved, %d unchanged.\n",
		len(r.Items), strings.Join(refs, ", "), t.BlobsCopied, crossplane.HumanBytes(t.BytesCopied), t.BlobsMounted, t.BlobsPresent, uncounted,
		t.ManifestsPushed, t.ManifestsPresent, r.Count(transfer.TagCreated), r.Count(transfer.TagMoved), r.Count(transfer.TagUnchanged))
	if counts[transfer.Copy]+counts[transfer.Move] > 0 || r.Verify == transfer.VerifyFull {
		fmt.Fprintf(w, "Verified: %s. In %s.\n", r.Verify.Describe(), r.Duration.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "Verified: each destination reference already names the exact source bytes (the graph was not re-read; --verify=full re-reads it). In %s.\n", r.Duration.Round(time.Millisecond))
	}
	return nil
}

// presentCounts says what an up-to-date reference holds.
func presentCounts(manifests, blobs int, notWalked bool) string {
	if notWalked {
		return fmt.Sprintf("%d manifests already present; their blobs not walked (--verify=full walks and checks them)", manifests)
	}
	return fmt.Sprintf("%d manifests and %d blobs already present", manifests, blobs)
}
