// Command spotdrill runs chaos-engineering game days on Azure Spot VMs, or
// on the built-in simulated Spot fleet.
package main

import (
	"os"

	"golang.org/x/term"
)

func main() {
	ios := &IOStreams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		InTerminal:  term.IsTerminal(int(os.Stdin.Fd())),
		ErrTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		OutTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	}
	os.Exit(Execute(os.Args[1:], ios))
}
