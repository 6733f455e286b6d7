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

	"github.com/spotdrill/spotdrill/blastradius"
	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/internal/kube"
	"github.com/spotdrill/spotdrill/scenarios"
)

// TargetsOptions are the flags of `spotdrill targets`.
type TargetsOptions struct {
	IO          *IOStreams
	File        string
	Output      string
	Cloud       string
	ARMEndpoint string
	// Azure connects to the subscription; tests point its transport at
	// the SDK's fake servers. --cloud and --arm-endpoint fill it in.
	Azure experiments.AzureOptions
}

// NewCmdTargets lists what a scenario would target in its subscription.
// runF replaces the listing in tests.
func NewCmdTargets(ios *IOStreams, runF func(*TargetsOptions) error) *cobra.Command {
	opts := &TargetsOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "targets FILE",
		Short: "List the Azure VMs a scenario would target, and why others are left out",
		Long: `Targets lists the VMs, scale-set instances and AKS nodes that an Azure
scenario's target.azure finds in its subscription, with their priority,
eviction policy, zone and power state, and gives the reason for every VM it
leaves out: outside the selectors, not Spot, or excluded by the blast radius.
It only reads: nothing is evicted.

Credentials come from DefaultAzureCredential: environment variables, workload
identity, managed identity or the Azure CLI's login. Exit codes: 0 something
is eligible, 2 invalid input, 5 nothing is eligible, 1 Azure could not be
read.`,
		Example: `  spotdrill targets scenarios/aks-spot-pool.yaml
  spotdrill targets game-day.yaml --output json | jq '.excluded[].reason'
  spotdrill targets game-day.yaml --arm-endpoint http://127.0.0.1:8443   # the emulator`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(opts)
			}
			return targetsRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&opts.Cloud, "cloud", azure.CloudPublic, "Azure cloud: AzurePublic, AzureChina or AzureGovernment")
	cmd.Flags().StringVar(&opts.ARMEndpoint, "arm-endpoint", "", "custom Resource Manager endpoint, such as the emulator's http://127.0.0.1:PORT")
	return cmd
}

