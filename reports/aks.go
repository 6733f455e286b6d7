package reports

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/spotdrill/spotdrill/journal"
)

// AKS is what an AKS game day's cluster showed, from the Kubernetes API:
// each evicted node's timeline and each displaced pod's fate. It is nil
// for runs without target.azure.kubernetes.
type AKS struct {
	Nodes []AKSNode `json:"nodes"`
	Pods  []AKSPod  `json:"pods"`
	// PDBBlocks are the PodDisruptionBudgets that kept a drain from moving
	// a pod, one line each.
	PDBBlocks []string `json:"pdbBlocks,omitempty"`
}

// AKSNode is an evicted node's timeline, run-clock seconds.
type AKSNode struct {
	VM        string   `json:"vm"`
	Requested *float64 `json:"requested,omitempty"`
	Cordoned  *float64 `json:"cordoned,omitempty"`
	Drained   *float64 `json:"drained,omitempty"`
	Evicted   *float64 `json:"evicted,omitempty"`
	NotReady  *float64 `json:"notReady,omitempty"`
	Deleted   *float64 `json:"deleted,omitempty"`
	Pods      int      `json:"pods"`
}

// AKSPod is one pod displaced from an evicted node.
type AKSPod struct {
	Pod string `json:"pod"`
	VM  string `json:"vm"`
	// Displaced is when it left the node; Drained says the drain moved it
	// before the VM went, CutShort that it died with the VM.
	Displaced float64 `json:"displaced"`
	Drained   bool    `json:"drained"`
	CutShort  bool    `json:"cutShort"`
	// Pending and Scheduled follow its replacement; Ready is when the
	// replacement was Ready, TTR from the eviction (or the displacement, if
	// the eviction never landed) to then.
	Pending   *float64 `json:"pending,omitempty"`
	Scheduled *float64 `json:"scheduled,omitempty"`
	Ready     *float64 `json:"ready,omitempty"`
	TTR       *float64 `json:"ttr,omitempty"`
	// Lost marks a pod with no controller: nothing recreates it.
	Lost        bool   `json:"lost"`
	Replacement string `json:"replacement,omitempty"`
}

// aksBook gathers the AKS section as the events come.
type aksBook struct {
	seen     bool
	nodes    map[string]*AKSNode
	order    []string
	pods     map[string]*AKSPod
	podOrder []string
	pdb      []string
	// requested and evicted keep every eviction's times by VM: the cluster
	// notes that follow name the VM.
	requested, evicted map[string]float64
}

func at(v float64) *float64 { return &v }

func (b *aksBook) node(vm string) *AKSNode {
	if b.nodes == nil {
		b.nodes = map[string]*AKSNode{}
	}
	n, ok := b.nodes[vm]
	if !ok {
		n = &AKSNode{VM: vm}
		if t, ok := b.requested[vm]; ok {
			n.Requested = at(t)
		}
		if t, ok := b.evicted[vm]; ok {
			n.Evicted = at(t)
		}
		b.nodes[vm] = n
		b.order = append(b.order, vm)
	}
	return n
}

// onEviction keeps the eviction times every node timeline starts from.
func (b *aksBook) onEviction(e *journal.Event) {
	if b.requested == nil {
		b.requested, b.evicted = map[string]float64{}, map[string]float64{}
	}
	switch e.Type {
	case journal.EvictionRequested:
		if _, ok := b.requested[e.VM]; !ok {
			b.requested[e.VM] = e.T
		}
	case journal.EvictionEvicted:
		b.evicted[e.VM] = e.T
		if n, ok := b.nodes[e.VM]; ok && n.Evicted == nil {
			n.Evicted = at(e.T)
		}
	case journal.EvictionDrained:
		// The cluster's drain finished before the VM went (the watcher
		// writes it as the eviction's drain phase).
		if n, ok := b.nodes[e.VM]; ok && n.Drained == nil {
			n.Drained = at(e.T)
		}
	}
}

