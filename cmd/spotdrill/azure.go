package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// AzureFlags are the flags that reach Azure, shared by run and plan.
type AzureFlags struct {
	Cloud           string
	ARMEndpoint     string
	Rate            float64
	Burst           int
	PollInterval    time.Duration
	EvictionTimeout time.Duration
	// Options is the base the flags fill in; tests point its transport at
	// the SDK's fake servers.
	Options experiments.AzureOptions
}

func addAzureFlags(cmd *cobra.Command, f *AzureFlags, run bool) {
	cmd.Flags().StringVar(&f.Cloud, "cloud", azure.CloudPublic, "Azure cloud: AzurePublic, AzureChina or AzureGovernment")
	cmd.Flags().StringVar(&f.ARMEndpoint, "arm-endpoint", "", "custom Resource Manager endpoint, such as the emulator's http://127.0.0.1:PORT")
	if !run {
		return
	}
	cmd.Flags().Float64Var(&f.Rate, "eviction-rate", azure.DefaultRate, "simulateEviction calls per second (Azure refills 10 writes/s)")
	cmd.Flags().IntVar(&f.Burst, "eviction-burst", azure.DefaultBurst, "simulateEviction calls at once (Azure's bucket holds 200)")
	cmd.Flags().DurationVar(&f.PollInterval, "poll-interval", experiments.DefaultPollInterval, "how often power states are polled")
	cmd.Flags().DurationVar(&f.EvictionTimeout, "eviction-timeout", azure.DefaultEvictionTimeout, "how long an accepted eviction may take to land")
}

func (f *AzureFlags) options() experiments.AzureOptions {
	o := f.Options
	o.Client.Cloud, o.Client.ARMEndpoint = f.Cloud, f.ARMEndpoint
	o.Client.Rate, o.Client.Burst = f.Rate, f.Burst
	o.PollInterval, o.EvictionTimeout = f.PollInterval, f.EvictionTimeout
	return o
}

// newWorld builds the world a scenario runs in. An Azure world follows the
// bus for the name of the wave in progress.
func newWorld(sc *scenarios.Scenario, bus *journal.Bus, az *AzureFlags, observer sim.Observer) (experiments.World, error) {
	if sc.Target.Provider != scenarios.ProviderAzure {
		return experiments.NewSimWorld(sc, bus, sim.Options{Observer: observer})
	}
	w, err := experiments.NewAzureWorld(sc, bus, az.options())
	if err != nil {
		return nil, err
	}
	if s, ok := w.(journal.Sink); ok {
		bus.Subscribe(s)
	}
	return w, nil
}

// ConfirmAny is the --confirm value that goes ahead with whatever plan is
// frozen at the start (scheduled runs against a fleet whose instances
// change); the journal still records the digest that was run.
const ConfirmAny = "any"

// confirmPlan is the run's last safety step on Azure: it prints the frozen
// plan with its digest and goes on when --confirm names that digest (or is
// "any"), or when the person at the terminal types the digest's first 12
// hex digits. Without either, nothing is evicted (exit 5). The question
// gives way to the kill switch.
func confirmPlan(ctx context.Context, ios *IOStreams, sc *scenarios.Scenario, confirm string) func(*experiments.Plan) bool {
	if sc.Target.Provider != scenarios.ProviderAzure {
		return nil
	}
	return func(p *experiments.Plan) bool {
		if err := writePlan(ios.Err, p); err != nil {
			return false
		}
		switch {
		case strings.EqualFold(confirm, ConfirmAny):
			fmt.Fprintf(ios.Err, "\n--confirm any: evicting real Azure VMs from the plan above (digest %s).\n", p.ShortDigest())
			return true
		case confirm != "" && p.Matches(confirm):
			fmt.Fprintf(ios.Err, "\n--confirm %s: the plan above is the one confirmed; evicting real Azure VMs from it.\n", p.ShortDigest())
			return true
		case confirm != "":
			fmt.Fprintf(ios.Err, "\nspotdrill: --confirm %s does not match this plan (digest %s): the targets or the limits changed since it was confirmed; nothing was evicted. Review the plan above and confirm its digest.\n",
				confirm, p.ShortDigest())
			return false
		case !ios.InTerminal:
			fmt.Fprintf(ios.Err, "\nspotdrill: a run against Azure needs --confirm %s (the plan's digest) or an interactive yes: nothing was evicted\n", p.ShortDigest())
			return false
		}
		fmt.Fprintf(ios.Err, "\nThis evicts real Azure Spot VMs. Type the plan's digest (%s) to go on: ", p.ShortDigest())
		answer := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(ios.In).ReadString('\n')
			answer <- strings.TrimSpace(line)
		}()
		select {
		case a := <-answer:
			return p.Matches(a)
		case <-ctx.Done():
			return false
		}
	}
}
