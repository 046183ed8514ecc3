// Package cmd is xpdoctor's command tree. Each command maps flags to
// options, validates them and calls the package that does the work.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes, as in `kubectl diff`: 0 clean, 1 findings, 2 errors.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// IOStreams are the command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// errFindings ends a run that found problems: exit 1, nothing more to print.
var errFindings = errors.New("findings")

// usageError is a problem with the command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// Main runs the command line and returns the exit code. SIGINT and SIGTERM
// cancel the run, which then exits 130 or 143 (128 + the signal, as a shell
// reports kubectl killed by Ctrl-C); a second signal kills at once.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	ctx, interrupted, stop := interruptible(context.Background())
	defer stop()
	root := NewRootCommand(IOStreams{In: in, Out: out, ErrOut: errOut})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if sig := interrupted(); sig != 0 {
		return 128 + sig
	}
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errFindings):
		return ExitFindings
	}
	fmt.Fprintf(errOut, "error: %s\n", err)
	return ExitError
}

// interruptible cancels ctx on the first SIGINT or SIGTERM and then restores
// the default action, so that a second one ends a run that does not return.
// interrupted reports the signal's number, 0 when there was none.
func interruptible(parent context.Context) (ctx context.Context, interrupted func() int, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got atomic.Int32
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			signal.Stop(sigs)
			if n, ok := s.(syscall.Signal); ok {
				got.Store(int32(n))
			}
			cancel()
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() int { return int(got.Load()) }, func() {
		once.Do(func() { signal.Stop(sigs); close(done); cancel() })
	}
}

// displayName is "kubectl xpdoctor" when run as a kubectl plugin.
func displayName() string {
	base := filepath.Base(os.Args[0])
	if strings.HasPrefix(base, "kubectl-") || os.Getenv("KUBECTL_PLUGINS_CALLER") != "" {
		return "kubectl xpdoctor"
	}
	return "xpdoctor"
}

// NewRootCommand builds the whole command tree; it keeps no global state.
func NewRootCommand(s IOStreams) *cobra.Command {
	root := &cobra.Command{
		// The program's name, so that `completion bash` (and zsh, fish,
		// powershell) registers the name users run; help shows displayName.
		Use:   "kubectl-xpdoctor",
		Short: "Find why a Crossplane package will not come up, and fix it",
		Long: `xpdoctor explains why a Crossplane Provider, Function or Configuration is not
healthy, in private and air-gapped clusters above all: it reads the package
image the way each Crossplane version does, names the real cause with a stable
finding code and evidence, and re-mirrors broken packages byte-for-byte.`,
		Example: exampleText(
			"# Why is any Crossplane package unhealthy? (same as: $0 diagnose)",
			"$0",
			"",
			"# See it work without a cluster",
			"$0 demo",
		),
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: displayName()},
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	// `kubectl xpdoctor` alone is `kubectl xpdoctor diagnose`.
	rootDiag := newDiagnoseFlags()
	rootDiag.add(root)
	root.Args = cobra.ArbitraryArgs
	root.ValidArgsFunction = rootDiag.completeNames
	root.RunE = func(c *cobra.Command, args []string) error { return rootDiag.run(c.Context(), s, args) }
	root.AddCommand(newDiagnoseCommand(s, newDiagnoseFlags()), newInspectCommand(s), newMirrorCommand(s), newFixCommand(s), newDemoCommand(s), newVersionCommand(s))
	setUpCompletion(root, s)
	return root
}

// exampleText renders examples with the name the user typed.
func exampleText(lines ...string) string {
	name := displayName()
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = "  " + strings.ReplaceAll(l, "$0", name)
	}
	return strings.Join(out, "\n")
}
