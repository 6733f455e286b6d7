// Package kube watches an AKS cluster during a game day: the Kubernetes
// API is the run's second source of recovery evidence, beside the VMs'
// power states, and needs no instrumented workload.
//
// Informers on nodes and pods turn what the cluster does around an
// evicted node into the journal's vocabulary: each pod displaced from the
// node is a job interrupted (released when the drain moved it before the
// VM went, cut short when it died with the VM), and the Ready replacement
// of the same controller is that job resumed; a pod with no controller is
// lost. The node's cordon, drain, NotReady and deletion are noted on its
// timeline. Nothing is ever written to the cluster.
package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/spotdrill/spotdrill/journal"
)

// SpotLabel is the label AKS puts on the nodes of a pool, "spot" for a
// Spot pool.
const SpotLabel = "kubernetes.azure.com/scalesetpriority"

// Codes of the notes the watcher writes on a node's timeline.
const (
	CodeCordoned    = "aks.cordoned"
	CodeDrained     = "aks.drained"
	CodeNotReady    = "aks.notReady"
	CodeNodeDeleted = "aks.nodeDeleted"
	CodeNodeReady   = "aks.nodeReady"
	// CodePodPending and CodePodScheduled follow the replacement of a
	// displaced pod: created (Pending), then bound to a node.
	CodePodPending   = "aks.podPending"
	CodePodScheduled = "aks.podScheduled"
	// CodePDBBlocked is a PodDisruptionBudget that allowed no disruption
	// while a cordoned node still held its pods.
	CodePDBBlocked = "aks.pdbBlocked"
	// CodeDisplacedAgain is a replacement pod displaced in its turn: it came
	// back on a Spot node evicted later in the game day.
	CodeDisplacedAgain = "aks.displacedAgain"
	// CodePod marks the job events the watcher writes for pods, so that the
	// report's AKS section tells them from a workload's own.
	CodePod = journal.CodeAKSPod
)

// Options configure a Watcher.
type Options struct {
	// Namespaces limits the pods that count; all when empty.
	Namespaces []string
	// Selector limits the pods that count (a label selector); all when
	// empty.
	Selector string
	// NodeID turns a node's spec.providerID into the VM's resource ID as
	// the journal names it; the node is left out when it fails.
	NodeID func(providerID string) (string, error)
	// Now is the run clock.
	Now func() time.Duration
	// Resync is the informers' resync period; 0 for none.
	Resync time.Duration
	// SyncTimeout bounds the wait for the informers' first list; a minute
	// if zero. An unreachable cluster fails the run's start instead of
	// hanging it.
	SyncTimeout time.Duration
}

// Watcher turns the cluster's nodes and pods into journal events.
type Watcher struct {
	client   kubernetes.Interface
	opts     Options
	selector labels.Selector
	sink     journal.Sink
	stop     chan struct{}
	stopOnce sync.Once

	mu sync.Mutex
	// vmOf is each node's VM; canon the journal's spelling of each VM ID.
	vmOf  map[string]string
	canon map[string]string
	nodes map[string]*nodeState
	// pods tracks the counted pods; displaced the interruptions waiting for
	// a replacement, by controller.
	pods      map[types.UID]*podState
	displaced map[types.UID][]displacement
	// evicted VMs, as the journal says (eviction.evicted): a pod that goes
	// after its VM did was cut short, not drained. targeted VMs had an
	// eviction requested.
	evicted, targeted map[string]bool
	// started is set once the caches hold the cluster as it was.
	started bool
	// pdbs are the PodDisruptionBudgets of the counted namespaces.
	pdbs map[types.UID]*policyv1.PodDisruptionBudget
	// blocked remembers the node and PDB pairs already noted.
	blocked map[string]bool
	// out holds the events of one handler, written once the lock is let
	// go: the run's bus hands them back to Emit.
	out []journal.Event
	// last is the last sample written; peak is the backlog's peak and area
	// its integral since then, curBacklog the backlog since areaT.
	last        journal.Sample
	peak        int
	area, areaT float64
	curBacklog  int
	sampledOnce bool
}

