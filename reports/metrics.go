package reports

import (
	"github.com/spotdrill/spotdrill/scenarios"
)

// MetricValue is one metric of the vocabulary as measured in a run.
type MetricValue struct {
	Name string         `json:"name"`
	Unit scenarios.Unit `json:"-"`
	// Value is in the metric's unit; it means nothing unless Measured.
	Value    float64 `json:"value"`
	Measured bool    `json:"measured"`
	// Note says why a metric was not measured ("no interrupted work").
	Note string `json:"note,omitempty"`
	// Vacuous marks a metric not measured because what it measures never
	// happened (no evictions, nothing provisioned): an objective on it is
	// met by default.
	Vacuous bool `json:"vacuous,omitempty"`
}

func measured(v float64) MetricValue { return MetricValue{Value: v, Measured: true} }

func unmeasured(note string) MetricValue { return MetricValue{Note: note} }

func vacuous(note string) MetricValue { return MetricValue{Note: note, Vacuous: true} }

// Notes for metrics that were not measured.
const (
	noteNoInterruptions = "no interrupted work"
	noteNoneRecovered   = "no interrupted job recovered"
	noteNoEvictions     = "no evictions"
	noteNoneReplaced    = "no evicted VM replaced"
	noteNoSummary       = "no workload summary"
	noteNoCounts        = "no workload sample or summary"
	noteNoSubmitted     = "no job submitted"
	noteNoCompleted     = "no job completed"
	noteNoneFinished    = "no job has finished yet"
	noteNoSamples       = "no samples"
	noteNoVM            = "no VM ran"
	noteNoSpotVM        = "no Spot VM ran"
	noteNoPlan          = "no planned cost"
	noteNoCompute       = "no compute recorded"
	noteNoProvisioned   = "no VM provisioned"
	noteNoneCameUp      = "no requested VM came up"
	noteNoRequests      = "no allocation requested"
	noteNoWait          = "no job started"
	noteUnknown         = "not a metric of the vocabulary"
)

// evalCtx carries what several metrics of one evaluation share.
type evalCtx struct {
	now float64
	// final resolves what a live run leaves open: interruptions whose
	// eviction never landed count from their own time, and ttr.max no longer
	// counts jobs still down (they are unrecovered instead).
	final bool
	ttr   *values
	turn  *values
	cost  *costTotals
}

func (c *evalCtx) costs(a *Accumulator) *costTotals {
	if c.cost == nil {
		t := a.cost.totals(c.now, a.pools)
		c.cost = &t
	}
	return c.cost
}

// turnaround merges the never-interrupted jobs of the summary with the
// interrupted ones completed in the journal. Without a summary only the
// interrupted jobs are known, which would skew it: it is not measured.
func (c *evalCtx) turnaround(a *Accumulator) *values {
	if c.turn == nil {
		v := valuesOf(append(a.summaryTurn.sorted(), a.turnaround.sorted()...))
		c.turn = &v
	}
	return c.turn
}

// workCounts are the workload's totals: the summary's when the workload
// closed, else the running totals of the latest sample.
type workCounts struct {
	submitted, completed int
	compute              float64
}

func (a *Accumulator) counts() (workCounts, bool) {
	switch {
	case a.summary != nil:
		return workCounts{a.summary.Submitted, a.summary.Completed, a.summary.Compute}, true
	case a.samples > 0:
		return workCounts{a.sample.Submitted, a.sample.Completed, a.sample.Compute}, true
	}
	return workCounts{}, false
}

// measure computes one metric. Each case reads only what it needs so that a
// live Value stays cheap.
func (a *Accumulator) measure(m scenarios.Metric, c *evalCtx) MetricValue {
	v := a.measureValue(m.Name, c)
	v.Name, v.Unit = m.Name, m.Unit
	return v
}

