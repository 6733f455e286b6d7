package experiments

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/internal/kube"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Defaults of a game day on Azure.
const (
	DefaultPollInterval    = 15 * time.Second
	DefaultMaxPollFailures = 8 // two minutes of failed polls at the default interval
)

// AzureOptions configure a game day on Azure.
type AzureOptions struct {
	// Client connects to Resource Manager and paces simulateEviction.
	Client azure.Options
	// PollInterval is how often power states are polled. Default 15 s.
	PollInterval time.Duration
	// EvictionTimeout is how long an accepted simulateEviction may take to
	// land before it is journaled as failed with code Timeout. Default 35
	// min (Azure evicts "within 30 minutes").
	EvictionTimeout time.Duration
	// MaxPollFailures is how many polls in a row may fail (each one is
	// journaled as a note) before the run fails. Default 8.
	MaxPollFailures int
	// Kube reaches the AKS cluster of target.azure.kubernetes; nil builds
	// a client from its kubeconfig and context (or in-cluster).
	Kube kubernetes.Interface
}

func (o AzureOptions) withDefaults() AzureOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.EvictionTimeout <= 0 {
		o.EvictionTimeout = azure.DefaultEvictionTimeout
	}
	if o.MaxPollFailures <= 0 {
		o.MaxPollFailures = DefaultMaxPollFailures
	}
	if o.Client.Clock == nil {
		o.Client.Clock = azure.SystemClock{}
	}
	return o
}

