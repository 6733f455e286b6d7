package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// NewCmdValidate checks scenario files and reports every problem at once.
func NewCmdValidate(ios *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files without running them",
		Long: `Validate decodes and checks each scenario file and prints every problem it
finds as file:line:col: field: what is wrong (expected ...). It exits 2 when
any file has a problem.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			bad := 0
			for _, f := range files {
				sc, _, err := loadScenario(f)
				if err != nil {
					bad++
					fmt.Fprintln(ios.Err, err)
					continue
				}
				fmt.Fprintf(ios.Out, "%s: ok (%s: %s, %s, provider %s)\n", f, sc.Metadata.Name, plural(len(sc.Waves), "wave"), plural(len(sc.SLOs), "SLO"), sc.Target.Provider)
			}
			if bad > 0 {
				return withCode(ExitInvalid, errors.New(plural(bad, "scenario file")+" with problems"))
			}
			return nil
		},
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