func (a *Accumulator) measureValue(name string, c *evalCtx) MetricValue {
	switch name {
	case "evictions.count":
		return measured(float64(a.evicted))
	case "evictions.ratePerHour":
		ct := c.costs(a)
		if ct.spotSeconds <= 0 {
			return vacuous(noteNoSpotVM)
		}
		return measured(float64(a.evicted) / (ct.spotSeconds / 3600))
	case "evictions.uncorrelated":
		return measured(float64(a.uncorrelated))
	case "jobs.successRate", "jobs.spotSuccessRate", "cost.perJob", "lostWork.fraction":
		return a.measureRatio(name, c)
	case "jobs.duplicates":
		if a.summary != nil {
			return measured(float64(a.summary.Duplicates))
		}
		return measured(float64(a.duplicateEvents))
	case "jobs.turnaround.mean", "jobs.turnaround.p50", "jobs.turnaround.p95":
		return a.measureTurnaround(name, c)
	case "ttr.p50", "ttr.p95", "ttr.p99", "ttr.max":
		return a.measureTTR(name, c)
	case "ttr.unrecovered":
		return measured(float64(len(a.pending)))
	case "ttr.capacity.p50", "ttr.capacity.p95":
		return a.measureCapacityTTR(name)
	case "cost.total":
		return measured(c.costs(a).usd)
	case "cost.savings":
		return a.measureSavings(c)
	case "cost.variance":
		return a.measureVariance(c)
	case "queue.backlog.max":
		if a.samples == 0 {
			return unmeasured(noteNoSamples)
		}
		return measured(float64(a.backlogMax))
	case "queue.backlog.mean":
		if a.samples == 0 || a.sampleT <= 0 {
			return unmeasured(noteNoSamples)
		}
		return measured(a.backlogArea / a.sampleT)
	case "queue.wait.p95":
		switch {
		case a.summary == nil:
			return unmeasured(noteNoSummary)
		case a.summaryWait.len() == 0:
			return unmeasured(noteNoWait)
		}
		return measured(a.summaryWait.quantile(0.95))
	case "fallback.rate":
		ct := c.costs(a)
		if ct.seconds <= 0 {
			return unmeasured(noteNoVM)
		}
		return measured(ct.fallbackSeconds / ct.seconds)
	case "fallback.cost":
		return measured(c.costs(a).fallbackUSD)
	case "lostWork.seconds":
		return measured(a.lost)
	case "provision.latency.p50", "provision.latency.p95":
		return a.measureProvisioning(name)
	case "provision.rejectionRate":
		if a.vmRequested == 0 {
			return vacuous(noteNoRequests)
		}
		return measured(min(1, float64(a.allocFailed)/float64(a.vmRequested)))
	}
	return unmeasured(noteUnknown)
}

// measureRatio covers the metrics divided by a workload total.
func (a *Accumulator) measureRatio(name string, c *evalCtx) MetricValue {
	w, ok := a.counts()
	if name == "jobs.spotSuccessRate" && a.summary == nil {
		// Samples do not say where a job completed.
		return unmeasured(noteNoSummary)
	}
	if !ok {
		return unmeasured(noteNoCounts)
	}
	if name == "jobs.successRate" && a.summary == nil && w.completed == 0 && a.sample.Failed == 0 {
		// Until a job completes or fails, a rate of 0 would read as every
		// job failing: the TTR figures say n/a in the same case.
		return unmeasured(noteNoneFinished)
	}
	switch name {
	case "jobs.successRate":
		if w.submitted == 0 {
			return unmeasured(noteNoSubmitted)
		}
		return measured(float64(w.completed) / float64(w.submitted))
	case "jobs.spotSuccessRate":
		if w.submitted == 0 {
			return unmeasured(noteNoSubmitted)
		}
		return measured(float64(a.summary.CompletedOnSpot) / float64(w.submitted))
	case "cost.perJob":
		if w.completed == 0 {
			return unmeasured(noteNoCompleted)
		}
		return measured(c.costs(a).usd / float64(w.completed))
	default: // lostWork.fraction
		switch {
		case w.compute > 0:
			return measured(a.lost / w.compute)
		case a.lost == 0:
			return vacuous(noteNoCompute)
		}
		return unmeasured(noteNoCompute)
	}
}