type nodeState struct {
	vm                          string
	cordoned, drained, notReady bool
	ready, spot                 bool
}

type podState struct {
	key      string // namespace/name
	node     string
	owner    types.UID
	kind     string
	labels   labels.Set
	created  time.Time
	gone     bool // displaced already
	ready    bool
	resumeOf bool // already counted as a replacement
	// replaces is the displaced pod this one was noted as replacing.
	replaces          string
	pending, assigned bool
	phase             corev1.PodPhase
}

type displacement struct {
	job   string
	since time.Time // when the pod went, for picking later replacements
}

// New watches the cluster that client reaches, writing to sink.
func New(client kubernetes.Interface, sink journal.Sink, opts Options) (*Watcher, error) {
	sel, err := labels.Parse(opts.Selector)
	if err != nil {
		return nil, fmt.Errorf("kubernetes selector %q: %w", opts.Selector, err)
	}
	if opts.Now == nil {
		return nil, fmt.Errorf("kubernetes watcher: no run clock")
	}
	return &Watcher{
		client: client, opts: opts, selector: sel, sink: sink, stop: make(chan struct{}),
		vmOf: map[string]string{}, canon: map[string]string{}, nodes: map[string]*nodeState{},
		pods: map[types.UID]*podState{}, displaced: map[types.UID][]displacement{},
		evicted: map[string]bool{}, targeted: map[string]bool{},
		pdbs: map[types.UID]*policyv1.PodDisruptionBudget{}, blocked: map[string]bool{},
	}, nil
}

// Emit learns the journal's VMs and evictions: the watcher subscribes to the
// run's bus.
func (w *Watcher) Emit(e *journal.Event) {
	if e.VM == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	id := strings.ToLower(e.VM)
	w.canon[id] = e.VM
	switch e.Type {
	case journal.EvictionEvicted:
		w.evicted[id] = true
		w.targeted[id] = true
	case journal.EvictionRequested, journal.EvictionNoticed:
		w.targeted[id] = true
	}
}

// Start starts the informers and waits until their caches hold the
// cluster as it is: the pods already running are the baseline, not
// events.
func (w *Watcher) Start() error {
	var factories []informers.SharedInformerFactory
	nodes := informers.NewSharedInformerFactory(w.client, w.opts.Resync)
	factories = append(factories, nodes)
	ni := nodes.Core().V1().Nodes().Informer()
	if _, err := ni.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.onNode(o, false) },
		UpdateFunc: func(_, o any) { w.onNode(o, false) },
		DeleteFunc: func(o any) { w.onNode(o, true) },
	}); err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	namespaces := w.opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	var synced []cache.InformerSynced
	synced = append(synced, ni.HasSynced)
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(w.client, w.opts.Resync, informers.WithNamespace(ns),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = w.selector.String() }))
		factories = append(factories, f)
		pi := f.Core().V1().Pods().Informer()
		if _, err := pi.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.onPod(o, false) },
			UpdateFunc: func(_, o any) { w.onPod(o, false) },
			DeleteFunc: func(o any) { w.onPod(o, true) },
		}); err != nil {
			return fmt.Errorf("kubernetes: %w", err)
		}
		synced = append(synced, pi.HasSynced)
		bi := f.Policy().V1().PodDisruptionBudgets().Informer()
		if _, err := bi.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.onPDB(o, false) },
			UpdateFunc: func(_, o any) { w.onPDB(o, false) },
			DeleteFunc: func(o any) { w.onPDB(o, true) },
		}); err != nil {
			return fmt.Errorf("kubernetes: %w", err)
		}
		synced = append(synced, bi.HasSynced)
	}
	for _, f := range factories {
		f.Start(w.stop)
	}
	timeout := w.opts.SyncTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	give := make(chan struct{})
	timer := time.AfterFunc(timeout, func() { close(give) })
	ok := cache.WaitForCacheSync(give, synced...)
	timer.Stop()
	if !ok {
		w.Stop()
		return fmt.Errorf("kubernetes: the cluster's nodes and pods could not be listed within %s (is the cluster reachable, and may this identity list nodes, pods and poddisruptionbudgets? see deploy/kubernetes/aks-readonly-role.yaml)", timeout)
	}
	w.mu.Lock()
	w.started = true
	w.sample() // the cluster as it is, the first point of the timeline
	w.unlock()
	return nil
}