// onNote takes the cluster's notes (codes "aks.").
func (b *aksBook) onNote(e *journal.Event) {
	b.seen = true
	switch e.Code {
	case "aks.cordoned":
		b.node(e.VM).Cordoned = at(e.T)
	case "aks.drained":
		b.node(e.VM).Drained = at(e.T)
	case "aks.notReady":
		b.node(e.VM).NotReady = at(e.T)
	case "aks.nodeDeleted":
		b.node(e.VM).Deleted = at(e.T)
	case "aks.pdbBlocked":
		b.pdb = append(b.pdb, e.Reason)
	case "aks.podPending":
		if p := b.pods[e.Job]; p != nil && p.Pending == nil {
			p.Pending = at(e.T)
		}
	case "aks.podScheduled":
		if p := b.pods[e.Job]; p != nil && p.Scheduled == nil {
			p.Scheduled = at(e.T)
		}
	}
}

// onPod takes the job events the watcher writes for pods.
func (b *aksBook) onPod(e *journal.Event) {
	b.seen = true
	if b.pods == nil {
		b.pods = map[string]*AKSPod{}
	}
	switch e.Type {
	case journal.JobInterrupted:
		p := &AKSPod{Pod: e.Job, VM: e.VM, Displaced: e.T, Drained: e.Released, CutShort: e.DrainLate}
		b.pods[e.Job] = p
		b.podOrder = append(b.podOrder, e.Job)
		b.node(e.VM).Pods++
	case journal.JobResumed:
		if p := b.pods[e.Job]; p != nil {
			p.Ready = at(e.T)
			start := p.Displaced
			if t, ok := b.evicted[p.VM]; ok {
				start = t
			}
			p.TTR = at(max(0, e.T-start))
			if _, after, ok := strings.Cut(e.Reason, " "); ok {
				p.Replacement, _, _ = strings.Cut(after, " ")
			}
		}
	case journal.JobFailed:
		if p := b.pods[e.Job]; p != nil {
			p.Lost = true
		}
	}
}

func (b *aksBook) build() *AKS {
	if !b.seen {
		return nil
	}
	out := &AKS{Nodes: []AKSNode{}, Pods: []AKSPod{}, PDBBlocks: slices.Clone(b.pdb)}
	for _, vm := range b.order {
		n := *b.nodes[vm]
		if n.Drained == nil && n.Evicted == nil && n.Requested == nil && n.Cordoned == nil && n.Pods == 0 {
			continue
		}
		out.Nodes = append(out.Nodes, n)
	}
	for _, k := range b.podOrder {
		out.Pods = append(out.Pods, *b.pods[k])
	}
	slices.SortStableFunc(out.Nodes, func(x, y AKSNode) int { return cmp.Compare(first(x), first(y)) })
	return out
}

// first is the earliest time of a node's timeline.
func first(n AKSNode) float64 {
	for _, t := range []*float64{n.Requested, n.Cordoned, n.Drained, n.Evicted, n.NotReady, n.Deleted} {
		if t != nil {
			return *t
		}
	}
	return 0
}

// aksNodeTable and aksPodTable are the report's AKS section.
func aksNodeTable(a *AKS) table {
	t := table{Head: []string{"Node (VM)", "Requested", "Cordoned", "Drained", "Evicted", "NotReady", "Deleted", "Pods displaced"},
		Right: []bool{false, true, true, true, true, true, true, true}}
	for _, n := range a.Nodes {
		t.Rows = append(t.Rows, []string{journal.ShortVM(n.VM), clockOpt(n.Requested), clockOpt(n.Cordoned), clockOpt(n.Drained),
			clockOpt(n.Evicted), clockOpt(n.NotReady), clockOpt(n.Deleted), strconv.Itoa(n.Pods)})
	}
	return t
}

func aksPodTable(a *AKS) table {
	t := table{Head: []string{"Pod", "Node (VM)", "Displaced", "How", "Pending for", "Ready", "TTR", "Replacement"},
		Right: []bool{false, false, true, false, true, true, true, false}}
	for _, p := range a.Pods {
		how := "deleted"
		switch {
		case p.Lost:
			how = "lost: no controller"
		case p.CutShort:
			how = "died with the VM (drain cut short)"
		case p.Drained:
			how = "drained in time"
		}
		pending := "–"
		if p.Pending != nil && p.Scheduled != nil {
			pending = fmtS(*p.Scheduled - *p.Pending)
		}
		t.Rows = append(t.Rows, []string{p.Pod, journal.ShortVM(p.VM), Clock(p.Displaced), how, pending, clockOpt(p.Ready), durOpt(p.TTR), withDefault(p.Replacement, "–")})
	}
	return t
}
