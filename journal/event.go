// Package journal is the record of a game day: an append-only file of JSON
// lines, one event each, that every report is computed from. Its types are
// the vocabulary the runner, the simulated fleet, the Azure provider and the
// reports share.
package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SchemaVersion changes whenever an event's meaning or a field changes in a
// way an older reader would misread.
// Version 2: the plan records resource IDs (targets, and each wave's
// targets as indexes into them) and its digest; eviction.requested is
// written before the call it describes, eviction.accepted after it.
const SchemaVersion = 2

// Type names what happened.
type Type string

// The events of a run, in the order a run usually produces them.
const (
	RunStarted Type = "run.started"
	Planned    Type = "plan"
	// PlanExtended names a VM that joined a targeted pool after the plan,
	// admitted by target.newInstances: include, before it is evicted.
	PlanExtended Type = "plan.extended"

	WaveStarted Type = "wave.started"

	// EvictionRequested is written, and reaches the file, before the
	// simulateEviction call it describes; EvictionAccepted or
	// EvictionFailed follows with what the platform answered.
	EvictionRequested Type = "eviction.requested"
	EvictionAccepted  Type = "eviction.accepted"
	EvictionBlocked   Type = "eviction.blocked"
	EvictionFailed    Type = "eviction.failed"
	EvictionNoticed   Type = "eviction.noticed"
	EvictionDrained   Type = "eviction.drained"
	EvictionEvicted   Type = "eviction.evicted"
	// EvictionUncorrelated is the correlator's finding that an eviction on
	// a real fleet had no workload signal (F9).
	EvictionUncorrelated Type = "eviction.uncorrelated"

	JobInterrupted Type = "job.interrupted"
	JobResumed     Type = "job.resumed"
	JobCompleted   Type = "job.completed"
	JobFailed      Type = "job.failed"

	VMRequested        Type = "vm.requested"
	VMRunning          Type = "vm.running"
	VMAllocationFailed Type = "vm.allocationFailed"
	VMBootstrapFailed  Type = "vm.bootstrapFailed"
	VMDeleted          Type = "vm.deleted"

	FaultStarted Type = "fault.started"
	FaultEnded   Type = "fault.ended"
	PriceChanged Type = "price.changed"

	Sampled Type = "sample"
	Note    Type = "note"
	Aborted Type = "abort"

	WorkloadSummarized Type = "workload.summary"
	RunEnded           Type = "run.ended"
)

// Causes of an eviction.
const (
	CauseInjected = "injected" // simulateEviction called by this run
	CauseNatural  = "natural"  // the Spot market's own rate
	CauseCapacity = "capacity" // Spot capacity shrank below what runs
	CausePrice    = "price"    // Spot price rose above the VM's max price
	CauseOutage   = "outage"   // the zone went down
)

// CodeAKSPod marks job events about Kubernetes pods, written from the
// cluster's API on an AKS game day; notes about the cluster carry codes
// that start with "aks.".
const CodeAKSPod = "aks.pod"

// Run statuses in run.ended.
const (
	StatusCompleted = "completed"
	StatusAborted   = "aborted"
	StatusFailed    = "failed"
)

// Event is one line of the journal. Common fields are flat so that tools
// like jq read them directly; the rare, larger payloads hang off pointers.
// T is seconds since the start of the run: virtual seconds on the simulated
// fleet, wall seconds on Azure.
type Event struct {
	Seq  int64   `json:"seq"`
	T    float64 `json:"t"`
	Type Type    `json:"type"`

	Wave  string `json:"wave,omitempty"`
	VM    string `json:"vm,omitempty"`
	Pool  string `json:"pool,omitempty"`
	Zone  string `json:"zone,omitempty"`
	Job   string `json:"job,omitempty"`
	Cause string `json:"cause,omitempty"`

	// Reason explains a refusal, a failure or a note, in words.
	Reason string `json:"reason,omitempty"`
	// Code is a machine-readable reason: an ARM error code, a blast-radius
	// limit, an allocation failure kind.
	Code string `json:"code,omitempty"`

	// Policy is the eviction policy (Deallocate or Delete).
	Policy string `json:"policy,omitempty"`
	// At is a time in the same clock as T that the event refers to: when a
	// noticed eviction will land (NotBefore), when a completed job was
	// submitted, when a running VM was requested, when an interrupted
	// attempt started.
	At *float64 `json:"at,omitempty"`
	// Submitted is when the job entered the queue.
	Submitted *float64 `json:"submitted,omitempty"`
	Attempt   int      `json:"attempt,omitempty"`
	// Lost is compute thrown away, in seconds.
	Lost float64 `json:"lost,omitempty"`
	// CheckpointLost marks work whose checkpoint died with the VM (F5).
	CheckpointLost bool `json:"checkpointLost,omitempty"`
	// Released marks a job that its worker handed back before the VM went.
	Released bool `json:"released,omitempty"`
	// DrainLate marks a drain or checkpoint-on-notice that the eviction cut
	// short (F2).
	DrainLate bool    `json:"drainLate,omitempty"`
	Fallback  bool    `json:"fallback,omitempty"`
	Duplicate bool    `json:"duplicate,omitempty"`
	Replaces  string  `json:"replaces,omitempty"`
	Priority  string  `json:"priority,omitempty"`
	Price     float64 `json:"price,omitempty"`
	Count     int     `json:"count,omitempty"`
	Value     float64 `json:"value,omitempty"`
	Status    string  `json:"status,omitempty"`

	// TraceID and SpanID tie the event to the run's OpenTelemetry trace.
	TraceID string `json:"traceId,omitempty"`
	SpanID  string `json:"spanId,omitempty"`

	Run     *Run     `json:"run,omitempty"`
	Plan    *Plan    `json:"plan,omitempty"`
	Fault   *Fault   `json:"fault,omitempty"`
	Sample  *Sample  `json:"sample,omitempty"`
	Summary *Summary `json:"summary,omitempty"`
}