// Stop stops the informers.
func (w *Watcher) Stop() { w.stopOnce.Do(func() { close(w.stop) }) }

// emit queues an event at the run clock's time; w.mu is held.
func (w *Watcher) emit(e journal.Event) {
	e.T = w.opts.Now().Seconds()
	w.out = append(w.out, e)
}

// unlock lets go of w.mu and writes the queued events.
func (w *Watcher) unlock() {
	out := w.out
	w.out = nil
	w.mu.Unlock()
	for i := range out {
		w.sink.Emit(&out[i])
	}
}

// vm names a node's VM as the journal does; "" for a node that is not an
// Azure VM.
func (w *Watcher) vm(node *corev1.Node) string {
	if v, ok := w.vmOf[node.Name]; ok {
		return v
	}
	if w.opts.NodeID == nil || node.Spec.ProviderID == "" {
		return ""
	}
	id, err := w.opts.NodeID(node.Spec.ProviderID)
	if err != nil {
		return ""
	}
	if c, ok := w.canon[strings.ToLower(id)]; ok {
		id = c
	}
	w.vmOf[node.Name] = id
	return id
}

func cordoned(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return true
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeUnschedulable && t.Effect == corev1.TaintEffectNoSchedule {
			return true
		}
	}
	return false
}

func ready(conds []corev1.NodeCondition) (bool, bool) {
	for _, c := range conds {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue, true
		}
	}
	return false, false
}

func (w *Watcher) onNode(o any, deleted bool) {
	n, ok := object[*corev1.Node](o)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.unlock()
	vm := w.vm(n)
	if vm == "" {
		return
	}
	defer w.sample()
	st, known := w.nodes[n.Name]
	if known && !deleted {
		st.ready, _ = ready(n.Status.Conditions)
	}
	if !known {
		st = &nodeState{vm: vm, spot: n.Labels[SpotLabel] == "spot"}
		st.ready, _ = ready(n.Status.Conditions)
		w.nodes[n.Name] = st
		// The cluster as it was at the start is the baseline; a node that
		// joins later is a replacement once Ready.
		isReady, _ := ready(n.Status.Conditions)
		if isReady && w.synced() {
			w.emit(journal.Event{Type: journal.Note, Code: CodeNodeReady, VM: vm, Reason: "node " + n.Name + " joined the cluster and is Ready"})
		}
		st.cordoned = cordoned(n)
		return
	}
	if deleted {
		w.emit(journal.Event{Type: journal.Note, Code: CodeNodeDeleted, VM: vm, Reason: "node " + n.Name + " was deleted from the cluster"})
		delete(w.nodes, n.Name)
		return
	}
	if c := cordoned(n); c && !st.cordoned {
		st.cordoned = true
		w.emit(journal.Event{Type: journal.Note, Code: CodeCordoned, VM: vm, Reason: "node " + n.Name + " was cordoned (unschedulable)"})
		w.checkDrained(n.Name)
		w.checkPDBs(n.Name)
	}
	if isReady, known := ready(n.Status.Conditions); known && !isReady && !st.notReady {
		st.notReady = true
		w.emit(journal.Event{Type: journal.Note, Code: CodeNotReady, VM: vm, Reason: "node " + n.Name + " is NotReady"})
	}
}

// synced is true once the node informer has delivered its initial list:
// only then is a new node news.
func (w *Watcher) synced() bool { return w.started }

