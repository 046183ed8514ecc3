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
	"time"

	"github.com/spf13/cobra"

	"github.com/xpdoctor/xpdoctor/pkg/doctor"
	"github.com/xpdoctor/xpdoctor/pkg/redact"
	"github.com/xpdoctor/xpdoctor/pkg/report"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Exit codes, as in `kubectl diff`: 0 clean, 1 findings, 2 errors.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// IOStreams are the command's standard streams, and the Redactor that
// holds the credentials this run uses: every text printed is redacted with
// it (report.Printer for reports, report.SafeWriter for plain lines).
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Redactor is made by NewRootCommand when nil.
	Redactor *redact.Redactor
}

// plain is s for commands that print plain lines (plans, summaries): their
// stdout is redacted and escaped line by line, as stderr always is.
func (s IOStreams) plain() IOStreams {
	s.Out = report.NewSafeWriter(s.Out, s.Redactor)
	return s
}

// structuredOut is stdout as given, for JSON and YAML: their encoders
// escape, and every value must stay exact (report.Printer redacts them).
func (s IOStreams) structuredOut() io.Writer {
	if sw, ok := s.Out.(*report.SafeWriter); ok {
		return sw.Unwrap()
	}
	return s.Out
}

// stopped turns xpdoctor's own --timeout or an interrupt into an error
// (exit 2): a report cut short by it would blame the registry.
func stopped(ctx context.Context, timeout time.Duration) error {
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return fmt.Errorf("xpdoctor's --timeout %s ran out before every registry answered: %w", timeout, ctx.Err())
	case context.Canceled:
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return nil
}

// errFindings ends a run that found problems: exit 1, nothing more to print.
var errFindings = errors.New("findings")

// usageError is a problem with the command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// Main runs the command line and returns the exit code. SIGINT and SIGTERM
// cancel the run, which then exits 130 or 143 (128 + the signal, as a shell
// reports kubectl killed by Ctrl-C), but for serve, which drains and exits
// 0; a second signal kills at once.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	ctx, interrupted, stop := interruptible(context.Background())
	defer stop()
	root := NewRootCommand(IOStreams{In: in, Out: out, ErrOut: errOut})
	root.SetArgs(args)
	ran, err := root.ExecuteContextC(ctx)
	if sig := interrupted(); sig != 0 {
		// serve runs until it is told to stop: that is its normal end.
		if err == nil && ran != nil && ran.Annotations[annotationStopsOnSignal] == "true" {
			return ExitOK
		}
		return 128 + sig
	}
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errFindings):
		return ExitFindings
	}
	var notFound *doctor.NotFoundError
	if errors.As(err, &notFound) {
		// kubectl's words and exit status for names that do not exist.
		fmt.Fprintln(root.ErrOrStderr(), notFound.Error())
		return ExitFindings
	}
	hint := ""
	if errors.Is(err, context.DeadlineExceeded) {
		hint = " (raise --timeout)"
	}
	// The error may quote a registry, a cluster or a file: root's stderr
	// is a SafeWriter.
	fmt.Fprintf(root.ErrOrStderr(), "error: %s%s\n", xpkg.Describe(err), hint)
	if isUsageError(err) && ran != nil {
		fmt.Fprintln(root.ErrOrStderr(), usageHint(ran))
	}
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
	if s.Redactor == nil {
		s.Redactor = redact.New()
	}
	s.ErrOut = report.NewSafeWriter(s.ErrOut, s.Redactor)
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
	rootDiag.add(root, s)
	rootDiag.reportFlags.add(root, diagnoseOutputs)
	root.Args = cobra.ArbitraryArgs
	rootDiag.addContexts(root)
	root.ValidArgsFunction = rootDiag.completeNames
	root.RunE = func(c *cobra.Command, args []string) error { return rootDiag.run(c.Context(), s, args) }
	root.AddCommand(newDiagnoseCommand(s, newDiagnoseFlags()), newInspectCommand(s), newMirrorCommand(s.plain()), newFixCommand(s.plain()), newDemoCommand(s.plain()), newServeCommand(s), newVersionCommand(s), newMCPCommand(s), newPreflightCommand(s), newBundleCommand(s))
	setUpCompletion(root, s)
	markUsageErrors(root)
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
