package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/journal"
)

// NewCmdVersion prints the version, the Go runtime and the journal schema.
func NewCmdVersion(ios *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(ios.Out, "spotdrill %s (%s, journal schema %d)\n", Version, runtime.Version(), journal.SchemaVersion)
			return err
		},
	}
}