// countable says whether a pod's loss counts as displaced work: a
// DaemonSet's pods go with their node by design, and mirror pods are the
// kubelet's own.
func countable(p *corev1.Pod) (owner types.UID, kind string, ok bool) {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return "", "", false
	}
	for _, ref := range p.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			if ref.Kind == "DaemonSet" {
				return "", "", false
			}
			return ref.UID, ref.Kind, true
		}
	}
	return "", "", true // no controller: counted, and lost when it goes
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (w *Watcher) onPod(o any, deleted bool) {
	p, ok := object[*corev1.Pod](o)
	if !ok {
		return
	}
	owner, kind, counted := countable(p)
	if !counted {
		return
	}
	w.mu.Lock()
	defer w.unlock()
	defer w.sample()
	st, known := w.pods[p.UID]
	if !known {
		st = &podState{key: p.Namespace + "/" + p.Name, owner: owner, kind: kind, labels: labels.Set(p.Labels), created: p.CreationTimestamp.Time}
		w.pods[p.UID] = st
		w.notePending(st, p)
	}
	if p.Spec.NodeName != "" && st.node == "" && st.pending && !st.assigned {
		st.assigned = true
		w.emit(journal.Event{Type: journal.Note, Code: CodePodScheduled, Job: st.replaces,
			Reason: fmt.Sprintf("%s, replacing %s, was scheduled on node %s", st.key, st.replaces, p.Spec.NodeName)})
	}
	if p.Spec.NodeName != "" {
		st.node = p.Spec.NodeName
	}
	going := deleted || p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed
	if going && !st.gone {
		w.displace(st, p)
	}
	if deleted {
		delete(w.pods, p.UID)
		w.checkDrained(st.node)
		return
	}
	if p.DeletionTimestamp != nil {
		w.checkDrained(st.node)
	}
	st.phase = p.Status.Phase
	if !st.ready && podReady(p) {
		st.ready = true
		w.maybeResume(st, p)
	}
}

// displace records a pod leaving an Azure node that the game day touches:
// drained (the node cordoned, its VM still up: the work was handed back) or
// cut short (the VM already gone or the node NotReady: the drain did not
// fit in the notice).
func (w *Watcher) displace(st *podState, p *corev1.Pod) {
	st.gone = true
	node := w.nodes[st.node]
	if node == nil {
		return
	}
	vmGone := w.evicted[strings.ToLower(node.vm)] || node.notReady
	// Nodes and pods come on separate watches: a pod the drain evicted may
	// arrive before its node's cordon. The eviction requested for the VM
	// says it is the game day's doing as well.
	if !node.cordoned && !vmGone && !w.targeted[strings.ToLower(node.vm)] {
		return // an ordinary deletion (a rollout, a scale-in): not the game day's doing
	}
	if st.replaces != "" {
		w.emit(journal.Event{Type: journal.Note, Code: CodeDisplacedAgain, VM: node.vm, Job: st.key,
			Reason: fmt.Sprintf("%s, which replaced %s, was displaced again: it came back on Spot node %s, evicted later", st.key, st.replaces, st.node)})
	}
	e := journal.Event{Type: journal.JobInterrupted, Job: st.key, VM: node.vm, Attempt: 1, Code: CodePod}
	switch {
	case vmGone:
		e.DrainLate = true
		e.Reason = fmt.Sprintf("pod %s died with node %s: the drain did not finish before the VM went", st.key, st.node)
	default:
		e.Released = true
		e.Reason = fmt.Sprintf("pod %s was evicted from node %s, drained before its VM went", st.key, st.node)
	}
	w.emit(e)
	if st.owner == "" {
		w.emit(journal.Event{Type: journal.JobFailed, Job: st.key, VM: node.vm, Code: CodePod,
			Reason: fmt.Sprintf("pod %s has no controller: nothing recreates it, its work is lost", st.key)})
		return
	}
	w.displaced[st.owner] = append(w.displaced[st.owner], displacement{job: st.key, since: time.Now()})
}

