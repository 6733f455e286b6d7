// Package scenarios holds the game-day scenario format: its Go types, decoding
// with positions, validation that reports every problem at once, and the JSON
// Schema that editors use.
package scenarios

// APIVersion is the only scenario format this release reads.
const APIVersion = "spotdrill.dev/v1"

// Kind is the only document kind a scenario file may hold.
const Kind = "GameDay"

// Scenario is one game day: what to target, the fleet and workload when the
// target is the simulated fleet, the waves of evictions and faults, the limits
// that keep it safe, when to abort and what to grade.
type Scenario struct {
	// APIVersion is the format version: spotdrill.dev/v1.
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind is always GameDay.
	Kind string `yaml:"kind" json:"kind"`
	// Metadata names and describes the game day.
	Metadata Metadata `yaml:"metadata" json:"metadata"`
	// Seed makes every random choice (wave picks, the simulated market)
	// repeatable; 1 if absent. The CLI's --seed overrides it.
	Seed int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Duration is how long the run lasts, such as 2h.
	Duration Duration `yaml:"duration" json:"duration"`
	// Start is the clock at the start of a simulated run (RFC 3339);
	// 2026-01-05T09:00:00Z if absent.
	Start string `yaml:"start,omitempty" json:"start,omitempty"`
	// Target says whether the run evicts simulated or real Azure VMs.
	Target Target `yaml:"target" json:"target"`
	// Fleet is the simulated fleet (provider sim only).
	Fleet *Fleet `yaml:"fleet,omitempty" json:"fleet,omitempty"`
	// Workload is the simulated job queue the fleet serves (provider sim only).
	Workload *Workload `yaml:"workload,omitempty" json:"workload,omitempty"`
	// Waves are the evictions and market faults, each at a time from the start.
	Waves []Wave `yaml:"waves,omitempty" json:"waves,omitempty"`
	// BlastRadius limits what the run may evict.
	BlastRadius BlastRadius `yaml:"blastRadius,omitempty" json:"blastRadius,omitempty"`
	// AbortWhen ends the run early when a live metric crosses a line.
	AbortWhen []Abort `yaml:"abortWhen,omitempty" json:"abortWhen,omitempty"`
	// SLOs are the objectives the report grades.
	SLOs []SLO `yaml:"slos,omitempty" json:"slos,omitempty"`
	// Sweep is the grid of parameters and seeds that spotdrill sweep plays
	// the scenario over; spotdrill run ignores it.
	Sweep *Sweep `yaml:"sweep,omitempty" json:"sweep,omitempty"`

	// File is where the scenario was read from.
	File string `yaml:"-" json:"-"`
}

