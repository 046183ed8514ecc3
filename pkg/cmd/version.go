package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/version"
)

// versionReport is `version -o json|yaml`: a versioned object like the
// other reports.
type versionReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	version.Info
}

func newVersionCommand(s IOStreams) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "version",
		Short:   "Print xpdoctor's version, commit, build date and Go version",
		Example: exampleText("$0 version", "$0 version -o json"),
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			f, err := report.ParseFormat(output, report.Table, report.JSON, report.YAML)
			if err != nil {
				return usageErrorf("%v", err)
			}
			v := version.Get()
			if f != report.Table {
				return report.Printer{Format: f}.Structured(s.Out, versionReport{APIVersion: inspect.APIVersion, Kind: "Version", Info: v})
			}
			_, err = fmt.Fprintf(s.Out, "xpdoctor %s (commit %s, built %s, %s, %s)\n", v.Version, v.Commit, v.BuildDate, v.GoVersion, v.Platform)
			return err
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml (default: one line)")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}