// notePending notes a new pod that will replace a displaced one of its
// controller: it starts Pending, and the time until it is scheduled is the
// capacity the cluster was missing.
func (w *Watcher) notePending(st *podState, p *corev1.Pod) {
	if !w.started || st.owner == "" || p.Spec.NodeName != "" {
		return
	}
	q := w.displaced[st.owner]
	if len(q) == 0 {
		return
	}
	// The oldest displaced pod of the controller not yet spoken for.
	for _, d := range q {
		taken := false
		for _, o := range w.pods {
			if o != st && o.replaces == d.job && !o.resumeOf {
				taken = true
				break
			}
		}
		if !taken {
			st.replaces, st.pending = d.job, true
			w.emit(journal.Event{Type: journal.Note, Code: CodePodPending, Job: d.job,
				Reason: fmt.Sprintf("%s, replacing %s, is Pending", st.key, d.job)})
			return
		}
	}
}

func (w *Watcher) onPDB(o any, deleted bool) {
	b, ok := object[*policyv1.PodDisruptionBudget](o)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.unlock()
	if deleted {
		delete(w.pdbs, b.UID)
		return
	}
	w.pdbs[b.UID] = b
	for name, n := range w.nodes {
		if n.cordoned && !n.drained {
			w.checkPDBs(name)
		}
	}
}

// checkPDBs notes the budgets that allow no disruption while a cordoned
// node holds pods they cover: the drain cannot move those pods.
func (w *Watcher) checkPDBs(node string) {
	for _, b := range w.pdbs {
		if b.Status.DisruptionsAllowed > 0 {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		for _, p := range w.pods {
			if p.node != node || p.gone || p.key[:strings.IndexByte(p.key, '/')] != b.Namespace || !sel.Matches(p.labels) {
				continue
			}
			key := node + "|" + string(b.UID)
			if w.blocked[key] {
				break
			}
			w.blocked[key] = true
			vm := ""
			if n := w.nodes[node]; n != nil {
				vm = n.vm
			}
			w.emit(journal.Event{Type: journal.Note, Code: CodePDBBlocked, VM: vm, Job: p.key,
				Reason: fmt.Sprintf("PodDisruptionBudget %s/%s allows no disruption: the drain of node %s cannot evict %s", b.Namespace, b.Name, node, p.key)})
			break
		}
	}
}

// maybeResume takes a newly Ready pod of a controller as the replacement of
// the oldest of its displaced pods still waiting.
func (w *Watcher) maybeResume(st *podState, p *corev1.Pod) {
	if st.owner == "" || st.resumeOf {
		return
	}
	q := w.displaced[st.owner]
	if len(q) == 0 {
		return
	}
	i := 0
	if st.replaces != "" {
		for j, d := range q {
			if d.job == st.replaces {
				i = j
			}
		}
	}
	d := q[i]
	w.displaced[st.owner] = append(q[:i:i], q[i+1:]...)
	st.replaces = d.job
	st.resumeOf = true
	vm := ""
	if n := w.nodes[st.node]; n != nil {
		vm = n.vm
	}
	w.emit(journal.Event{Type: journal.JobResumed, Job: d.job, VM: vm, Attempt: 2, Code: CodePod,
		Reason: fmt.Sprintf("%s %s is Ready on node %s in place of %s", strings.ToLower(st.kind), st.key, st.node, d.job)})
}

// checkDrained notes a cordoned node's drain finished: no counted pod is
// left on it.
func (w *Watcher) checkDrained(node string) {
	n := w.nodes[node]
	if n == nil || !n.cordoned || n.drained {
		return
	}
	for _, p := range w.pods {
		if p.node == node && !p.gone {
			return
		}
	}
	n.drained = true
	reason := "node " + node + " is drained: no workload pod left on it"
	if w.targeted[strings.ToLower(n.vm)] && !w.evicted[strings.ToLower(n.vm)] {
		// The drain phase of the eviction: it finished before the VM went.
		w.emit(journal.Event{Type: journal.EvictionDrained, VM: n.vm, Reason: reason})
		return
	}
	w.emit(journal.Event{Type: journal.Note, Code: CodeDrained, VM: n.vm, Reason: reason})
}

// NodePods is a node of the cluster and the pods on it that count.
type NodePods struct {
	Node string   `json:"node"`
	Pods []PodRef `json:"pods"`
}

// PodRef names a pod and what recreates it.
type PodRef struct {
	Pod string `json:"pod"`
	// Owner is its controller, "Kind/name"; empty for a pod that nothing
	// recreates (lost if its node goes).
	Owner string `json:"owner,omitempty"`
}

// Inventory lists, once and read only, each Azure node of the cluster by
// its VM's resource ID (lower case) with the pods on it that count
// (DaemonSet and mirror pods left out).
func Inventory(ctx context.Context, client kubernetes.Interface, opts Options) (map[string]NodePods, error) {
	sel, err := labels.Parse(opts.Selector)
	if err != nil {
		return nil, fmt.Errorf("kubernetes selector %q: %w", opts.Selector, err)
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: list nodes: %w", err)
	}
	out := map[string]NodePods{}
	byNode := map[string]string{}
	for _, n := range nodes.Items {
		if opts.NodeID == nil || n.Spec.ProviderID == "" {
			continue
		}
		id, err := opts.NodeID(n.Spec.ProviderID)
		if err != nil {
			continue
		}
		key := strings.ToLower(id)
		out[key] = NodePods{Node: n.Name, Pods: []PodRef{}}
		byNode[n.Name] = key
	}
	namespaces := opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, fmt.Errorf("kubernetes: list pods: %w", err)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			key, ok := byNode[p.Spec.NodeName]
			if !ok {
				continue
			}
			if _, _, counted := countable(p); !counted {
				continue
			}
			ref := PodRef{Pod: p.Namespace + "/" + p.Name}
			for _, o := range p.OwnerReferences {
				if o.Controller != nil && *o.Controller {
					ref.Owner = o.Kind + "/" + o.Name
				}
			}
			np := out[key]
			np.Pods = append(np.Pods, ref)
			out[key] = np
		}
	}
	return out, nil
}

