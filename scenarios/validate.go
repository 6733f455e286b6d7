package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/spotdrill/spotdrill/internal/textsafe"
)

// NameRule is what a name that goes into file names, lock names and tags
// may be: like a Kubernetes label value.
const NameRule = "1 to 63 characters: lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or a digit"

// MaxNameLen bounds metadata.name.
const MaxNameLen = 63

// CheckName says what is wrong with a name used in paths (the journal's
// folder), lock files and tags, or "" when it is fine. Such a name can
// never climb out of its folder: it has no '/', no '\\' and cannot be "..".
func CheckName(name string) string {
	if len(name) > MaxNameLen {
		return fmt.Sprintf("is %d characters long", len(name))
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Sprintf("has %s at byte %d", strconv.QuoteRune(r), i)
		}
	}
	first, last := name[0], name[len(name)-1]
	if !isAlnum(first) || !isAlnum(last) {
		return "does not start and end with a letter or a digit"
	}
	return ""
}

// Bounds of the other names: pools, zones and waves (MaxLabelLen), SLO
// names (MaxTextLen). They reach reports, the console and journals, never
// paths, so any printable text is fine.
const (
	MaxLabelLen = 63
	MaxTextLen  = 200
)

// label checks a name that people read: printable (no control or
// formatting character, valid UTF-8) and bounded.
func (v *validator) label(field, name string, max int) {
	switch {
	case !textsafe.Safe(name):
		v.add(field, "%s has characters that are not printable (expected printable text)", textsafe.Quote(name))
	case utf8.RuneCountInString(name) > max:
		v.add(field, "is %d characters long (expected at most %d)", utf8.RuneCountInString(name), max)
	}
}

func isAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// Bounds on the numbers of a scenario: generous for real game days, and
// small enough that no scenario can make the simulator allocate without
// bound. The README states them; the JSON Schema carries them.
const (
	// MaxJobs caps workload.jobs.count: the simulator keeps every job in
	// memory.
	MaxJobs = 5_000_000
	// MaxPoolCapacity caps one pool; MaxFleet all pools together.
	MaxPoolCapacity = 100_000
	MaxFleet        = 200_000
	// MaxSlots caps the jobs one VM runs at once; MaxFleetSlots the slots
	// of the whole fleet at its planned size.
	MaxSlots      = 1_000
	MaxFleetSlots = 5_000_000
	// MaxWaves caps the waves of a game day.
	MaxWaves = 10_000
	// MaxRunDuration caps duration; MaxDuration any other duration.
	MaxRunDuration = 90 * 24 * time.Hour
	MaxDuration    = 365 * 24 * time.Hour
	// MaxRatePerHour caps job arrivals.
	MaxRatePerHour = 10_000_000
	// MaxCount caps the other counts (capacities of faults and zones,
	// blast-radius counts, attempts).
	MaxCount = 10_000_000
)

// Validate checks a defaulted scenario and returns every problem found, each
// naming its field; Parse adds the line and column. It also parses the
// conditions of slos and abortWhen, filling their Metric, Op and Value.
// Call ApplyDefaults first: Validate does not treat absent optional fields
// as defaults.
func (s *Scenario) Validate() []Problem {
	v := &validator{file: s.File, s: s}
	v.header()
	v.target()
	if s.Target.Provider != ProviderAzure {
		v.fleet()
		v.workload()
	}
	v.waves()
	v.blastRadius()
	v.conditions()
	v.sweep()
	return v.probs
}

type validator struct {
	file  string
	s     *Scenario
	probs []Problem
	// pools and zones of the simulated fleet, by name, for references.
	pools map[string]*Pool
	zones map[string]bool
}

