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
	APIVersion  string      `yaml:"apiVersion" json:"apiVersion"`
	Kind        string      `yaml:"kind" json:"kind"`
	Metadata    Metadata    `yaml:"metadata" json:"metadata"`
	Seed        int64       `yaml:"seed,omitempty" json:"seed,omitempty"`
	Duration    Duration    `yaml:"duration" json:"duration"`
	Start       string      `yaml:"start,omitempty" json:"start,omitempty"`
	Target      Target      `yaml:"target" json:"target"`
	Fleet       *Fleet      `yaml:"fleet,omitempty" json:"fleet,omitempty"`
	Workload    *Workload   `yaml:"workload,omitempty" json:"workload,omitempty"`
	Waves       []Wave      `yaml:"waves,omitempty" json:"waves,omitempty"`
	BlastRadius BlastRadius `yaml:"blastRadius,omitempty" json:"blastRadius,omitempty"`
	AbortWhen   []Abort     `yaml:"abortWhen,omitempty" json:"abortWhen,omitempty"`
	SLOs        []SLO       `yaml:"slos,omitempty" json:"slos,omitempty"`

	// File is where the scenario was read from.
	File string `yaml:"-" json:"-"`
}

// Metadata names the game day.
type Metadata struct {
	Name        string            `yaml:"name" json:"name"`
	Description string            `yaml:"description,omitempty" json:"description,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// Providers a scenario can target.
const (
	ProviderSim   = "sim"
	ProviderAzure = "azure"
)

// Target says where evictions happen.
type Target struct {
	Provider string       `yaml:"provider" json:"provider"`
	Azure    *AzureTarget `yaml:"azure,omitempty" json:"azure,omitempty"`
}

// AzureTarget selects Spot VMs in a subscription. Fields expand ${ENV}.
type AzureTarget struct {
	Subscription    string            `yaml:"subscription" json:"subscription"`
	ResourceGroups  []string          `yaml:"resourceGroups,omitempty" json:"resourceGroups,omitempty"`
	ScaleSets       []string          `yaml:"scaleSets,omitempty" json:"scaleSets,omitempty"`
	VMs             []string          `yaml:"vms,omitempty" json:"vms,omitempty"`
	Tags            map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Zones           []string          `yaml:"zones,omitempty" json:"zones,omitempty"`
	NodeProviderIDs []string          `yaml:"nodeProviderIDs,omitempty" json:"nodeProviderIDs,omitempty"`
}

// Fleet describes the simulated Azure Spot fleet.
type Fleet struct {
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
	Zones                    []Zone   `yaml:"zones,omitempty" json:"zones,omitempty"`
	Pools                    []Pool   `yaml:"pools" json:"pools"`
}

// Zone is the Spot market of one availability zone.
type Zone struct {
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
	Name           string            `yaml:"name" json:"name"`
	SKU            string            `yaml:"sku,omitempty" json:"sku,omitempty"`
	Priority       string            `yaml:"priority" json:"priority"`
	Zones          []string          `yaml:"zones,omitempty" json:"zones,omitempty"`
	Capacity       int               `yaml:"capacity" json:"capacity"`
	EvictionPolicy string            `yaml:"evictionPolicy,omitempty" json:"evictionPolicy,omitempty"`
	MaxPrice       *float64          `yaml:"maxPrice,omitempty" json:"maxPrice,omitempty"`
	SpotPrice      float64           `yaml:"spotPrice,omitempty" json:"spotPrice,omitempty"`
	OnDemandPrice  float64           `yaml:"onDemandPrice,omitempty" json:"onDemandPrice,omitempty"`
	Slots          int               `yaml:"slots,omitempty" json:"slots,omitempty"`
	Tags           map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Provisioning   Provisioning      `yaml:"provisioning,omitempty" json:"provisioning,omitempty"`
	Autoscale      Autoscale         `yaml:"autoscale,omitempty" json:"autoscale,omitempty"`
	Fallback       *Fallback         `yaml:"fallback,omitempty" json:"fallback,omitempty"`
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
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Delay is how long the autoscaler takes to notice a lost instance.
	Delay Duration `yaml:"delay,omitempty" json:"delay,omitempty"`
	// RetryInterval is the wait after a failed allocation.
	RetryInterval Duration `yaml:"retryInterval,omitempty" json:"retryInterval,omitempty"`
}

// Fallback moves lost Spot capacity to a Regular pool when Spot cannot be had.
type Fallback struct {
	Pool          string  `yaml:"pool" json:"pool"`
	AfterFailures int     `yaml:"afterFailures,omitempty" json:"afterFailures,omitempty"`
	MaxInstances  int     `yaml:"maxInstances,omitempty" json:"maxInstances,omitempty"`
	Budget        float64 `yaml:"budget,omitempty" json:"budget,omitempty"`
}

// Workload is the job queue the fleet serves.
type Workload struct {
	Jobs        Jobs       `yaml:"jobs" json:"jobs"`
	Queue       Queue      `yaml:"queue,omitempty" json:"queue,omitempty"`
	Checkpoint  Checkpoint `yaml:"checkpoint,omitempty" json:"checkpoint,omitempty"`
	RestartCost Duration   `yaml:"restartCost,omitempty" json:"restartCost,omitempty"`
	OnNotice    string     `yaml:"onNotice,omitempty" json:"onNotice,omitempty"`
	DrainTime   Duration   `yaml:"drainTime,omitempty" json:"drainTime,omitempty"`
	MaxAttempts int        `yaml:"maxAttempts,omitempty" json:"maxAttempts,omitempty"`
}

// What a worker does when it sees a Preempt notice.
const (
	OnNoticeIgnore     = "ignore"
	OnNoticeDrain      = "drain"
	OnNoticeCheckpoint = "checkpoint"
)

// Jobs says how many jobs arrive, when, and how long each computes.
type Jobs struct {
	Count int `yaml:"count" json:"count"`
	// RatePerHour spreads arrivals as a Poisson process; 0 submits all at
	// the start.
	RatePerHour float64 `yaml:"ratePerHour,omitempty" json:"ratePerHour,omitempty"`
	Duration    Dist    `yaml:"duration" json:"duration"`
	// Idempotent jobs may safely run twice; others count duplicates.
	Idempotent *bool `yaml:"idempotent,omitempty" json:"idempotent,omitempty"`
}

// Queue is the durable job queue with leases.
type Queue struct {
	VisibilityTimeout Duration `yaml:"visibilityTimeout,omitempty" json:"visibilityTimeout,omitempty"`
	// NoLeaseRenewal makes a lease expire after VisibilityTimeout even while
	// its worker is alive, so a long job runs twice.
	NoLeaseRenewal bool `yaml:"noLeaseRenewal,omitempty" json:"noLeaseRenewal,omitempty"`
	// Requeue says where an interrupted job goes back: "front" (retries
	// first, the default) or "back" (behind every waiting job).
	Requeue string `yaml:"requeue,omitempty" json:"requeue,omitempty"`
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
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	Cost     Duration `yaml:"cost,omitempty" json:"cost,omitempty"`
	Storage  string   `yaml:"storage,omitempty" json:"storage,omitempty"`
}

// Wave is one step of the game day: an eviction or (simulated fleet only) a
// market fault, at a time from the start.
type Wave struct {
	Name  string     `yaml:"name" json:"name"`
	At    Duration   `yaml:"at" json:"at"`
	Evict *Selection `yaml:"evict,omitempty" json:"evict,omitempty"`
	Fault *Fault     `yaml:"fault,omitempty" json:"fault,omitempty"`
}

// Selection picks the VMs a wave evicts: exactly one of All, Count, Percent,
// among the VMs matching the filters, picked at random from the seed.
type Selection struct {
	All     bool              `yaml:"all,omitempty" json:"all,omitempty"`
	Count   int               `yaml:"count,omitempty" json:"count,omitempty"`
	Percent Percent           `yaml:"percent,omitempty" json:"percent,omitempty"`
	Pools   []string          `yaml:"pools,omitempty" json:"pools,omitempty"`
	Zones   []string          `yaml:"zones,omitempty" json:"zones,omitempty"`
	Tags    map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
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
	Type  string   `yaml:"type" json:"type"`
	Zones []string `yaml:"zones,omitempty" json:"zones,omitempty"`
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
	MaxEvictions *int    `yaml:"maxEvictions,omitempty" json:"maxEvictions,omitempty"`
	Exclude      Exclude `yaml:"exclude,omitempty" json:"exclude,omitempty"`
}

// Exclude keeps VMs out of every wave.
type Exclude struct {
	Tags  map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Names []string          `yaml:"names,omitempty" json:"names,omitempty"`
	Pools []string          `yaml:"pools,omitempty" json:"pools,omitempty"`
}

// Abort ends the run early when a live metric crosses a line.
type Abort struct {
	When  Condition `yaml:"when" json:"when"`
	Grace Duration  `yaml:"grace,omitempty" json:"grace,omitempty"`
}

// SLO is an objective the report grades.
type SLO struct {
	Name      string    `yaml:"name,omitempty" json:"name,omitempty"`
	Objective Condition `yaml:"objective" json:"objective"`
}
