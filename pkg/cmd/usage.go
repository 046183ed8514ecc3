package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// usageHint ends a usage error as kubectl ends one (cmdutil.UsageErrorf,
// k8s.io/kubectl@v0.37.2 pkg/cmd/util/helpers.go): the command to ask for
// help, with the name the user typed ("kubectl xpdoctor diagnose").
func usageHint(c *cobra.Command) string {
	return fmt.Sprintf("See '%s -h' for help and examples.", c.CommandPath())
}

// isUsageError tells a problem with the command line from a failed run.
func isUsageError(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// markUsageErrors makes cobra's own command-line errors usage errors: an
// unknown flag or a bad flag value (FlagErrorFunc, which subcommands
// inherit), and a wrong number of arguments (each command's Args).
func markUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if args := c.Args; args != nil {
			c.Args = func(c *cobra.Command, a []string) error {
				if err := args(c, a); err != nil {
					return &usageError{msg: err.Error()}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