// Run describes the game day in run.started: enough to grade and report it
// without the scenario file.
type Run struct {
	SchemaVersion int    `json:"schemaVersion"`
	Tool          string `json:"tool"`
	Scenario      string `json:"scenario"`
	File          string `json:"file,omitempty"`
	// ScenarioSHA256 identifies the exact scenario text.
	ScenarioSHA256 string `json:"scenarioSha256,omitempty"`
	Provider       string `json:"provider"`
	Seed           int64  `json:"seed"`
	// Start is the run's clock at T=0 (RFC 3339): virtual on the simulated
	// fleet, so a simulated journal never holds wall-clock time.
	Start    string   `json:"start"`
	Duration float64  `json:"duration"`
	Pools    []Pool   `json:"pools,omitempty"`
	SLOs     []SLO    `json:"slos,omitempty"`
	Aborts   []string `json:"abortWhen,omitempty"`
	Waves    []string `json:"waves,omitempty"`
}

// Pool is what reports need to know of a pool: prices and size.
type Pool struct {
	Name           string   `json:"name"`
	Priority       string   `json:"priority"`
	SKU            string   `json:"sku,omitempty"`
	Zones          []string `json:"zones,omitempty"`
	Capacity       int      `json:"capacity"`
	EvictionPolicy string   `json:"evictionPolicy,omitempty"`
	SpotPrice      float64  `json:"spotPrice,omitempty"`
	OnDemandPrice  float64  `json:"onDemandPrice,omitempty"`
	// FallbackFor names the Spot pool this Regular pool stands in for.
	FallbackFor string `json:"fallbackFor,omitempty"`
}

// SLO is an objective as written in the scenario.
type SLO struct {
	Name      string `json:"name,omitempty"`
	Objective string `json:"objective"`
}

// Plan is the frozen plan: the exact resources the run may touch.
type Plan struct {
	// Digest is the SHA-256 of the plan that the person confirmed.
	Digest string `json:"digest,omitempty"`
	// NewInstances is exclude or include (target.newInstances).
	NewInstances string `json:"newInstances,omitempty"`
	// Targets are the resource IDs in the plan (VM IDs on the simulated
	// fleet).
	Targets     []string    `json:"targets"`
	Excluded    []Exclusion `json:"excluded,omitempty"`
	Waves       []PlanWave  `json:"waves,omitempty"`
	PlannedCost float64     `json:"plannedCost"`
	// TargetCount is how many targets a schema 1 journal's plan had: it
	// recorded a count instead of the IDs.
	TargetCount int `json:"-"`
}

// Size is how many targets the plan holds.
func (p *Plan) Size() int {
	if p.Targets == nil {
		return p.TargetCount
	}
	return len(p.Targets)
}

