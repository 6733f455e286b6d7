package main

import (
	"github.com/spotdrill/spotdrill/internal/textsafe"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/scenarios"
)

// PlanOptions are the flags of `spotdrill plan`.
type PlanOptions struct {
	IO      *IOStreams
	File    string
	Seed    int64
	SeedSet bool
	Output  string
	Azure   AzureFlags
}

// NewCmdPlan is the dry run: what a game day would touch, and whether its
// limits allow it. runF replaces the plan in tests.
func NewCmdPlan(ios *IOStreams, runF func(*PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show what a game day would evict, without evicting anything",
		Long: `Plan resolves the scenario's targets and freezes them, then prints, wave by
wave, what would be evicted, what is excluded and why, and the worst-case
share of each pool and zone in flight. It exits 5 when the plan would break
a blast-radius limit: the run would refuse it too.

The plan freezes resource IDs, never counts: each wave may touch only the
VMs listed for it. Its digest is what "spotdrill run --confirm DIGEST"
pins: if the targets or the limits change before the run (a scale-out, a
replaced instance), the run refuses and shows the new plan.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			opts.SeedSet = cmd.Flags().Changed("seed")
			if runF != nil {
				return runF(opts)
			}
			return planRun(opts)
		},
	}
	cmd.Flags().Int64Var(&opts.Seed, "seed", 0, "random seed (default: the scenario's seed)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	addAzureFlags(cmd, &opts.Azure, false)
	return cmd
}

func planRun(opts *PlanOptions) error {
	if opts.Output != "text" && opts.Output != "json" {
		return withCode(ExitInvalid, fmt.Errorf("--output %q: expected text or json", opts.Output))
	}
	sc, _, err := loadScenario(opts.File)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	if opts.SeedSet {
		sc.Seed = opts.Seed
	}
	var p *experiments.Plan
	if sc.Target.Provider == scenarios.ProviderAzure {
		if _, err := experiments.AzureSelector(sc); err != nil {
			return withCode(ExitInvalid, err)
		}
		// Reading Azure can fail for reasons outside the scenario.
		if p, err = experiments.PlanAzure(context.Background(), sc, opts.Azure.options()); err != nil {
			return withCode(ExitInternal, err)
		}
	} else if p, err = experiments.PlanScenario(context.Background(), sc); err != nil {
		return withCode(ExitInvalid, err)
	}
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return withCode(ExitInternal, err)
		}
	} else if err := writePlan(opts.IO.Out, p); err != nil {
		return withCode(ExitInternal, err)
	}
	if !p.OK() {
		return withCode(ExitRefused, errors.New("the plan breaks the scenario's blast-radius limits: nothing would be evicted"))
	}
	return nil
}

// listLimit is how many targets or exclusions a printed plan lists one by
// one; a larger plan is summed up (its JSON lists them all).
const listLimit = 50

// writePlan prints a plan for a person deciding whether to run it.
func writePlan(w io.Writer, p *experiments.Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plan · %s\n  provider %s · seed %d · starts %s\n\n", p.Scenario, p.Provider, p.Seed, p.Start.Format("Mon 2006-01-02 15:04 MST"))
	pools, zones := map[string]int{}, map[string]int{}
	for _, t := range p.Targets {
		pools[t.Pool]++
		zones[t.Zone]++
	}
	if p.Provider == scenarios.ProviderAzure {
		fmt.Fprintf(&b, "Digest   %s  (confirm with --confirm %s)\n", p.Digest, p.ShortDigest())
	} else {
		fmt.Fprintf(&b, "Digest   %s\n", p.Digest)
	}
	fmt.Fprintf(&b, "Targets  %d Spot VMs frozen by resource ID · pools %s · zones %s\n", len(p.Targets), counts(pools), counts(zones))
	if len(p.Targets) <= listLimit {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, t := range p.Targets {
			if t.ID == t.Name { // the simulated fleet's IDs are its names
				fmt.Fprintf(tw, "  %s\tpool %s\tzone %s\n", t.Name, t.Pool, zoneLabel(t.Zone))
			} else {
				fmt.Fprintf(tw, "  %s\tpool %s\tzone %s\t%s\n", t.Name, t.Pool, zoneLabel(t.Zone), t.ID)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	switch {
	case len(p.Excluded) == 0:
		b.WriteString("Excluded none\n")
	case len(p.Excluded) <= listLimit:
		fmt.Fprintf(&b, "Excluded %d VMs\n", len(p.Excluded))
		for _, e := range p.Excluded {
			fmt.Fprintf(&b, "  %s %s\n", e.VM, e.Reason)
		}
	default:
		reasons := map[string]int{}
		for _, e := range p.Excluded {
			reasons[e.Reason]++
		}
		fmt.Fprintf(&b, "Excluded %d VMs: %s\n", len(p.Excluded), counts(reasons))
	}
	b.WriteString("\nLimits\n")
	for _, l := range p.Limits {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "\nWaves (each picks at random from seed %d among the VMs this plan froze for it that still run when it fires)\n", p.Seed)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, wv := range p.Waves {
		at := scenarios.FormatSeconds(wv.At)
		if wv.Fault {
			fmt.Fprintf(tw, "  %s\t%s\t%s\tmarket fault (simulated fleet)\n", at, wv.Name, wv.What)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d of %d eligible\tworst case in flight: %s\n", at, wv.Name, wv.What, wv.Count, wv.Eligible, shares(wv))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nPlanned cost $%.2f\n", p.PlannedCost)
	if p.OK() {
		b.WriteString("\n✓ The plan is within every limit. Each eviction is checked again when it happens.\n")
	} else {
		b.WriteString("\n✗ REFUSED: the plan breaks the blast radius:\n")
		for _, prob := range p.Problems {
			fmt.Fprintf(&b, "  - %s\n", prob)
		}
	}
	_, err := io.WriteString(w, textsafe.Lines(b.String()))
	return err
}

func shares(w experiments.PlanWave) string {
	var parts []string
	for _, k := range sortedNames(w.PoolShare) {
		s := fmt.Sprintf("pool %s %s", k, percent(w.PoolShare[k]))
		if c := w.Cumulative[k]; c > w.PoolShare[k] {
			s += fmt.Sprintf(" (%s if no earlier wave recovered)", percent(c))
		}
		parts = append(parts, s)
	}
	for _, k := range sortedNames(w.ZoneShare) {
		parts = append(parts, fmt.Sprintf("zone %s %s", zoneLabel(k), percent(w.ZoneShare[k])))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func percent(f float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", f*100), "0"), ".") + "%"
}

func zoneLabel(z string) string {
	if z == "" {
		return "(none)"
	}
	return z
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedNames(m) {
		parts = append(parts, fmt.Sprintf("%s: %d", zoneLabel(k), m[k]))
	}
	return strings.Join(parts, ", ")
}