// targetRow is one VM as `targets` shows it.
type targetRow struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	ResourceGroup  string            `json:"resourceGroup,omitempty"`
	Kind           string            `json:"kind,omitempty"`
	Pool           string            `json:"pool,omitempty"`
	Zone           string            `json:"zone,omitempty"`
	Priority       string            `json:"priority,omitempty"`
	EvictionPolicy string            `json:"evictionPolicy,omitempty"`
	PowerState     string            `json:"powerState,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	// Node and Pods are the instance's node in the AKS cluster and the pods
	// on it that count (target.azure.kubernetes).
	Node string        `json:"node,omitempty"`
	Pods []kube.PodRef `json:"pods,omitempty"`
}

// targetList is the output of `targets`.
type targetList struct {
	Scenario       string      `json:"scenario"`
	Subscription   string      `json:"subscription"`
	ResourceGroups []string    `json:"resourceGroups,omitempty"`
	Eligible       []targetRow `json:"eligible"`
	Excluded       []targetRow `json:"excluded"`
	// Cluster says the rows carry their nodes and pods.
	Cluster bool `json:"cluster,omitempty"`
}

func targetsRun(opts *TargetsOptions) error {
	if opts.Output != "text" && opts.Output != "json" {
		return withCode(ExitInvalid, fmt.Errorf("--output %q: expected text or json", opts.Output))
	}
	sc, _, err := loadScenario(opts.File)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	if sc.Target.Provider != scenarios.ProviderAzure {
		return withCode(ExitInvalid, fmt.Errorf("%s: provider %q: targets lists Azure VMs (for the simulated fleet, use spotdrill plan)", opts.File, sc.Target.Provider))
	}
	if _, err := experiments.AzureSelector(sc); err != nil {
		return withCode(ExitInvalid, fmt.Errorf("%s: %w", opts.File, err))
	}
	limits, err := experiments.Limits(sc.BlastRadius)
	if err != nil {
		return withCode(ExitInvalid, fmt.Errorf("%s: %w", opts.File, err))
	}
	if opts.Cloud != "" {
		opts.Azure.Client.Cloud = opts.Cloud
	}
	if opts.ARMEndpoint != "" {
		opts.Azure.Client.ARMEndpoint = opts.ARMEndpoint
	}
	inv, err := experiments.DiscoverAzure(context.Background(), sc, opts.Azure)
	if err != nil {
		return withCode(ExitInternal, err)
	}

	list := targetList{Scenario: sc.Metadata.Name, Subscription: inv.Subscription, ResourceGroups: inv.ResourceGroups,
		Eligible: []targetRow{}, Excluded: []targetRow{}}
	for _, v := range inv.VMs {
		r := targetRow{ID: v.ID, Name: v.Name, ResourceGroup: v.ResourceGroup, Kind: string(v.Kind), Pool: v.Pool(), Zone: v.Zone,
			Priority: v.Priority, EvictionPolicy: v.EvictionPolicy, PowerState: v.PowerState, Tags: v.Tags}
		// The same rules, in the same order, as the plan's.
		switch {
		case !v.Selected:
			r.Reason = v.Reason
		default:
			if _, why, out := blastradius.Ineligible(&limits, v.Target()); out {
				r.Reason = why
			}
		}
		if r.Reason == "" {
			list.Eligible = append(list.Eligible, r)
		} else {
			list.Excluded = append(list.Excluded, r)
		}
	}
	for _, id := range inv.Missing {
		list.Excluded = append(list.Excluded, targetRow{ID: id, Name: id, Reason: "node not found: no VM or scale-set instance has this providerID (replaced or deleted?)"})
	}
	if k := sc.Target.Azure.Kubernetes; k != nil {
		if err := clusterOf(sc, opts, list.Eligible); err != nil {
			return withCode(ExitInternal, err)
		}
		list.Cluster = true
	}
	for _, rows := range [][]targetRow{list.Eligible, list.Excluded} {
		sort.SliceStable(rows, func(i, j int) bool {
			if rows[i].Pool != rows[j].Pool {
				return rows[i].Pool < rows[j].Pool
			}
			return rows[i].Name < rows[j].Name
		})
	}

	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return withCode(ExitInternal, err)
		}
	} else if err := writeTargets(opts.IO.Out, &list); err != nil {
		return withCode(ExitInternal, err)
	}
	if len(list.Eligible) == 0 {
		return withCode(ExitRefused, errors.New("nothing eligible: no Spot VM that the scenario may evict (see the reasons above)"))
	}
	return nil
}

// clusterOf fills in, for an AKS game day, each eligible instance's node
// and the pods on it that count, read once from the Kubernetes API.
func clusterOf(sc *scenarios.Scenario, opts *TargetsOptions, rows []targetRow) error {
	k := sc.Target.Azure.Kubernetes
	client := opts.Azure.Kube
	if client == nil {
		var err error
		if client, err = experiments.KubeClient(k); err != nil {
			return err
		}
	}
	inv, err := kube.Inventory(context.Background(), client, kube.Options{
		Namespaces: k.Namespaces, Selector: k.Selector,
		NodeID: func(pid string) (string, error) { return azure.NodeID(pid, sc.Target.Azure.Subscription) },
	})
	if err != nil {
		return err
	}
	for i := range rows {
		if np, ok := inv[strings.ToLower(rows[i].ID)]; ok {
			rows[i].Node, rows[i].Pods = np.Node, np.Pods
		}
	}
	return nil
}

// writeTargets prints the list for a person checking a scenario's aim.
func writeTargets(w io.Writer, l *targetList) error {
	var b strings.Builder
	groups := "every resource group"
	if len(l.ResourceGroups) > 0 {
		groups = "resource groups " + strings.Join(l.ResourceGroups, ", ")
	}
	fmt.Fprintf(&b, "targets · %s\n  subscription %s · %s · %d VMs found\n", l.Scenario, l.Subscription, groups, len(l.Eligible)+len(l.Excluded))
	running := 0
	for _, r := range l.Eligible {
		if r.PowerState == "running" {
			running++
		}
	}
	fmt.Fprintf(&b, "\nEligible  %d Spot VMs (%d running: waves pick among the running ones)\n", len(l.Eligible), running)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(l.Eligible) > 0 {
		fmt.Fprintln(tw, "  NAME\tPOOL\tZONE\tPRIORITY\tEVICTION\tPOWER\tRESOURCE GROUP")
		for _, r := range l.Eligible {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Pool, dash(r.Zone), r.Priority, dash(r.EvictionPolicy), dash(r.PowerState), r.ResourceGroup)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if l.Cluster {
		writeCluster(&b, l.Eligible)
	}
	fmt.Fprintf(&b, "\nExcluded  %d VMs\n", len(l.Excluded))
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(l.Excluded) > 0 {
		fmt.Fprintln(tw, "  NAME\tPOOL\tZONE\tPRIORITY\tEVICTION\tPOWER\tREASON")
		for _, r := range l.Excluded {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Pool), dash(r.Zone), dash(r.Priority), dash(r.EvictionPolicy), dash(r.PowerState), r.Reason)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(l.Eligible) == 0 {
		b.WriteString("\n✗ Nothing eligible: a run of this scenario would be refused.\n")
	}
	_, err := io.WriteString(w, textsafe.Lines(b.String()))
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeCluster prints each eligible instance's node and the pods an
// eviction would displace, with what recreates them.
func writeCluster(b *strings.Builder, rows []targetRow) {
	nodes, pods, bare := 0, 0, 0
	for _, r := range rows {
		if r.Node != "" {
			nodes++
		}
		pods += len(r.Pods)
		for _, p := range r.Pods {
			if p.Owner == "" {
				bare++
			}
		}
	}
	fmt.Fprintf(b, "\nCluster   %d of them are nodes; %d pods that count run on them", nodes, pods)
	if bare > 0 {
		fmt.Fprintf(b, " (%d with no controller: lost if their node goes)", bare)
	}
	b.WriteString("\n")
	for _, r := range rows {
		if r.Node == "" {
			fmt.Fprintf(b, "  %s  no node in the cluster\n", r.Name)
			continue
		}
		var list []string
		for _, p := range r.Pods {
			owner := p.Owner
			if owner == "" {
				owner = "no controller"
			}
			list = append(list, p.Pod+" ("+owner+")")
		}
		if len(list) == 0 {
			list = []string{"no pod that counts"}
		}
		fmt.Fprintf(b, "  %s  node %s: %s\n", r.Name, r.Node, strings.Join(list, ", "))
	}
}