// UnmarshalJSON reads both schemas: targets as IDs (2) or a count (1).
func (p *Plan) UnmarshalJSON(b []byte) error {
	type plain Plan
	var v struct {
		plain
		Targets json.RawMessage `json:"targets"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Plan(v.plain)
	t := bytes.TrimSpace(v.Targets)
	switch {
	case len(t) == 0 || bytes.Equal(t, []byte("null")):
	case t[0] == '[':
		return json.Unmarshal(t, &p.Targets)
	default:
		return json.Unmarshal(t, &p.TargetCount)
	}
	return nil
}

// Exclusion is a VM the plan leaves out, and why.
type Exclusion struct {
	VM     string `json:"vm"`
	Reason string `json:"reason"`
}

// PlanWave is one wave as planned, with the targets it may touch as
// indexes into the plan's targets.
type PlanWave struct {
	Name    string  `json:"name"`
	At      float64 `json:"at"`
	What    string  `json:"what"`
	Targets []int   `json:"targets,omitempty"`
}

// Fault is a market fault in fault.started.
type Fault struct {
	Type     string   `json:"type"`
	Zones    []string `json:"zones,omitempty"`
	Pools    []string `json:"pools,omitempty"`
	Capacity *int     `json:"capacity,omitempty"`
	Price    float64  `json:"price,omitempty"`
	Notice   *float64 `json:"notice,omitempty"`
	Until    float64  `json:"until,omitempty"`
}

// Sample is the fleet and queue between two samples. Gauges are as of T;
// the Max and Area fields cover the interval since the previous sample so
// that peaks and time-weighted means are exact.
type Sample struct {
	Spot         int `json:"spot"`
	Regular      int `json:"regular"`
	Fallback     int `json:"fallback"`
	Provisioning int `json:"provisioning"`
	Noticed      int `json:"noticed"`
	Backlog      int `json:"backlog"`
	Running      int `json:"running"`
	BacklogMax   int `json:"backlogMax"`
	// BacklogArea is the integral of the backlog over the interval, in
	// job-seconds.
	BacklogArea float64 `json:"backlogArea"`
	// Running totals of the workload so far, for live grading.
	Submitted int     `json:"submitted"`
	Completed int     `json:"completed"`
	Failed    int     `json:"failed"`
	Compute   float64 `json:"compute"`
}

// Summary closes the workload: counts of everything, and the exact values of
// work that no eviction touched (interrupted work has events of its own).
type Summary struct {
	Submitted       int `json:"submitted"`
	Completed       int `json:"completed"`
	CompletedOnSpot int `json:"completedOnSpot"`
	Failed          int `json:"failed"`
	Duplicates      int `json:"duplicates"`
	Unfinished      int `json:"unfinished"`
	// Compute is all compute spent, in seconds (useful and lost).
	Compute float64 `json:"compute"`
	// Turnaround holds submit-to-done seconds of every completed job that
	// was never interrupted, in completion order.
	Turnaround Values `json:"turnaround,omitempty"`
	// Wait holds submit-or-requeue to start seconds of every attempt.
	Wait Values `json:"wait,omitempty"`
	// More marks a part of the lists that the next workload.summary event
	// continues; the last part (More false) carries the counts. A large
	// run's lists are split so that no journal line passes MaxLine.
	More bool `json:"more,omitempty"`
}

// SummaryChunk is how many values of each list one workload.summary event
// holds at most: a line stays well under MaxLine.
const SummaryChunk = 1 << 20

// SummaryParts splits a summary into events that each hold at most
// SummaryChunk values of each list; all but the last have More set and
// carry only values.
func SummaryParts(s *Summary) []*Summary {
	var parts []*Summary
	turn, wait := s.Turnaround, s.Wait
	for len(turn) > SummaryChunk || len(wait) > SummaryChunk {
		n, m := min(len(turn), SummaryChunk), min(len(wait), SummaryChunk)
		parts = append(parts, &Summary{Turnaround: turn[:n], Wait: wait[:m], More: true})
		turn, wait = turn[n:], wait[m:]
	}
	last := *s
	last.Turnaround, last.Wait = turn, wait
	return append(parts, &last)
}

// Seconds converts a run-clock duration to the journal's T.
func Seconds(d time.Duration) float64 { return d.Seconds() }

// Ptr is a helper for the optional time fields.
func Ptr(v float64) *float64 { return &v }

// Values is a list of seconds. It encodes without reflection because a
// large run's summary holds millions of them.
type Values []float64

// MarshalJSON writes the shortest decimal of each value.
func (v Values) MarshalJSON() ([]byte, error) {
	return v.appendJSON(make([]byte, 0, 2+len(v)*9))
}

func (v Values) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendFloat(b, x); err != nil {
			return nil, fmt.Errorf("journal: value %d: %w", i, err)
		}
	}
	return append(b, ']'), nil
}

// ShortVM shortens an Azure resource ID to what a person reads as the VM's
// name: "batch-spot/3" for a scale-set instance, the VM's name for a VM.
// Other names (the simulated fleet's) are kept as they are.
func ShortVM(id string) string {
	if !strings.HasPrefix(id, "/subscriptions/") {
		return id
	}
	lower := strings.ToLower(id)
	if i := strings.LastIndex(lower, "/virtualmachinescalesets/"); i >= 0 {
		rest := id[i+len("/virtualmachinescalesets/"):]
		set, inst, ok := strings.Cut(rest, "/")
		if _, n, ok2 := strings.Cut(inst, "/"); ok && ok2 {
			return set + "/" + n
		}
		return set
	}
	if i := strings.LastIndex(lower, "/virtualmachines/"); i >= 0 {
		return id[i+len("/virtualmachines/"):]
	}
	return id
}