func (v *validator) add(field, format string, args ...any) {
	v.probs = append(v.probs, Problem{File: v.file, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) sim() bool { return v.s.Target.Provider == ProviderSim }

func (v *validator) header() {
	s := v.s
	v.exact("apiVersion", s.APIVersion, APIVersion)
	v.exact("kind", s.Kind, Kind)
	if strings.TrimSpace(s.Metadata.Name) == "" {
		v.add("metadata.name", "missing (expected a name for the game day)")
	} else if why := CheckName(s.Metadata.Name); why != "" {
		v.add("metadata.name", "%s %s (expected %s)", textsafe.Quote(s.Metadata.Name), why, NameRule)
	}
	v.positive("duration", s.Duration, "a run length like 2h")
	if s.Duration.D() > MaxRunDuration {
		v.add("duration", "%s is longer than %s (expected a game day of at most 90 days)", s.Duration, FormatDuration(MaxRunDuration))
	}
	if _, err := time.Parse(time.RFC3339, s.Start); err != nil {
		v.add("start", "%q is not a time (expected an RFC 3339 time like %s)", s.Start, DefaultStart)
	}
}

func (v *validator) exact(field, got, want string) {
	switch got {
	case want:
	case "":
		v.add(field, "missing (expected %s)", want)
	default:
		v.add(field, "%q is not supported (expected %s)", got, want)
	}
}

func (v *validator) target() {
	s := v.s
	if !v.oneOf("target.provider", s.Target.Provider, ProviderSim, ProviderAzure) {
		return
	}
	if s.Target.NewInstances != "" {
		v.oneOf("target.newInstances", s.Target.NewInstances, NewInstancesExclude, NewInstancesInclude)
	}
	if v.sim() {
		if s.Target.Azure != nil {
			v.add("target.azure", "set with provider sim (expected no target.azure, or provider azure)")
		}
		if s.Fleet == nil {
			v.add("fleet", "missing (expected a fleet with at least one pool for provider sim)")
		}
		return
	}
	switch a := s.Target.Azure; {
	case a == nil:
		v.add("target.azure", "missing (expected target.azure with a subscription for provider azure)")
	case strings.TrimSpace(a.Subscription) == "":
		v.add("target.azure.subscription", "missing (expected a subscription ID, or ${AZURE_SUBSCRIPTION_ID})")
	}
	if a := s.Target.Azure; a != nil && a.Kubernetes != nil {
		if _, err := labels.Parse(a.Kubernetes.Selector); err != nil {
			v.add("target.azure.kubernetes.selector", "%s is not a label selector: %v (expected, for example, app=batch,tier!=web)", textsafe.Quote(a.Kubernetes.Selector), err)
		}
		for i, ns := range a.Kubernetes.Namespaces {
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				v.add(fmt.Sprintf("target.azure.kubernetes.namespaces[%d]", i), "%s is not a namespace name (expected a DNS-1123 label such as batch-jobs)", textsafe.Quote(ns))
			}
		}
	}
	if s.Fleet != nil {
		v.add("fleet", "set with provider azure (expected no fleet: the azure provider evicts real VMs; use provider sim for a simulated fleet)")
	}
	if s.Workload != nil {
		v.add("workload", "set with provider azure (expected no workload: real workloads report through OpenTelemetry; use provider sim for a simulated workload)")
	}
}

func (v *validator) fleet() {
	f := v.s.Fleet
	if f == nil {
		return
	}
	v.nonNegative("fleet.notice", f.Notice)
	if f.NoticeDelay != nil {
		v.dist("fleet.noticeDelay", *f.NoticeDelay)
	}
	v.percent("fleet.evictionRate", f.EvictionRate)
	v.nonNegative("fleet.meanTimeBetweenEvictions", f.MeanTimeBetweenEvictions)
	if f.EvictionRate != 0 && f.MeanTimeBetweenEvictions != 0 {
		v.add("fleet.meanTimeBetweenEvictions", "set together with evictionRate (expected one of evictionRate and meanTimeBetweenEvictions)")
	}
	v.zones = map[string]bool{}
	for i, z := range f.Zones {
		field := fmt.Sprintf("fleet.zones[%d]", i)
		switch {
		case strings.TrimSpace(z.Name) == "":
			v.add(field+".name", "missing (expected a zone name like \"1\")")
		case v.zones[z.Name]:
			v.add(field+".name", "zone %q is declared twice (expected unique zone names)", z.Name)
		default:
			v.label(field+".name", z.Name, MaxLabelLen)
		}
		v.zones[z.Name] = true
		if z.SpotCapacity != nil && *z.SpotCapacity > MaxCount {
			v.add(field+".spotCapacity", "%d is more than %d", *z.SpotCapacity, MaxCount)
		}
		if z.SpotCapacity != nil && *z.SpotCapacity < 0 {
			v.add(field+".spotCapacity", "%d is negative (expected 0 or more VMs)", *z.SpotCapacity)
		}
		if z.EvictionRate != nil {
			v.percent(field+".evictionRate", *z.EvictionRate)
		}
	}
	if len(f.Pools) == 0 {
		v.add("fleet.pools", "no pools (expected at least one pool)")
	}
	v.pools = map[string]*Pool{}
	for i := range f.Pools {
		p := &f.Pools[i]
		field := fmt.Sprintf("fleet.pools[%d]", i)
		switch {
		case strings.TrimSpace(p.Name) == "":
			v.add(field+".name", "missing (expected a pool name)")
		case v.pools[p.Name] != nil:
			v.add(field+".name", "pool %q is declared twice (expected unique pool names)", p.Name)
		default:
			v.label(field+".name", p.Name, MaxLabelLen)
			v.pools[p.Name] = p
		}
	}
	declared := len(f.Zones) > 0
	vms, slots := 0, 0
	for i := range f.Pools {
		p := &f.Pools[i]
		v.pool(fmt.Sprintf("fleet.pools[%d]", i), p, declared)
		if p.Capacity > 0 && p.Capacity <= MaxPoolCapacity && p.Slots > 0 && p.Slots <= MaxSlots {
			vms += p.Capacity
			slots += p.Capacity * p.Slots
		}
	}
	switch {
	case vms > MaxFleet:
		v.add("fleet.pools", "the pools hold %d VMs together (expected at most %d)", vms, MaxFleet)
	case slots > MaxFleetSlots:
		v.add("fleet.pools", "the pools run %d jobs at once together, capacity times slots (expected at most %d)", slots, MaxFleetSlots)
	}
}

func (v *validator) pool(field string, p *Pool, zonesDeclared bool) {
	v.oneOf(field+".priority", p.Priority, PrioritySpot, PriorityRegular)
	switch {
	case p.Capacity < 0:
		v.add(field+".capacity", "%d is negative (expected 0 or more VMs)", p.Capacity)
	case p.Capacity > MaxPoolCapacity:
		v.add(field+".capacity", "%d VMs are more than a pool may have (expected at most %d)", p.Capacity, MaxPoolCapacity)
	}
	seen := map[string]bool{}
	for j, z := range p.Zones {
		zf := fmt.Sprintf("%s.zones[%d]", field, j)
		switch {
		case seen[z]:
			v.add(zf, "zone %q is listed twice (expected each zone once)", z)
		case zonesDeclared && !v.zones[z]:
			v.add(zf, "zone %q is not in fleet.zones (expected one of %s)", z, v.zoneList())
		}
		seen[z] = true
		if !zonesDeclared {
			v.zones[z] = true
		}
	}
	if p.EvictionPolicy != "" {
		v.oneOf(field+".evictionPolicy", p.EvictionPolicy, EvictionDeallocate, EvictionDelete)
	}
	if p.MaxPrice != nil && *p.MaxPrice != -1 && !(*p.MaxPrice > 0 && !math.IsInf(*p.MaxPrice, 1)) {
		v.add(field+".maxPrice", "%v is not a price cap (expected -1 for no cap, or a price above 0 in USD per hour)", *p.MaxPrice)
	}
	v.money(field+".spotPrice", p.SpotPrice)
	v.money(field+".onDemandPrice", p.OnDemandPrice)
	switch {
	case p.Slots < 1:
		v.add(field+".slots", "%d is less than 1 (expected the number of jobs a VM runs at once, 1 or more)", p.Slots)
	case p.Slots > MaxSlots:
		v.add(field+".slots", "%d is more than a VM runs at once (expected 1 to %d)", p.Slots, MaxSlots)
	}
	if p.Provisioning.Latency != nil {
		v.dist(field+".provisioning.latency", *p.Provisioning.Latency)
	}
	v.percent(field+".provisioning.failureRate", p.Provisioning.FailureRate)
	v.percent(field+".provisioning.bootstrapFailureRate", p.Provisioning.BootstrapFailureRate)
	v.nonNegative(field+".provisioning.bootstrapTimeout", p.Provisioning.BootstrapTimeout)
	v.nonNegative(field+".autoscale.delay", p.Autoscale.Delay)
	v.nonNegative(field+".autoscale.retryInterval", p.Autoscale.RetryInterval)
	if p.Fallback != nil {
		v.fallback(field+".fallback", p)
	}
}

func (v *validator) fallback(field string, p *Pool) {
	fb := p.Fallback
	if p.Priority == PriorityRegular {
		v.add(field, "set on a Regular pool (expected a fallback only on Spot pools)")
	}
	target := v.pools[fb.Pool]
	switch {
	case fb.Pool == "":
		v.add(field+".pool", "missing (expected the name of a Regular pool)")
	case fb.Pool == p.Name:
		v.add(field+".pool", "pool %q falls back to itself (expected another, Regular pool)", fb.Pool)
	case target == nil:
		v.add(field+".pool", "no pool is named %q (expected one of %s)", fb.Pool, v.poolList())
	case target.Priority != PriorityRegular:
		v.add(field+".pool", "pool %q is %s (expected a Regular pool)", fb.Pool, target.Priority)
	}
	if fb.AfterFailures < 0 {
		v.add(field+".afterFailures", "%d is negative (expected the number of failed allocations before falling back, 1 or more)", fb.AfterFailures)
	}
	if fb.MaxInstances > MaxPoolCapacity {
		v.add(field+".maxInstances", "%d is more than a pool may have (expected at most %d)", fb.MaxInstances, MaxPoolCapacity)
	}
	if fb.MaxInstances < 0 {
		v.add(field+".maxInstances", "%d is negative (expected 0 for no cap, or a number of VMs)", fb.MaxInstances)
	}
	v.money(field+".budget", fb.Budget)
}

func (v *validator) workload() {
	w := v.s.Workload
	if w == nil {
		return
	}
	switch j := w.Jobs; {
	case j.Count <= 0:
		v.add("workload.jobs.count", "%d is not a number of jobs (expected 1 to %d)", j.Count, MaxJobs)
	case j.Count > MaxJobs:
		v.add("workload.jobs.count", "%d jobs are more than the simulator holds (expected 1 to %d)", j.Count, MaxJobs)
	}
	if r := w.Jobs.RatePerHour; !(r >= 0) || r > MaxRatePerHour {
		v.add("workload.jobs.ratePerHour", "%v is not an arrival rate (expected 0 to submit every job at the start, or up to %d jobs per hour)", r, MaxRatePerHour)
	}
	v.dist("workload.jobs.duration", w.Jobs.Duration)
	v.nonNegative("workload.queue.visibilityTimeout", w.Queue.VisibilityTimeout)
	v.oneOf("workload.queue.requeue", w.Queue.Requeue, RequeueFront, RequeueBack)
	v.nonNegative("workload.checkpoint.interval", w.Checkpoint.Interval)
	v.nonNegative("workload.checkpoint.cost", w.Checkpoint.Cost)
	v.oneOf("workload.checkpoint.storage", w.Checkpoint.Storage, StorageDurable, StorageLocal)
	v.nonNegative("workload.restartCost", w.RestartCost)
	v.oneOf("workload.onNotice", w.OnNotice, OnNoticeIgnore, OnNoticeDrain, OnNoticeCheckpoint)
	v.nonNegative("workload.drainTime", w.DrainTime)
	if w.MaxAttempts > MaxCount {
		v.add("workload.maxAttempts", "%d is more than %d", w.MaxAttempts, MaxCount)
	}
	if w.MaxAttempts < 0 {
		v.add("workload.maxAttempts", "%d is negative (expected 0 for no limit, or a number of attempts)", w.MaxAttempts)
	}
}

func (v *validator) waves() {
	if n := len(v.s.Waves); n > MaxWaves {
		v.add("waves", "%d waves are more than a game day may have (expected at most %d)", n, MaxWaves)
		return
	}
	names := map[string]bool{}
	for i := range v.s.Waves {
		w := &v.s.Waves[i]
		field := fmt.Sprintf("waves[%d]", i)
		switch {
		case strings.TrimSpace(w.Name) == "":
			v.add(field+".name", "missing (expected a name for the wave)")
		case names[w.Name]:
			v.add(field+".name", "wave %q is declared twice (expected unique wave names)", w.Name)
		default:
			v.label(field+".name", w.Name, MaxLabelLen)
		}
		names[w.Name] = true
		v.waveTime(field+".at", w.At)
		switch {
		case w.Evict == nil && w.Fault == nil:
			v.add(field, "has neither evict nor fault (expected exactly one of evict, fault)")
		case w.Evict != nil && w.Fault != nil:
			v.add(field, "has both evict and fault (expected exactly one of evict, fault; split it into two waves)")
		}
		if w.Evict != nil {
			v.selection(field+".evict", w.Evict)
		}
		if w.Fault != nil {
			v.fault(field+".fault", w.Fault)
		}
	}
}

func (v *validator) waveTime(field string, at Duration) {
	end := v.s.Duration
	switch {
	case at < 0:
		v.add(field, "%s is negative (expected a time from the start of the run, 0s or later)", at)
	case end <= 0:
		// The duration itself is reported; nothing to compare with.
	case at > end:
		v.add(field, "%s is after the end of the run (duration %s) (expected a time within the run)", at, end)
	case at == end:
		v.add(field, "%s is the end of the run (duration %s) (expected a time before the end)", at, end)
	}
}

func (v *validator) selection(field string, sel *Selection) {
	set := 0
	for _, b := range []bool{sel.All, sel.Count != 0, sel.Percent != 0} {
		if b {
			set++
		}
	}
	switch {
	case set == 0:
		v.add(field, "selects nothing (expected exactly one of all: true, count or percent)")
	case set > 1:
		v.add(field, "sets more than one of all, count and percent (expected exactly one)")
	}
	if sel.Count < 0 {
		v.add(field+".count", "%d is negative (expected a number of VMs, 1 or more)", sel.Count)
	}
	if p := sel.Percent; p != 0 && !(p > 0 && p <= 1) {
		v.add(field+".percent", "%s is outside (0%%, 100%%] (expected a share of the matching VMs above 0%% and at most 100%%)", p)
	}
	if v.sim() {
		v.poolRefs(field+".pools", sel.Pools)
		v.zoneRefs(field+".zones", sel.Zones)
	}
}

func (v *validator) fault(field string, f *Fault) {
	if v.s.Target.Provider == ProviderAzure {
		v.add(field, "market faults need the simulated fleet (expected provider sim, or an evict wave)")
		return
	}
	if !v.oneOf(field+".type", f.Type, FaultCapacityShortage, FaultPriceSpike, FaultShortNotice, FaultZoneOutage) {
		return
	}
	v.faultParams(field, f)
	switch f.Type {
	case FaultCapacityShortage:
		switch {
		case f.Capacity == nil:
			v.add(field+".capacity", "missing (expected the Spot capacity left in each zone, 0 or more VMs)")
		case *f.Capacity < 0:
			v.add(field+".capacity", "%d is negative (expected the Spot capacity left in each zone, 0 or more VMs)", *f.Capacity)
		case *f.Capacity > MaxCount:
			v.add(field+".capacity", "%d is more than %d", *f.Capacity, MaxCount)
		}
	case FaultPriceSpike:
		if !(f.Price > 0) || math.IsInf(f.Price, 1) {
			v.add(field+".price", "%v is not a price (expected the Spot price during the spike, above 0 USD per hour)", f.Price)
		}
	case FaultShortNotice:
		v.shortNotice(field+".notice", f.Notice)
	case FaultZoneOutage:
		if len(f.Zones) == 0 {
			v.add(field+".zones", "missing (expected at least one zone that goes out)")
		}
	}
	v.poolRefs(field+".pools", f.Pools)
	v.zoneRefs(field+".zones", f.Zones)
	v.nonNegative(field+".for", f.For)
}

// faultParams reports parameters that the fault's type does not use, which
// would otherwise be silently ignored.
func (v *validator) faultParams(field string, f *Fault) {
	if f.Capacity != nil && f.Type != FaultCapacityShortage {
		v.add(field+".capacity", "set on a %s fault (expected capacity only on capacityShortage)", f.Type)
	}
	if f.Price != 0 && f.Type != FaultPriceSpike {
		v.add(field+".price", "set on a %s fault (expected price only on priceSpike)", f.Type)
	}
	if f.Notice != nil && f.Type != FaultShortNotice {
		v.add(field+".notice", "set on a %s fault (expected notice only on shortNotice)", f.Type)
	}
}

func (v *validator) shortNotice(field string, notice *Duration) {
	var fleetNotice Duration
	if v.s.Fleet != nil {
		fleetNotice = v.s.Fleet.Notice
	}
	switch {
	case notice == nil:
		v.add(field, "missing (expected the shortened Preempt notice, like 5s)")
	case *notice < 0:
		v.add(field, "%s is negative (expected 0s for no notice, or a notice shorter than fleet.notice)", *notice)
	case fleetNotice > 0 && *notice >= fleetNotice:
		v.add(field, "%s is not shorter than fleet.notice (%s) (expected a notice shorter than %s)", *notice, fleetNotice, fleetNotice)
	}
}

func (v *validator) blastRadius() {
	b := v.s.BlastRadius
	for _, c := range []struct {
		field, what string
		n           *int
	}{{"maxEvictions", "evictions", b.MaxEvictions}, {"maxInFlight", "evictions", b.MaxInFlight}, {"maxPerMinute", "evictions per minute", b.MaxPerMinute}} {
		if c.n != nil && *c.n < 0 {
			v.add("blastRadius."+c.field, "%d is negative (expected 0 or more %s)", *c.n, c.what)
		}
		if c.n != nil && *c.n > MaxCount {
			v.add("blastRadius."+c.field, "%d is more than %d (expected at most %d %s)", *c.n, MaxCount, MaxCount, c.what)
		}
	}
	for _, c := range []struct {
		field string
		p     *Percent
	}{{"maxInFlightPercent", b.MaxInFlightPercent}, {"maxPoolPercent", b.MaxPoolPercent}, {"maxZonePercent", b.MaxZonePercent}, {"minHealthyPercent", b.MinHealthyPercent}} {
		if c.p != nil {
			v.percent("blastRadius."+c.field, *c.p)
		}
	}
	v.nonNegative("blastRadius.minWaveGap", b.MinWaveGap)
	if b.TimeZone != "" {
		if _, err := time.LoadLocation(b.TimeZone); err != nil {
			v.add("blastRadius.timeZone", "unknown time zone %q (expected an IANA name like Europe/Berlin or UTC)", b.TimeZone)
		}
	}
	for i, w := range b.Windows {
		field := fmt.Sprintf("blastRadius.windows[%d]", i)
		if len(w.Days) == 0 {
			v.add(field+".days", "missing (expected days like [Mon-Fri])")
		} else if _, err := ParseDays(w.Days); err != nil {
			v.add(field+".days", "%v", err)
		}
		from, errFrom := ParseClock(w.From)
		if errFrom != nil {
			v.add(field+".from", "%v", errFrom)
		}
		to, errTo := ParseClock(w.To)
		if errTo != nil {
			v.add(field+".to", "%v", errTo)
		}
		if errFrom == nil && errTo == nil && from == to {
			v.add(field+".to", "the window is empty (expected a time after %s)", w.From)
		}
	}
	for i, d := range b.Blackouts {
		if _, err := ParseDate(d); err != nil {
			v.add(fmt.Sprintf("blastRadius.blackouts[%d]", i), "%v", err)
		}
	}
	if v.sim() {
		v.poolRefs("blastRadius.exclude.pools", b.Exclude.Pools)
	}
}

// conditions parses slos and abortWhen, keeping the results.
func (v *validator) conditions() {
	s := v.s
	for i := range s.AbortWhen {
		a := &s.AbortWhen[i]
		field := fmt.Sprintf("abortWhen[%d]", i)
		v.condition(field+".when", &a.When)
		v.nonNegative(field+".grace", a.Grace)
	}
	names := map[string]bool{}
	for i := range s.SLOs {
		slo := &s.SLOs[i]
		field := fmt.Sprintf("slos[%d]", i)
		v.condition(field+".objective", &slo.Objective)
		if slo.Name != "" && names[slo.Name] {
			v.add(field+".name", "SLO %q is declared twice (expected unique SLO names)", slo.Name)
		} else if slo.Name != "" {
			v.label(field+".name", slo.Name, MaxTextLen)
		}
		names[slo.Name] = true
	}
}

func (v *validator) condition(field string, c *Condition) {
	if strings.TrimSpace(c.Raw) == "" {
		v.add(field, `missing (expected a condition like "ttr.p95 <= 2m")`)
		return
	}
	parsed, err := ParseCondition(c.Raw)
	if err != nil {
		v.add(field, "%v", err)
		return
	}
	*c = parsed
}

// poolRefs checks that names refer to pools of the simulated fleet.
func (v *validator) poolRefs(field string, names []string) {
	if v.pools == nil {
		return // no fleet: reported already
	}
	for i, n := range names {
		if v.pools[n] == nil {
			v.add(field+"["+strconv.Itoa(i)+"]", "no pool is named %q (expected one of %s)", n, v.poolList())
		}
	}
}

// zoneRefs checks that names refer to zones of the simulated fleet.
func (v *validator) zoneRefs(field string, names []string) {
	if v.zones == nil {
		return
	}
	for i, n := range names {
		if !v.zones[n] {
			v.add(field+"["+strconv.Itoa(i)+"]", "no zone is named %q (expected one of %s)", n, v.zoneList())
		}
	}
}

func (v *validator) poolList() string {
	var names []string
	for _, p := range v.s.Fleet.Pools {
		if p.Name != "" && !slices.Contains(names, p.Name) {
			names = append(names, p.Name)
		}
	}
	return listOrNone(names, "pools")
}

func (v *validator) zoneList() string {
	var names []string
	add := func(z string) {
		if z != "" && !slices.Contains(names, z) {
			names = append(names, z)
		}
	}
	for _, z := range v.s.Fleet.Zones {
		add(z.Name)
	}
	if len(v.s.Fleet.Zones) == 0 {
		for _, p := range v.s.Fleet.Pools {
			for _, z := range p.Zones {
				add(z)
			}
		}
	}
	return listOrNone(names, "zones")
}

func listOrNone(names []string, what string) string {
	if len(names) == 0 {
		return "the fleet's " + what + ", but it has none"
	}
	return strings.Join(names, ", ")
}

// oneOf checks an enumerated string and reports whether it is valid.
func (v *validator) oneOf(field, got string, valid ...string) bool {
	for _, s := range valid {
		if got == s {
			return true
		}
	}
	if got == "" {
		v.add(field, "missing (expected one of %s)", strings.Join(valid, ", "))
		return false
	}
	hint := ""
	for _, s := range valid {
		if strings.EqualFold(got, s) {
			hint = fmt.Sprintf("; names are case-sensitive: %s", s)
		}
	}
	v.add(field, "%q is not valid (expected one of %s%s)", got, strings.Join(valid, ", "), hint)
	return false
}

func (v *validator) positive(field string, d Duration, example string) {
	switch {
	case d == 0:
		v.add(field, "missing or 0 (expected %s)", example)
	case d < 0:
		v.add(field, "%s is negative (expected %s)", d, example)
	}
}

func (v *validator) nonNegative(field string, d Duration) {
	if d < 0 {
		v.add(field, "%s is negative (expected 0s or more)", d)
	}
}

func (v *validator) percent(field string, p Percent) {
	if !(p >= 0 && p <= 1) {
		v.add(field, "%s is outside 0%%-100%% (expected a percentage from 0%% to 100%%)", p)
	}
}

func (v *validator) money(field string, x float64) {
	if !(x >= 0) || math.IsInf(x, 1) {
		v.add(field, "%v is not an amount (expected 0 or more USD)", x)
	}
}

// distParams lists the parameters each distribution kind uses.
var distParams = map[string][]string{
	DistFixed:       {"value"},
	DistUniform:     {"min", "max"},
	DistExponential: {"mean"},
	DistLogNormal:   {"mean", "stddev"},
}

// dist checks a distribution: its kind, the parameters the kind needs, and
// no parameters that the kind would ignore.
func (v *validator) dist(field string, d Dist) {
	if d == (Dist{}) {
		v.add(field, "missing (expected %s)", expectation(distType))
		return
	}
	uses, ok := distParams[d.Dist]
	if !ok {
		if d.Dist == "" {
			v.add(field+".dist", "missing (expected one of fixed, uniform, exponential, lognormal)")
		} else {
			v.add(field+".dist", "%q is not a distribution (expected one of fixed, uniform, exponential, lognormal)", d.Dist)
		}
		return
	}
	params := []struct {
		name string
		val  Duration
	}{{"value", d.Value}, {"min", d.Min}, {"max", d.Max}, {"mean", d.Mean}, {"stddev", d.StdDev}}
	for _, p := range params {
		if p.val != 0 && !slices.Contains(uses, p.name) {
			v.add(field+"."+p.name, "not used by %s distributions (expected only %s)", d.Dist, strings.Join(uses, " and "))
		}
	}
	switch d.Dist {
	case DistFixed:
		if d.Value <= 0 {
			v.add(field+".value", "%s is not a duration above 0 (expected a duration like 20m)", d.Value)
		}
	case DistUniform:
		if d.Min < 0 {
			v.add(field+".min", "%s is negative (expected 0s or more)", d.Min)
		}
		if d.Max < d.Min {
			v.add(field+".max", "%s is less than min %s (expected max >= min)", d.Max, d.Min)
		}
	case DistExponential:
		if d.Mean <= 0 {
			v.add(field+".mean", "%s is not a duration above 0 (expected a mean like 10m)", d.Mean)
		}
	case DistLogNormal:
		if d.Mean <= 0 {
			v.add(field+".mean", "%s is not a duration above 0 (expected a mean like 10m)", d.Mean)
		}
		if d.StdDev < 0 {
			v.add(field+".stddev", "%s is negative (expected 0s or more)", d.StdDev)
		}
	}
}
