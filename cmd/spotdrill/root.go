package main

import (
	"github.com/spotdrill/spotdrill/internal/textsafe"

	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

// Exit codes, the contract with CI systems.
const (
	ExitOK       = 0 // all SLOs met
	ExitInternal = 1 // a bug or an environment failure
	ExitInvalid  = 2 // bad flags or scenario
	ExitSLO      = 3 // an SLO failed
	ExitAborted  = 4 // an abort condition, the halt key or a signal
	ExitRefused  = 5 // refused for safety
)

// IOStreams are the command's standard streams, injected so that every
// command runs in tests without a terminal.
type IOStreams struct {
	In          io.Reader
	Out, Err    io.Writer
	InTerminal  bool
	OutTerminal bool
	ErrTerminal bool
}

// exitError carries an exit code with the error that caused it. Commands
// return it; Execute maps it to the process exit status in one place.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err with an exit code. A nil err with a non-zero code is
// an outcome (an SLO failed) that has already been reported.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// NewRootCmd builds the command tree.
func NewRootCmd(ios *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "spotdrill",
		Short: "Chaos-engineering game days for Azure Spot VMs",
		Long: `spotdrill rehearses Azure Spot evictions: it evicts Spot VMs on a schedule,
on Azure (simulateEviction) or on a built-in simulated Spot fleet, observes
how the workload recovers, and grades time-to-recover and lost work against
your SLOs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(ExitInvalid, err) })
	root.AddCommand(
		NewCmdRun(ios, nil),
		NewCmdValidate(ios),
		NewCmdPlan(ios, nil),
		NewCmdTargets(ios, nil),
		NewCmdReport(ios),
		NewCmdSweep(ios),
		NewCmdVersion(ios),
		NewCmdEmulate(ios, nil),
	)
	return root
}

// Execute runs the command line and returns the process exit code.
func Execute(args []string, ios *IOStreams) int {
	root := NewRootCmd(ios)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(ios, ee.err)
		}
		return ee.code
	}
	printError(ios, err)
	// Cobra's own argument and flag errors are the user's input.
	if isUsageError(err) {
		return ExitInvalid
	}
	return ExitInternal
}

func isUsageError(err error) bool {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return false
	}
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument", "flag needs"} {
		if len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

// printError is where every error reaches the terminal: each line of it
// escaped, since errors quote names, tags and answers from outside.
func printError(ios *IOStreams, err error) {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = textsafe.Clean(l)
	}
	fmt.Fprintln(ios.Err, "spotdrill:", strings.Join(lines, "\n"))
}