// sample writes the cluster's gauges when they change: Ready nodes (Spot
// by the AKS pool label, the others Regular), the counted pods Pending as
// the backlog and Running, with the backlog's peak and integral since the
// last sample (M5). w.mu is held.
func (w *Watcher) sample() {
	if !w.started {
		return
	}
	var s journal.Sample
	for _, n := range w.nodes {
		switch {
		case !n.ready:
		case n.spot:
			s.Spot++
		default:
			s.Regular++
		}
	}
	for _, p := range w.pods {
		switch {
		case p.gone:
		case p.phase == corev1.PodPending:
			s.Backlog++
		case p.phase == corev1.PodRunning:
			s.Running++
		}
	}
	now := w.opts.Now().Seconds()
	if w.sampledOnce {
		w.area += float64(w.curBacklog) * max(0, now-w.areaT)
	}
	w.areaT, w.curBacklog = now, s.Backlog
	w.peak = max(w.peak, s.Backlog)
	if w.sampledOnce && s.Spot == w.last.Spot && s.Regular == w.last.Regular && s.Backlog == w.last.Backlog && s.Running == w.last.Running {
		return
	}
	s.BacklogMax, s.BacklogArea = w.peak, w.area
	w.emit(journal.Event{Type: journal.Sampled, Code: CodePod, Sample: &s})
	w.last, w.peak, w.area, w.sampledOnce = s, s.Backlog, 0, true
}

// object is the informer's object, or the last state of one deleted while
// the watch was down.
func object[T any](o any) (T, bool) {
	if v, ok := o.(T); ok {
		return v, true
	}
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		v, ok := d.Obj.(T)
		return v, ok
	}
	var zero T
	return zero, false
}