// CallReport is what Azure answered to one simulateEviction call, for the
// journal: the final status, the retries, and the rate-limit headers.
type CallReport struct {
	Status    int               `json:"status,omitempty"`
	Code      string            `json:"code,omitempty"`
	Attempts  int               `json:"attempts,omitempty"`
	Throttled int               `json:"throttled,omitempty"`
	RateLimit map[string]string `json:"rateLimit,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
}

// String is the report in one line, such as "204 after 2 attempts (1
// throttled); x-ms-ratelimit-remaining-subscription-writes=187".
func (c CallReport) String() string {
	var b strings.Builder
	if c.Status == 0 {
		b.WriteString("no answer")
	} else {
		fmt.Fprintf(&b, "%d", c.Status)
	}
	if c.Code != "" {
		b.WriteString(" " + c.Code)
	}
	if c.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", c.Attempts)
		if c.Throttled > 0 {
			fmt.Fprintf(&b, " (%d throttled)", c.Throttled)
		}
	}
	keys := make([]string, 0, len(c.RateLimit))
	for k := range c.RateLimit {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		sep := ", "
		if i == 0 {
			sep = "; "
		}
		b.WriteString(sep + k + "=" + c.RateLimit[k])
	}
	return b.String()
}

// CallReporter is implemented by worlds that call a real API: the runner
// asks it what Azure answered to the last simulateEviction of a target.
type CallReporter interface {
	LastCall(targetID string) (CallReport, bool)
}

// BatchEvicter is implemented by worlds that can send a wave's calls
// concurrently under their rate limit. The errors come back in the order
// of the targets.
type BatchEvicter interface {
	SimulateEvictions(ctx context.Context, ts []injector.Target) []error
}

// azureWorld is a game day on real Azure VMs: wall clock, simulateEviction
// through armcompute, and power states polled while the runner waits.
type azureWorld struct {
	c     *azure.Client
	obs   *azure.Observer
	sink  journal.Sink
	clock azure.Clock
	opts  AzureOptions

	start    time.Time
	started  bool
	nextPoll time.Duration
	failures int
	finished bool
	// observed is when the last poll or discovery succeeded; listed is
	// when the last full listing (models and tags, not only power
	// states) did.
	observed time.Duration
	listed   time.Duration

	// kube watches the AKS cluster, when the scenario names one.
	kube *kube.Watcher

	// wave is the last wave.started seen on the bus; the runner emits it
	// before its calls, and a timeout names it.
	mu    sync.Mutex
	wave  string
	calls map[string]azure.Call
}

var (
	_ World        = (*azureWorld)(nil)
	_ CallReporter = (*azureWorld)(nil)
	_ BatchEvicter = (*azureWorld)(nil)
	_ Leaser       = (*azureWorld)(nil)
	_ journal.Sink = (*azureWorld)(nil)
)

// NewAzureWorld connects to the subscription of a scenario's target.azure;
// its observations go to sink. It makes no call until Start. Subscribe the
// world to the run's bus (it is a journal.Sink) so that a timed-out
// eviction names its wave.
func NewAzureWorld(sc *scenarios.Scenario, sink journal.Sink, opts AzureOptions) (World, error) {
	sel, err := AzureSelector(sc)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	c, err := azure.NewClient(sel.Subscription, opts.Client)
	if err != nil {
		return nil, err
	}
	w := &azureWorld{
		c: c, obs: azure.NewObserver(c, sel, sink, opts.EvictionTimeout), sink: sink,
		clock: opts.Client.Clock, opts: opts, calls: map[string]azure.Call{},
	}
	if k := sc.Target.Azure.Kubernetes; k != nil {
		client := opts.Kube
		if client == nil {
			if client, err = KubeClient(k); err != nil {
				return nil, err
			}
		}
		w.kube, err = kube.New(client, sink, kube.Options{
			Namespaces: k.Namespaces, Selector: k.Selector, Now: w.Now,
			NodeID: func(pid string) (string, error) { return azure.NodeID(pid, sel.Subscription) },
		})
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}

// KubeClient reaches the cluster of target.azure.kubernetes: its kubeconfig
// and context, else the usual resolution (KUBECONFIG, ~/.kube/config, or
// the pod's own account in the cluster). spotdrill only reads with it.
func KubeClient(k *scenarios.KubernetesTarget) (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if k.Kubeconfig != "" {
		rules.ExplicitPath = k.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("target.azure.kubernetes: %w", err)
	}
	cfg.UserAgent = "spotdrill (read-only watch)"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("target.azure.kubernetes: %w", err)
	}
	return client, nil
}

// AzureSelector reads a scenario's target.azure, parsing its AKS nodes'
// providerIDs.
func AzureSelector(sc *scenarios.Scenario) (azure.Selector, error) {
	a := sc.Target.Azure
	if sc.Target.Provider != scenarios.ProviderAzure || a == nil {
		return azure.Selector{}, fmt.Errorf("scenario %s: provider %q has no target.azure", sc.Metadata.Name, sc.Target.Provider)
	}
	sel := azure.Selector{Subscription: a.Subscription, ResourceGroups: a.ResourceGroups, ScaleSets: a.ScaleSets,
		VMs: a.VMs, Tags: a.Tags, Zones: a.Zones}
	for i, pid := range a.NodeProviderIDs {
		id, err := azure.NodeID(pid, a.Subscription)
		if err != nil {
			return azure.Selector{}, fmt.Errorf("target.azure.nodeProviderIDs[%d]: %w", i, err)
		}
		sel.Nodes = append(sel.Nodes, id)
	}
	return sel, nil
}

// StartTime is the wall time at t=0.
func (w *azureWorld) StartTime() time.Time { return w.start }

// WallClock says that the run's clock is the wall's: it cannot wait for a
// facilitator.
func (w *azureWorld) WallClock() bool { return true }

// Start takes the wall time as t=0 and discovers the fleet, announcing the
// VMs that run.
func (w *azureWorld) Start(ctx context.Context) error {
	w.start, w.started = w.clock.Now(), true
	if err := w.obs.Refresh(ctx, 0); err != nil {
		return fmt.Errorf("discover the fleet: %w", err)
	}
	w.nextPoll, w.observed, w.listed = w.opts.PollInterval, 0, 0
	if w.kube != nil {
		// Before the first wave: the cluster as it is is the baseline.
		if err := w.kube.Start(); err != nil {
			return err
		}
	}
	return nil
}

// Now is the wall time since Start.
func (w *azureWorld) Now() time.Duration {
	if !w.started {
		return 0
	}
	return w.clock.Now().Sub(w.start)
}

// AdvanceTo waits on the wall clock until t, polling power states every
// PollInterval on the way. A cancelled ctx (the kill switch) ends the wait
// at once.
func (w *azureWorld) AdvanceTo(ctx context.Context, t time.Duration) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := w.Now()
		if now >= w.nextPoll {
			if err := w.poll(ctx, now); err != nil {
				return err
			}
			w.nextPoll = now + w.opts.PollInterval
		}
		if now >= t {
			return nil
		}
		if err := w.clock.Sleep(ctx, min(t, w.nextPoll)-now); err != nil {
			return err
		}
	}
}

// poll observes once. A failed poll is journaled as a note and retried at
// the next interval; only MaxPollFailures in a row fail the run.
func (w *azureWorld) poll(ctx context.Context, now time.Duration) error {
	err := w.obs.Poll(ctx, now)
	if err == nil {
		w.observed = now
		if w.failures > 0 {
			w.note(now, "observation", fmt.Sprintf("polling Azure works again after %d failed polls", w.failures))
		}
		w.failures = 0
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	w.failures++
	w.note(now, "observation", fmt.Sprintf("poll %d of %d allowed in a row failed: %v", w.failures, w.opts.MaxPollFailures, err))
	if w.failures >= w.opts.MaxPollFailures {
		return fmt.Errorf("observe Azure: %d polls in a row failed, the last with: %w", w.failures, err)
	}
	return nil
}

func (w *azureWorld) note(now time.Duration, code, reason string) {
	w.sink.Emit(&journal.Event{T: now.Seconds(), Type: journal.Note, Code: code, Reason: reason})
}

// Discover lists the fleet afresh (a wave acts on what runs now, with the
// tags it carries now: an exemption or another run's lease added during
// the game day counts) and returns the VMs the scenario selects. A fleet
// listed less than a second ago is not listed again. When the listing fails, the wave goes on
// with the fleet of the last poll if that is at most two intervals old
// (the journal notes it); an older one fails the wave.
func (w *azureWorld) Discover(ctx context.Context) ([]injector.Target, error) {
	now := w.Now()
	if now-w.listed < time.Second {
		return w.obs.Targets(), nil
	}
	if err := w.obs.Refresh(ctx, now); err != nil {
		if ctx.Err() != nil || now-w.observed > 2*w.opts.PollInterval {
			return nil, fmt.Errorf("discover the fleet: %w", err)
		}
		w.note(now, "observation", fmt.Sprintf("discovery failed (%v); using the fleet as polled at %s",
			err, scenarios.FormatDuration(w.observed.Truncate(time.Second))))
		return w.obs.Targets(), nil
	}
	w.nextPoll, w.observed, w.listed = now+w.opts.PollInterval, now, now
	return w.obs.Targets(), nil
}

// SimulateEviction asks Azure to evict one target, unless it must not be
// asked (not Spot, gone, already requested). The error is an *azure.Error
// that unwraps to injector.ErrNotSpot or injector.ErrGone when it means
// one; its ErrorCode method gives the ARM error code.
func (w *azureWorld) SimulateEviction(ctx context.Context, t injector.Target) error {
	return w.SimulateEvictions(ctx, []injector.Target{t})[0]
}

// SimulateEvictions sends a wave's calls concurrently, paced by the
// client's rate limiter.
func (w *azureWorld) SimulateEvictions(ctx context.Context, ts []injector.Target) []error {
	errs := make([]error, len(ts))
	var send []injector.Target
	var idx []int
	for i, t := range ts {
		if err := w.obs.Check(t); err != nil {
			errs[i] = err // refused here: the error says why, Azure said nothing
			continue
		}
		send, idx = append(send, t), append(idx, i)
	}
	if len(send) == 0 {
		return errs
	}
	now := w.Now()
	wave := w.currentWave()
	for j, c := range w.c.SimulateEvictions(ctx, send) {
		w.obs.Record(c, now, wave)
		w.remember(c)
		errs[idx[j]] = c.Err
	}
	return errs
}

func (w *azureWorld) remember(c azure.Call) {
	if !c.Sent() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[azure.Key(c.Target)] = c
}

// LastCall is what Azure answered to the last simulateEviction request
// sent for a target, for the journal; a call refused before it was sent
// has none (its error says why).
func (w *azureWorld) LastCall(targetID string) (CallReport, bool) {
	w.mu.Lock()
	c, ok := w.calls[azure.Key(targetID)]
	w.mu.Unlock()
	if !ok {
		return CallReport{}, false
	}
	r := CallReport{Status: c.Status, Attempts: c.Attempts, Throttled: c.Throttled, RateLimit: c.RateLimit, RequestID: c.RequestID}
	var e *azure.Error
	if errors.As(c.Err, &e) {
		r.Code = e.Code
	}
	return r, true
}

// Lease tags the plan's scale sets and VMs with the run's ID.
func (w *azureWorld) Lease(ctx context.Context, runID string, ids []string) error {
	return w.c.Lease(ctx, runID, ids)
}

// Release removes the run's lease tag.
func (w *azureWorld) Release(ctx context.Context, runID string, ids []string) error {
	return w.c.Release(ctx, runID, ids)
}

// ApplyFault refuses: market faults exist only on the simulated fleet.
func (w *azureWorld) ApplyFault(wave string, f scenarios.Fault) error {
	return fmt.Errorf("wave %q: market fault %s needs the simulated fleet (provider sim); Azure's Spot market cannot be changed", wave, f.Type)
}

// Finish closes the observation. Workload recovery comes from
// OpenTelemetry, not from here; evictions still waiting to land are
// named in a note, so that the journal says they were neither seen nor
// timed out.
func (w *azureWorld) Finish() {
	if w.finished {
		return
	}
	w.finished = true
	if w.kube != nil {
		w.kube.Stop()
	}
	unlanded := w.obs.Unlanded()
	if len(unlanded) == 0 {
		return
	}
	names := make([]string, 0, len(unlanded))
	for _, v := range unlanded {
		names = append(names, v.Name)
	}
	w.note(w.Now(), "unlanded", fmt.Sprintf("%d requested evictions had not landed when the run ended (%s); Azure may still evict them",
		len(unlanded), strings.Join(names, ", ")))
}

// Emit follows the run's bus for the name of the wave in progress, and
// tells the cluster's watcher which VMs the run evicts.
func (w *azureWorld) Emit(e *journal.Event) {
	if w.kube != nil {
		w.kube.Emit(e)
	}
	if e.Type == journal.WaveStarted {
		w.mu.Lock()
		w.wave = e.Wave
		w.mu.Unlock()
	}
}

func (w *azureWorld) currentWave() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wave
}

// AzureVM is a VM that discovery found, and whether the scenario's
// selectors pick it.
type AzureVM struct {
	azure.VM
	Selected bool `json:"selected"`
	// Reason says why the selectors leave it out.
	Reason string `json:"reason,omitempty"`
}

// AzureInventory is what a scenario's target.azure finds in its
// subscription, before any blast-radius rule.
type AzureInventory struct {
	Subscription   string    `json:"subscription"`
	ResourceGroups []string  `json:"resourceGroups,omitempty"`
	VMs            []AzureVM `json:"vms"`
	// Missing lists nodeProviderIDs that match no VM (replaced nodes).
	Missing []string `json:"missing,omitempty"`
}

// Targets are the selected VMs, as the plan takes them.
func (inv *AzureInventory) Targets() []injector.Target {
	var out []injector.Target
	for i := range inv.VMs {
		if inv.VMs[i].Selected {
			out = append(out, inv.VMs[i].Target())
		}
	}
	return out
}

// DiscoverAzure lists what a scenario's target.azure finds, touching
// nothing: `spotdrill targets` prints it and `spotdrill plan` freezes a
// plan over it.
func DiscoverAzure(ctx context.Context, sc *scenarios.Scenario, opts AzureOptions) (*AzureInventory, error) {
	sel, err := AzureSelector(sc)
	if err != nil {
		return nil, err
	}
	c, err := azure.NewClient(sel.Subscription, opts.withDefaults().Client)
	if err != nil {
		return nil, err
	}
	f, err := c.Discover(ctx, sel.ResourceGroups, sel.MayPick)
	if err != nil {
		return nil, fmt.Errorf("discover targets: %w", err)
	}
	inv := &AzureInventory{Subscription: sel.Subscription, ResourceGroups: sel.ResourceGroups, Missing: sel.Missing(f)}
	for _, v := range f.VMs {
		ok, why := sel.Match(&v)
		inv.VMs = append(inv.VMs, AzureVM{VM: v, Selected: ok, Reason: why})
	}
	return inv, nil
}

// PlanAzure freezes the plan of an Azure scenario over the VMs it finds
// now, without evicting anything; nodes that match no VM are listed as
// excluded.
func PlanAzure(ctx context.Context, sc *scenarios.Scenario, opts AzureOptions) (*Plan, error) {
	inv, err := DiscoverAzure(ctx, sc, opts)
	if err != nil {
		return nil, err
	}
	p, err := NewPlan(sc, inv.Targets(), time.Now().UTC().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	for _, id := range inv.Missing {
		p.Excluded = append(p.Excluded, journal.Exclusion{VM: id, Reason: "node not found: no VM or scale-set instance has this providerID (replaced or deleted?)"})
	}
	return p, nil
}