// Metadata names the game day.
type Metadata struct {
	// Name identifies the game day in reports and journals.
	Name string `yaml:"name" json:"name"`
	// Description says what the game day tests.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Labels are free-form key-value pairs copied to reports.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// Providers a scenario can target.
const (
	ProviderSim   = "sim"
	ProviderAzure = "azure"
)

// Whether waves may touch VMs that appear after the plan.
const (
	NewInstancesExclude = "exclude"
	NewInstancesInclude = "include"
)

// Target says where evictions happen.
type Target struct {
	// Provider is sim (the built-in simulated fleet) or azure.
	Provider string `yaml:"provider" json:"provider"`
	// Azure selects real Spot VMs (provider azure only).
	Azure *AzureTarget `yaml:"azure,omitempty" json:"azure,omitempty"`
	// NewInstances says whether waves may evict VMs that join a targeted
	// pool or scale set after the plan was frozen (a scale-out, a
	// replacement): exclude (the default) or include. Included VMs count
	// against the same limits and are named in the journal before they are
	// evicted.
	NewInstances string `yaml:"newInstances,omitempty" json:"newInstances,omitempty"`
}

// AzureTarget selects Spot VMs in a subscription. Fields expand ${ENV}.
type AzureTarget struct {
	// Subscription is the subscription ID, such as ${AZURE_SUBSCRIPTION_ID}.
	Subscription string `yaml:"subscription" json:"subscription"`
	// ResourceGroups limits targets to these resource groups.
	ResourceGroups []string `yaml:"resourceGroups,omitempty" json:"resourceGroups,omitempty"`
	// ScaleSets limits targets to instances of these scale sets.
	ScaleSets []string `yaml:"scaleSets,omitempty" json:"scaleSets,omitempty"`
	// VMs limits targets to these standalone VMs.
	VMs []string `yaml:"vms,omitempty" json:"vms,omitempty"`
	// Tags limits targets to VMs carrying all these tags.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Zones limits targets to these availability zones.
	Zones []string `yaml:"zones,omitempty" json:"zones,omitempty"`
	// NodeProviderIDs limits targets to these AKS nodes (azure:///subscriptions/...).
	NodeProviderIDs []string `yaml:"nodeProviderIDs,omitempty" json:"nodeProviderIDs,omitempty"`
	// Kubernetes, when set, watches the AKS cluster the targets belong to:
	// nodes and pods are the run's second source of recovery evidence,
	// read only.
	Kubernetes *KubernetesTarget `yaml:"kubernetes,omitempty" json:"kubernetes,omitempty"`
}

// KubernetesTarget says which cluster to watch and which workloads count.
type KubernetesTarget struct {
	// Kubeconfig is the kubeconfig file; the usual resolution (KUBECONFIG,
	// then ~/.kube/config, or the in-cluster account in a pod) if absent.
	Kubeconfig string `yaml:"kubeconfig,omitempty" json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context; its current one if absent.
	Context string `yaml:"context,omitempty" json:"context,omitempty"`
	// Namespaces limits the workloads that count; all if absent.
	Namespaces []string `yaml:"namespaces,omitempty" json:"namespaces,omitempty"`
	// Selector is a label selector for the pods that count, such as
	// app=batch.
	Selector string `yaml:"selector,omitempty" json:"selector,omitempty"`
}

// Fleet describes the simulated Azure Spot fleet.
type Fleet struct {
	// Region is the Azure region the fleet pretends to run in.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// Notice is how long the Preempt Scheduled Event precedes an eviction.
	Notice Duration `yaml:"notice,omitempty" json:"notice,omitempty"`
	// NoticeDelay is how long after an accepted simulateEviction call the
	// Preempt event becomes visible.
	NoticeDelay *Dist `yaml:"noticeDelay,omitempty" json:"noticeDelay,omitempty"`
	// EvictionRate is the natural eviction rate per Spot VM-hour for every
	// zone (Azure quotes buckets such as 0-5%, 5-10%).
	EvictionRate Percent `yaml:"evictionRate,omitempty" json:"evictionRate,omitempty"`
	// MeanTimeBetweenEvictions is the alternative to EvictionRate.
	MeanTimeBetweenEvictions Duration `yaml:"meanTimeBetweenEvictions,omitempty" json:"meanTimeBetweenEvictions,omitempty"`
	// Zones declares the availability zones and their Spot markets; when
	// present, pools may use only these zones.
	Zones []Zone `yaml:"zones,omitempty" json:"zones,omitempty"`
	// Pools are the groups of identical VMs, like scale sets.
	Pools []Pool `yaml:"pools" json:"pools"`

	// explicitZeroNotice: the file writes "notice: 0s" (no notice at all).
	explicitZeroNotice bool
}

// Zone is the Spot market of one availability zone.
type Zone struct {
	// Name is the zone, such as "1".
	Name string `yaml:"name" json:"name"`
	// SpotCapacity caps Spot VMs running in the zone across pools; absent
	// means unlimited.
	SpotCapacity *int `yaml:"spotCapacity,omitempty" json:"spotCapacity,omitempty"`
	// EvictionRate overrides the fleet's rate in this zone.
	EvictionRate *Percent `yaml:"evictionRate,omitempty" json:"evictionRate,omitempty"`
}

// Priorities and eviction policies, spelled as Azure spells them.
const (
	PrioritySpot       = "Spot"
	PriorityRegular    = "Regular"
	EvictionDeallocate = "Deallocate"
	EvictionDelete     = "Delete"
)

// Pool is a set of identical VMs, like a scale set.
type Pool struct {
	// Name identifies the pool in waves, fallbacks and reports.
	Name string `yaml:"name" json:"name"`
	// SKU is the VM size, such as Standard_D4s_v5.
	SKU string `yaml:"sku,omitempty" json:"sku,omitempty"`
	// Priority is Spot or Regular.
	Priority string `yaml:"priority" json:"priority"`
	// Zones spreads the pool's VMs over these zones.
	Zones []string `yaml:"zones,omitempty" json:"zones,omitempty"`
	// Capacity is the number of VMs the pool keeps running.
	Capacity int `yaml:"capacity" json:"capacity"`
	// EvictionPolicy is Deallocate (the default for Spot pools) or Delete.
	EvictionPolicy string `yaml:"evictionPolicy,omitempty" json:"evictionPolicy,omitempty"`
	// MaxPrice is the Spot price cap in USD per hour; -1 (the default) caps at the on-demand price.
	MaxPrice *float64 `yaml:"maxPrice,omitempty" json:"maxPrice,omitempty"`
	// SpotPrice is the Spot price in USD per VM-hour.
	SpotPrice float64 `yaml:"spotPrice,omitempty" json:"spotPrice,omitempty"`
	// OnDemandPrice is the pay-as-you-go price in USD per VM-hour.
	OnDemandPrice float64 `yaml:"onDemandPrice,omitempty" json:"onDemandPrice,omitempty"`
	// Slots is the number of jobs one VM runs at once; 1 if absent.
	Slots int `yaml:"slots,omitempty" json:"slots,omitempty"`
	// Tags are the VMs' tags, for wave selections and exclusions.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Provisioning models how a new VM comes up.
	Provisioning Provisioning `yaml:"provisioning,omitempty" json:"provisioning,omitempty"`
	// Autoscale replaces lost instances.
	Autoscale Autoscale `yaml:"autoscale,omitempty" json:"autoscale,omitempty"`
	// Fallback moves lost Spot capacity to a Regular pool (Spot pools only).
	Fallback *Fallback `yaml:"fallback,omitempty" json:"fallback,omitempty"`
}

// Provisioning models how a new VM comes up.
type Provisioning struct {
	// Latency runs from the allocation request to the VM running.
	Latency *Dist `yaml:"latency,omitempty" json:"latency,omitempty"`
	// FailureRate is the chance an allocation fails for reasons other than
	// capacity or price.
	FailureRate Percent `yaml:"failureRate,omitempty" json:"failureRate,omitempty"`
	// BootstrapFailureRate is the chance a VM runs but never takes work.
	BootstrapFailureRate Percent `yaml:"bootstrapFailureRate,omitempty" json:"bootstrapFailureRate,omitempty"`
	// BootstrapTimeout is how long the autoscaler waits before it replaces a
	// VM that failed to bootstrap.
	BootstrapTimeout Duration `yaml:"bootstrapTimeout,omitempty" json:"bootstrapTimeout,omitempty"`
}

// Autoscale replaces lost instances.
type Autoscale struct {
	// Disabled stops the pool from replacing lost instances.
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Delay is how long the autoscaler takes to notice a lost instance.
	Delay Duration `yaml:"delay,omitempty" json:"delay,omitempty"`
	// RetryInterval is the wait after a failed allocation.
	RetryInterval Duration `yaml:"retryInterval,omitempty" json:"retryInterval,omitempty"`

	// explicitZeroDelay: the file writes "delay: 0s".
	explicitZeroDelay bool
}

// Fallback moves lost Spot capacity to a Regular pool when Spot cannot be had.
type Fallback struct {
	// Pool names the Regular pool to fall back to.
	Pool string `yaml:"pool" json:"pool"`
	// AfterFailures is the number of failed Spot allocations before falling back; 3 if absent.
	AfterFailures int `yaml:"afterFailures,omitempty" json:"afterFailures,omitempty"`
	// MaxInstances caps the fallback VMs; 0 means no cap.
	MaxInstances int `yaml:"maxInstances,omitempty" json:"maxInstances,omitempty"`
	// Budget caps the spend on fallback VMs in USD; 0 means no cap.
	Budget float64 `yaml:"budget,omitempty" json:"budget,omitempty"`
}

// Workload is the job queue the fleet serves.
type Workload struct {
	// Jobs says how many jobs arrive, when, and how long each computes.
	Jobs Jobs `yaml:"jobs" json:"jobs"`
	// Queue is the durable job queue with leases.
	Queue Queue `yaml:"queue,omitempty" json:"queue,omitempty"`
	// Checkpoint says how jobs save progress.
	Checkpoint Checkpoint `yaml:"checkpoint,omitempty" json:"checkpoint,omitempty"`
	// RestartCost is the time a resumed job spends before it makes progress again.
	RestartCost Duration `yaml:"restartCost,omitempty" json:"restartCost,omitempty"`
	// OnNotice is what a worker does on a Preempt notice: ignore (the default), drain or checkpoint.
	OnNotice string `yaml:"onNotice,omitempty" json:"onNotice,omitempty"`
	// DrainTime is how long a worker takes to hand its job back when it drains; 10s if absent.
	DrainTime Duration `yaml:"drainTime,omitempty" json:"drainTime,omitempty"`
	// MaxAttempts caps the attempts per job; 0 means no cap.
	MaxAttempts int `yaml:"maxAttempts,omitempty" json:"maxAttempts,omitempty"`

	// explicitZeroDrain: the file writes "drainTime: 0s".
	explicitZeroDrain bool
}

// What a worker does when it sees a Preempt notice.
const (
	OnNoticeIgnore     = "ignore"
	OnNoticeDrain      = "drain"
	OnNoticeCheckpoint = "checkpoint"
)

// Jobs says how many jobs arrive, when, and how long each computes.
type Jobs struct {
	// Count is the number of jobs submitted in the run.
	Count int `yaml:"count" json:"count"`
	// RatePerHour spreads arrivals as a Poisson process; 0 submits all at
	// the start.
	RatePerHour float64 `yaml:"ratePerHour,omitempty" json:"ratePerHour,omitempty"`
	// Duration is the compute each job needs, a duration or a distribution.
	Duration Dist `yaml:"duration" json:"duration"`
	// Idempotent jobs may safely run twice; others count duplicates.
	Idempotent *bool `yaml:"idempotent,omitempty" json:"idempotent,omitempty"`
}

// Queue is the durable job queue with leases.
type Queue struct {
	// VisibilityTimeout is the lease on a job: a job on a dead worker
	// returns to the queue when it expires. 5m if absent.
	VisibilityTimeout Duration `yaml:"visibilityTimeout,omitempty" json:"visibilityTimeout,omitempty"`
	// NoLeaseRenewal makes a lease expire after VisibilityTimeout even while
	// its worker is alive, so a long job runs twice.
	NoLeaseRenewal bool `yaml:"noLeaseRenewal,omitempty" json:"noLeaseRenewal,omitempty"`
	// Requeue says where an interrupted job goes back: "front" (retries
	// first, the default) or "back" (behind every waiting job).
	Requeue string `yaml:"requeue,omitempty" json:"requeue,omitempty"`

	// explicitZeroTimeout: the file writes "visibilityTimeout: 0s".
	explicitZeroTimeout bool
}

// Where interrupted jobs go back in the queue.
const (
	RequeueFront = "front"
	RequeueBack  = "back"
)

// Storage kinds for checkpoints.
const (
	StorageDurable = "durable"
	StorageLocal   = "local"
)

// Checkpoint says how jobs save progress.
type Checkpoint struct {
	// Interval is the compute between checkpoints; 0 means no checkpoints.
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// Cost is the time one checkpoint takes.
	Cost Duration `yaml:"cost,omitempty" json:"cost,omitempty"`
	// Storage is durable (survives the VM; the default) or local (lost when the VM is deleted).
	Storage string `yaml:"storage,omitempty" json:"storage,omitempty"`
}

// Wave is one step of the game day: an eviction or (simulated fleet only) a
// market fault, at a time from the start.
type Wave struct {
	// Name identifies the wave in the journal and reports.
	Name string `yaml:"name" json:"name"`
	// At is the time from the start of the run, before its end.
	At Duration `yaml:"at" json:"at"`
	// Evict evicts a selection of VMs.
	Evict *Selection `yaml:"evict,omitempty" json:"evict,omitempty"`
	// Fault changes the simulated Spot market (provider sim only).
	Fault *Fault `yaml:"fault,omitempty" json:"fault,omitempty"`
}

// Selection picks the VMs a wave evicts: exactly one of All, Count, Percent,
// among the VMs matching the filters, picked at random from the seed.
type Selection struct {
	// All selects every matching VM.
	All bool `yaml:"all,omitempty" json:"all,omitempty"`
	// Count selects this many matching VMs.
	Count int `yaml:"count,omitempty" json:"count,omitempty"`
	// Percent selects this share of the matching VMs.
	Percent Percent `yaml:"percent,omitempty" json:"percent,omitempty"`
	// Pools keeps only VMs of these pools.
	Pools []string `yaml:"pools,omitempty" json:"pools,omitempty"`
	// Zones keeps only VMs in these zones.
	Zones []string `yaml:"zones,omitempty" json:"zones,omitempty"`
	// Tags keeps only VMs carrying all these tags.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// Market faults of the simulated fleet.
const (
	FaultCapacityShortage = "capacityShortage"
	FaultPriceSpike       = "priceSpike"
	FaultShortNotice      = "shortNotice"
	FaultZoneOutage       = "zoneOutage"
)

// Fault changes the simulated Spot market for a while.
type Fault struct {
	// Type is capacityShortage, priceSpike, shortNotice or zoneOutage.
	Type string `yaml:"type" json:"type"`
	// Zones limits the fault to these zones; zoneOutage needs at least one.
	Zones []string `yaml:"zones,omitempty" json:"zones,omitempty"`
	// Pools limits the fault to these pools.
	Pools []string `yaml:"pools,omitempty" json:"pools,omitempty"`
	// Capacity is the Spot capacity left in each zone (capacityShortage).
	Capacity *int `yaml:"capacity,omitempty" json:"capacity,omitempty"`
	// Price is the Spot price in USD/hour while the spike lasts (priceSpike).
	Price float64 `yaml:"price,omitempty" json:"price,omitempty"`
	// Notice is the shortened Preempt notice (shortNotice).
	Notice *Duration `yaml:"notice,omitempty" json:"notice,omitempty"`
	// For is how long the fault lasts; absent means to the end of the run.
	For Duration `yaml:"for,omitempty" json:"for,omitempty"`
}

// BlastRadius limits what the game day may touch.
type BlastRadius struct {
	// MaxEvictions caps the evictions the run requests in total.
	MaxEvictions *int `yaml:"maxEvictions,omitempty" json:"maxEvictions,omitempty"`
	// MaxInFlight caps evictions requested and not yet recovered from (their
	// replacement is not running yet).
	MaxInFlight *int `yaml:"maxInFlight,omitempty" json:"maxInFlight,omitempty"`
	// MaxInFlightPercent caps evictions in flight as a share of every VM the
	// plan targets.
	MaxInFlightPercent *Percent `yaml:"maxInFlightPercent,omitempty" json:"maxInFlightPercent,omitempty"`
	// MaxPoolPercent caps evictions in flight in one pool as a share of its
	// planned size. Default 50%.
	MaxPoolPercent *Percent `yaml:"maxPoolPercent,omitempty" json:"maxPoolPercent,omitempty"`
	// MaxZonePercent caps evictions in flight in one zone as a share of the
	// targeted VMs planned there.
	MaxZonePercent *Percent `yaml:"maxZonePercent,omitempty" json:"maxZonePercent,omitempty"`
	// MinHealthyPercent is the floor of each pool's healthy running capacity
	// (running, no notice, replacements counted only once they run) as a
	// share of its planned size.
	MinHealthyPercent *Percent `yaml:"minHealthyPercent,omitempty" json:"minHealthyPercent,omitempty"`
	// MaxPerMinute caps evictions requested in any minute of the run.
	MaxPerMinute *int `yaml:"maxPerMinute,omitempty" json:"maxPerMinute,omitempty"`
	// MinWaveGap is the least time between the starts of two eviction waves.
	MinWaveGap Duration `yaml:"minWaveGap,omitempty" json:"minWaveGap,omitempty"`
	// TimeZone (IANA, like Europe/Berlin) of the windows and blackouts;
	// default UTC.
	TimeZone string `yaml:"timeZone,omitempty" json:"timeZone,omitempty"`
	// Windows are the weekly hours when evictions may happen; none means
	// any time.
	Windows []Window `yaml:"windows,omitempty" json:"windows,omitempty"`
	// Blackouts are dates (YYYY-MM-DD) with no evictions at all.
	Blackouts []string `yaml:"blackouts,omitempty" json:"blackouts,omitempty"`
	// Exclude keeps VMs out of every wave.
	Exclude Exclude `yaml:"exclude,omitempty" json:"exclude,omitempty"`
}

// Window is a weekly time range on the run's clock, in the blast radius's
// time zone. A window whose end is before its start runs past midnight.
type Window struct {
	// Days are day names or ranges: [Mon-Fri], [Sat, Sun].
	Days []string `yaml:"days" json:"days"`
	// From and To are times of day, "09:00" to "17:00"; To may be "24:00".
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
}

// Exclude keeps VMs out of every wave.
type Exclude struct {
	// Tags excludes VMs carrying any of these tags.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Names excludes these VMs.
	Names []string `yaml:"names,omitempty" json:"names,omitempty"`
	// Pools excludes every VM of these pools.
	Pools []string `yaml:"pools,omitempty" json:"pools,omitempty"`
}

// Abort ends the run early when a live metric crosses a line.
type Abort struct {
	// When is a condition on a live metric, such as "jobs.successRate < 90%".
	When Condition `yaml:"when" json:"when"`
	// Grace is how long the condition must hold before the run aborts.
	Grace Duration `yaml:"grace,omitempty" json:"grace,omitempty"`
}

// SLO is an objective the report grades.
type SLO struct {
	// Name labels the SLO in reports; the objective text if absent.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Objective is the condition the run must meet, such as "ttr.p95 <= 2m".
	Objective Condition `yaml:"objective" json:"objective"`
}

// Sweep plays the scenario many times: every combination of the values in
// Set, each with every seed. The command line's --seeds, --set, --minimize,
// --maximize, --subject-to and --probability override it.
type Sweep struct {
	// Seeds is how many seeds each grid point plays: "100" for seeds 1 to
	// 100, or a range such as "100-199". 100 if absent.
	Seeds string `yaml:"seeds,omitempty" json:"seeds,omitempty"`
	// Set lists the fields to vary, by their YAML path, with their values.
	// The grid is the product of the lists, the first varying slowest.
	Set []SweepSet `yaml:"set,omitempty" json:"set,omitempty"`
	// Minimize names the metric whose mean the best grid point has lowest.
	Minimize string `yaml:"minimize,omitempty" json:"minimize,omitempty"`
	// Maximize names the metric whose mean the best grid point has highest.
	Maximize string `yaml:"maximize,omitempty" json:"maximize,omitempty"`
	// SubjectTo names the SLOs a grid point must meet to be the best; all
	// of the scenario's if absent.
	SubjectTo []string `yaml:"subjectTo,omitempty" json:"subjectTo,omitempty"`
	// Probability is the share of runs in which a grid point must meet
	// them all; 95% if absent.
	Probability *Percent `yaml:"probability,omitempty" json:"probability,omitempty"`
}

// SweepSet is one field a sweep varies.
type SweepSet struct {
	// Path addresses the field as --set does: fleet.evictionRate,
	// workload.checkpoint.interval, fleet.pools[batch-spot].capacity.
	Path string `yaml:"path" json:"path"`
	// Values are written as in the scenario: 5%, 2m, 24.
	Values []string `yaml:"values" json:"values"`
}
