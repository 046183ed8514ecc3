package diagnose_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xpdoctor/xpdoctor/pkg/diagnose"
	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// xpdoctor as the corpus meets it: the classifier, and doctor.Run (the
// entry point of diagnose, fix and demo) on the report's support dump,
// without registry access (--inspect none: the reports' registries are
// not ours to read).
var current = corpusSubject{
	classify: func(msg string) classified {
		c, ok := diagnose.Classify(msg)
		also := append(slices.Clone(c.Also), diagnose.Refinements(c.Code)...)
		return classified{Code: c.Code, Also: also, OK: ok}
	},
	diagnose: func(t *testing.T, dump []byte, kind, name string) pkgVerdict {
		path := filepath.Join(t.TempDir(), "dump.yaml")
		if err := os.WriteFile(path, dump, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := doctor.Run(context.Background(), doctor.Options{FromFile: path, Inspect: doctor.InspectNone, Now: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatalf("%v\n%s", err, dump)
		}
		var v pkgVerdict
		for _, p := range res.Report.Packages {
			if p.Kind == kind && p.Name == name {
				v.Code = p.Finding
			}
		}
		for _, f := range res.Report.Findings {
			if f.Subject == (findings.Subject{Kind: kind, Name: name}) && f.Code == v.Code {
				v.Message, v.Fix, v.Alternatives = f.Message, f.Remediation, f.Alternatives
				break
			}
		}
		return v
	},
}

// knownMisses are corpus entries xpdoctor does not name correctly, and why.
// The test fails when one of them starts passing (take it off) and when an
// entry not listed fails.
var knownMisses = map[string]string{
	"upjet-aws-1909":  "the message is an event on a ManagedResourceDefinition and names the revisions redacted; diagnose reads the events of packages and revisions, so nothing ties it to a package",
	"xp-3423":         "an outdated dependency reference reads like an unreachable one in the message alone; the registry tells them apart (the repository does not exist), and the corpus run reads no registry",
	"upjet-gcp-818":   "the only evidence is the provider pod's log, which xpdoctor does not read; in a cluster the family label and the sources of the revisions show the mismatch, and the report shows neither",
	"upjet-azure-471": "the only evidence is the provider pod's log, which xpdoctor does not read; the cause (Crossplane v1.12.0 predates family RBAC) is in the thread",
	"upjet-azure-470": "the only evidence is the provider pod's log, which xpdoctor does not read; the cause (Crossplane v1.12.0 predates family RBAC) is in the thread",
	"xp-4263":         "RevisionAwaitingActivation is a lifecycle state (issue 18); the report shows only a kubectl listing",
	"xp-4511":         "the constraint the installed provider misses (>=v0.35.1) is in the thread, not in the message (the pre-v1.16 format names only the package); xpdoctor reads it from the package's dependsOn when it inspects the image",
	"xp-5917":         "the report quotes only CLI output; that an admission webhook refused the dependency is in the Lock's status, which it does not show",
	"xpdocs-887":      "the report shows only a kubectl listing; the family label that makes the two packages one family is on the revisions, which it does not show",
}

func TestCorpus(t *testing.T) {
	var rs []corpusResult
	for _, e := range loadCorpus(t) {
		r := judge(t, current, e)
		rs = append(rs, r)
		if os.Getenv("XPDOCTOR_CORPUS_VERBOSE") != "" {
			t.Logf("%s: %s (alternatives %v)\n  message: %s\n  fix: %s", e.ID, r.diagnosed.Code, r.diagnosed.Alternatives, r.diagnosed.Message, r.diagnosed.Fix)
		}
		why, known := knownMisses[e.ID]
		switch {
		case !r.named() && !known:
			t.Errorf("%s (%s) %s: classifier %v %s; diagnose %q %s", e.ID, e.file, e.URL, r.classifiedCodes, r.classifierWhy, r.diagnosed.Code, r.diagnoseWhy)
		case r.named() && known:
			t.Errorf("%s is named correctly now: take it off knownMisses (%s)", e.ID, why)
		}
	}
	t.Log(summary(rs))
	t.Log("by established cause:\n" + byCode(rs))
	t.Log("by Crossplane version:\n" + byVersion(rs))
}