func (a *Accumulator) measureTurnaround(name string, c *evalCtx) MetricValue {
	if a.summary == nil {
		return unmeasured(noteNoSummary)
	}
	v := c.turnaround(a)
	if v.len() == 0 {
		return unmeasured(noteNoCompleted)
	}
	switch name {
	case "jobs.turnaround.mean":
		return measured(v.mean())
	case "jobs.turnaround.p50":
		return measured(v.quantile(0.50))
	}
	return measured(v.quantile(0.95))
}

func (a *Accumulator) measureTTR(name string, c *evalCtx) MetricValue {
	v := c.ttr
	down, hasDown := 0.0, false
	if name == "ttr.max" && !c.final {
		// Live, a job still down has been down at least this long: an abort
		// on ttr.max fires without waiting for it to come back.
		down, hasDown = a.longestDown(c.now)
	}
	if v.len() == 0 {
		switch {
		case hasDown:
			return measured(down)
		case len(a.pending) > 0:
			return unmeasured(noteNoneRecovered)
		}
		return vacuous(noteNoInterruptions)
	}
	switch name {
	case "ttr.p50":
		return measured(v.quantile(0.50))
	case "ttr.p95":
		return measured(v.quantile(0.95))
	case "ttr.p99":
		return measured(v.quantile(0.99))
	}
	return measured(max(v.max(), down))
}

// longestDown is how long the longest-down interrupted job has been waiting,
// counting from its eviction; a job whose eviction has not landed is not
// waiting yet.
func (a *Accumulator) longestDown(now float64) (float64, bool) {
	longest, ok := 0.0, false
	for _, p := range a.pending {
		start := p.t
		if p.ev >= 0 {
			start = a.evictions.at(p.ev).evicted
			if !isSet(start) {
				continue
			}
		}
		longest, ok = max(longest, now-start), true
	}
	return longest, ok
}

func (a *Accumulator) measureCapacityTTR(name string) MetricValue {
	if a.capacityTTR.len() == 0 {
		if a.evicted > 0 {
			return unmeasured(noteNoneReplaced)
		}
		return vacuous(noteNoEvictions)
	}
	if name == "ttr.capacity.p50" {
		return measured(a.capacityTTR.quantile(0.50))
	}
	return measured(a.capacityTTR.quantile(0.95))
}

func (a *Accumulator) measureSavings(c *evalCtx) MetricValue {
	ct := c.costs(a)
	switch {
	case ct.missing != "":
		return unmeasured("no on-demand price for pool " + ct.missing)
	case ct.onDemand <= 0:
		return unmeasured(noteNoVM)
	}
	return measured(1 - ct.usd/ct.onDemand)
}

// measureVariance compares spend with the plan prorated to the time the run
// lasted, so that an aborted run compares like with like.
func (a *Accumulator) measureVariance(c *evalCtx) MetricValue {
	if a.plan == nil || a.plan.PlannedCost <= 0 {
		return unmeasured(noteNoPlan)
	}
	planned := a.plan.PlannedCost
	if d := a.run.Duration; d > 0 && c.now < d {
		planned *= c.now / d
	}
	if planned <= 0 {
		return unmeasured(noteNoPlan)
	}
	return measured((c.costs(a).usd - planned) / planned)
}

func (a *Accumulator) measureProvisioning(name string) MetricValue {
	if a.provLatency.len() == 0 {
		if a.vmRequested > 0 {
			return unmeasured(noteNoneCameUp)
		}
		return vacuous(noteNoProvisioned)
	}
	if name == "provision.latency.p50" {
		return measured(a.provLatency.quantile(0.50))
	}
	return measured(a.provLatency.quantile(0.95))
}
