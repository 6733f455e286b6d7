package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spotdrill/spotdrill/blastradius"
	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Plan is what a run may touch, frozen before anything is evicted, and what
// each wave would do to it. `spotdrill plan` prints it; `spotdrill run`
// records it and refuses to start when it has problems.
type Plan struct {
	Scenario string    `json:"scenario"`
	Provider string    `json:"provider"`
	Seed     int64     `json:"seed"`
	Start    time.Time `json:"start"`
	// Digest is a SHA-256 over the frozen identities (every target's
	// resource ID, the IDs each wave may touch), the new-instances choice
	// and the limits: what a person confirms, and what --confirm pins.
	Digest string `json:"digest"`
	// NewInstances is exclude or include (target.newInstances).
	NewInstances string              `json:"newInstances"`
	Targets      []PlanTarget        `json:"targets"`
	Excluded     []journal.Exclusion `json:"excluded"`
	Waves        []PlanWave          `json:"waves"`
	Limits       []string            `json:"limits"`
	Problems     []string            `json:"problems"`
	PlannedCost  float64             `json:"plannedCost"`

	limits blastradius.Limits
	scope  blastradius.Scope
	// claims maps each lock key to the resource a lease tags (none on the
	// simulated fleet): LockKeys and LeaseIDs.
	claims map[string]string
}

// PlanTarget is one VM inside the plan.
type PlanTarget struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Pool string `json:"pool"`
	Zone string `json:"zone"`
}

// PlanWave is one wave as planned. For an eviction wave, Count VMs are picked
// at random from the seed among the frozen Targets (indexes into the plan's
// targets) that still run when the wave fires; the
// shares are the worst case this wave alone can reach, and the worst case
// if no earlier wave had recovered yet.
type PlanWave struct {
	Name        string             `json:"name"`
	At          float64            `json:"at"`
	What        string             `json:"what"`
	Fault       bool               `json:"fault,omitempty"`
	Eligible    int                `json:"eligible"`
	Count       int                `json:"count"`
	Candidates  []string           `json:"candidates,omitempty"`
	Targets     []int              `json:"targets,omitempty"`
	PoolShare   map[string]float64 `json:"poolShare,omitempty"`
	ZoneShare   map[string]float64 `json:"zoneShare,omitempty"`
	Cumulative  map[string]float64 `json:"cumulativePoolShare,omitempty"`
	Problems    []string           `json:"problems,omitempty"`
	WindowCheck string             `json:"window,omitempty"`
}

// OK reports whether the plan may run.
func (p *Plan) OK() bool { return len(p.Problems) == 0 }

// Limits converts a scenario's blast radius to the guard's limits.
func Limits(b scenarios.BlastRadius) (blastradius.Limits, error) {
	l := blastradius.NoLimits()
	l.MaxPoolPercent = blastradius.DefaultMaxPoolShare
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setShare := func(dst *float64, src *scenarios.Percent) {
		if src != nil {
			*dst = float64(*src)
		}
	}
	setInt(&l.MaxEvictions, b.MaxEvictions)
	setInt(&l.MaxInFlight, b.MaxInFlight)
	setInt(&l.MaxPerMinute, b.MaxPerMinute)
	setShare(&l.MaxInFlightPercent, b.MaxInFlightPercent)
	setShare(&l.MaxPoolPercent, b.MaxPoolPercent)
	setShare(&l.MaxZonePercent, b.MaxZonePercent)
	setShare(&l.MinHealthyPercent, b.MinHealthyPercent)
	l.MinWaveGap = b.MinWaveGap.D()
	// Exclusions only add to the hard rules; the exemption is not theirs
	// to change (blastradius.Ineligible).
	l.Exclude = blastradius.Exclude{Tags: b.Exclude.Tags, Names: b.Exclude.Names, Pools: b.Exclude.Pools}
	loc := time.UTC
	if b.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(b.TimeZone); err != nil {
			return l, fmt.Errorf("blastRadius.timeZone: %w", err)
		}
	}
	l.Calendar.Location = loc
	for i, w := range b.Windows {
		days, err := scenarios.ParseDays(w.Days)
		if err != nil {
			return l, fmt.Errorf("blastRadius.windows[%d]: %w", i, err)
		}
		from, err := scenarios.ParseClock(w.From)
		if err != nil {
			return l, fmt.Errorf("blastRadius.windows[%d]: %w", i, err)
		}
		to, err := scenarios.ParseClock(w.To)
		if err != nil {
			return l, fmt.Errorf("blastRadius.windows[%d]: %w", i, err)
		}
		l.Calendar.Windows = append(l.Calendar.Windows, blastradius.Window{Days: days, From: from, To: to})
	}
	for i, d := range b.Blackouts {
		date, err := scenarios.ParseDate(d)
		if err != nil {
			return l, fmt.Errorf("blastRadius.blackouts[%d]: %w", i, err)
		}
		l.Calendar.Blackouts = append(l.Calendar.Blackouts, date)
	}
	return l, nil
}

// RunStart is the run clock at t=0: the scenario's start on the simulated
// fleet, now on Azure.
func RunStart(sc *scenarios.Scenario) time.Time {
	if sc.Target.Provider == scenarios.ProviderAzure {
		return time.Now().UTC().Truncate(time.Second)
	}
	if t, err := time.Parse(time.RFC3339, sc.Start); err == nil {
		return t
	}
	return time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
}

// NewPlan freezes the plan of a scenario over the targets discovered now:
// the exact resources it may touch, wave by wave.
func NewPlan(sc *scenarios.Scenario, targets []injector.Target, start time.Time) (*Plan, error) {
	limits, err := Limits(sc.BlastRadius)
	if err != nil {
		return nil, err
	}
	newInstances := sc.Target.NewInstances
	if newInstances == "" {
		newInstances = scenarios.NewInstancesExclude
	}
	p := &Plan{
		Scenario: sc.Metadata.Name, Provider: sc.Target.Provider, Seed: sc.Seed, Start: start,
		NewInstances: newInstances, PlannedCost: PlannedCost(sc), limits: limits,
		Targets: []PlanTarget{}, Excluded: []journal.Exclusion{}, Waves: []PlanWave{}, Problems: []string{},
		scope: blastradius.NewScope(newInstances == scenarios.NewInstancesInclude),
	}
	var inPlan []injector.Target
	for _, t := range targets {
		if _, why, out := blastradius.Ineligible(&limits, t); out {
			p.Excluded = append(p.Excluded, journal.Exclusion{VM: t.Name, Reason: why})
			continue
		}
		inPlan = append(inPlan, t)
		p.Targets = append(p.Targets, PlanTarget{ID: t.ID, Name: t.Name, Pool: t.Pool, Zone: t.Zone})
		p.scope.Freeze(t)
		p.claim(sc, t)
	}
	p.Limits = describeLimits(&limits, newInstances)
	p.planWaves(sc, inPlan)
	if len(p.Targets) == 0 && hasEvictions(sc.Waves) {
		p.Problems = append(p.Problems, "nothing eligible: no Spot VM inside the plan (check the fleet, the selectors and the exclusions)")
	}
	p.Digest = p.digest()
	return p, nil
}

func (p *Plan) planWaves(sc *scenarios.Scenario, inPlan []injector.Target) {
	waves := slices.Clone(sc.Waves)
	sort.SliceStable(waves, func(i, j int) bool { return waves[i].At < waves[j].At })
	cumulative := map[string]int{}
	total := 0
	lastEvict := time.Duration(-1)
	for _, w := range waves {
		pw := PlanWave{Name: w.Name, At: w.At.D().Seconds(), What: describeWave(w)}
		if w.Fault != nil {
			pw.Fault = true
			p.Waves = append(p.Waves, pw)
			continue
		}
		var eligible []injector.Target
		for i, t := range inPlan {
			if matches(w.Evict, t) {
				eligible = append(eligible, t)
				pw.Candidates = append(pw.Candidates, t.Name)
				pw.Targets = append(pw.Targets, i)
				p.scope.FreezeWave(w.Name, t)
			}
		}
		pw.Eligible = len(eligible)
		n, problem := selectionSize(w.Evict, len(eligible))
		pw.Count = n
		if problem != "" {
			pw.Problems = append(pw.Problems, problem)
		}
		pw.PoolShare, pw.ZoneShare = worstShares(eligible, n, p.scope)
		for pool, share := range pw.PoolShare {
			cumulative[pool] += int(math.Round(share * float64(p.scope.PoolSize[pool])))
		}
		pw.Cumulative = map[string]float64{}
		for pool, c := range cumulative {
			pw.Cumulative[pool] = math.Min(1, float64(c)/float64(p.scope.PoolSize[pool]))
		}
		total += n
		pw.Problems = append(pw.Problems, p.checkWave(w, eligible, n, total, lastEvict)...)
		if why, ok := p.limits.Calendar.Allows(p.Start.Add(w.At.D())); !ok {
			pw.Problems = append(pw.Problems, why)
		}
		lastEvict = w.At.D()
		for _, prob := range pw.Problems {
			p.Problems = append(p.Problems, fmt.Sprintf("wave %q: %s", w.Name, prob))
		}
		p.Waves = append(p.Waves, pw)
	}
}

// selectionSize is how many VMs a wave picks among the eligible. A percent
// rounds to the nearest VM; one that rounds to none, or to the whole
// selection when it asked for less, is a problem of the plan, not a
// surprise of the run.
func selectionSize(sel *scenarios.Selection, eligible int) (int, string) {
	switch {
	case sel.All:
		return eligible, ""
	case sel.Count > 0:
		if sel.Count > eligible {
			return eligible, ""
		}
		return sel.Count, ""
	}
	exact := float64(sel.Percent) * float64(eligible)
	n := int(math.Floor(exact + 0.5))
	switch {
	case eligible == 0:
		return 0, ""
	case n == 0:
		return 0, fmt.Sprintf("%s of %d eligible VMs rounds to none (expected a percent that selects at least one VM, or a count)", sel.Percent, eligible)
	case n == eligible && sel.Percent < 1:
		return n, fmt.Sprintf("%s of %d eligible VMs rounds to all of them (expected all: true, or a smaller percent)", sel.Percent, eligible)
	}
	return n, ""
}

// worstShares is, for each pool and zone, the largest share of its planned
// size that n picks among the eligible can put in flight.
func worstShares(eligible []injector.Target, n int, scope blastradius.Scope) (pools, zones map[string]float64) {
	pools, zones = map[string]float64{}, map[string]float64{}
	byPool, byZone := map[string]int{}, map[string]int{}
	for _, t := range eligible {
		byPool[t.Pool]++
		byZone[t.Zone]++
	}
	for pool, c := range byPool {
		pools[pool] = float64(min(c, n)) / float64(scope.PoolSize[pool])
	}
	for zone, c := range byZone {
		zones[zone] = float64(min(c, n)) / float64(scope.ZoneSize[zone])
	}
	return pools, zones
}

// checkWave finds what a wave is certain to break. The guard refuses the
// rest one eviction at a time, when the fleet as it is then says so.
func (p *Plan) checkWave(w scenarios.Wave, eligible []injector.Target, n, total int, lastEvict time.Duration) []string {
	l := &p.limits
	var out []string
	if l.MaxEvictions != blastradius.Unlimited && total > l.MaxEvictions {
		out = append(out, fmt.Sprintf("the waves so far ask for %d evictions; maxEvictions is %d", total, l.MaxEvictions))
	}
	if l.MaxInFlight != blastradius.Unlimited && n > l.MaxInFlight {
		out = append(out, fmt.Sprintf("evicts %d at once; maxInFlight is %d", n, l.MaxInFlight))
	}
	if l.MaxPerMinute != blastradius.Unlimited && n > l.MaxPerMinute {
		out = append(out, fmt.Sprintf("evicts %d at once; maxPerMinute is %d", n, l.MaxPerMinute))
	}
	if l.MinWaveGap > 0 && lastEvict >= 0 && w.At.D()-lastEvict < l.MinWaveGap {
		out = append(out, fmt.Sprintf("starts %s after the previous eviction wave; minWaveGap is %s",
			scenarios.FormatDuration(w.At.D()-lastEvict), scenarios.FormatDuration(l.MinWaveGap)))
	}
	// Guaranteed shares: picks that cannot land anywhere else.
	byPool, byZone := map[string]int{}, map[string]int{}
	for _, t := range eligible {
		byPool[t.Pool]++
		byZone[t.Zone]++
	}
	check := func(kind, name string, size, inside int, limit float64, limitName string) {
		sure := n - (len(eligible) - inside)
		if sure > 0 && limit < 1 && float64(sure) > limit*float64(size)+1e-9 {
			out = append(out, fmt.Sprintf("evicts at least %d of the %d VMs of %s %s at once (%s); %s is %s",
				sure, size, kind, name, share(sure, size), limitName, pctString(limit)))
		}
	}
	for _, pool := range sortedKeys(byPool) {
		check("pool", pool, p.scope.PoolSize[pool], byPool[pool], l.MaxPoolPercent, "maxPoolPercent")
		if l.MinHealthyPercent > 0 {
			size := p.scope.PoolSize[pool]
			sure := n - (len(eligible) - byPool[pool])
			if sure > 0 && float64(size-sure) < l.MinHealthyPercent*float64(size)-1e-9 {
				out = append(out, fmt.Sprintf("leaves at most %d of the %d VMs of pool %s healthy (%s); minHealthyPercent is %s",
					size-sure, size, pool, share(size-sure, size), pctString(l.MinHealthyPercent)))
			}
		}
	}
	for _, zone := range sortedKeys(byZone) {
		check("zone", zone, p.scope.ZoneSize[zone], byZone[zone], l.MaxZonePercent, "maxZonePercent")
	}
	if l.MaxInFlightPercent < 1 && float64(n) > l.MaxInFlightPercent*float64(p.scope.Total)+1e-9 {
		out = append(out, fmt.Sprintf("evicts %d of %d targeted VMs at once (%s); maxInFlightPercent is %s",
			n, p.scope.Total, share(n, p.scope.Total), pctString(l.MaxInFlightPercent)))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func share(n, of int) string {
	if of == 0 {
		return "n/a"
	}
	return pctString(float64(n) / float64(of))
}

func pctString(f float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", f*100), "0"), ".") + "%"
}

func describeLimits(l *blastradius.Limits, newInstances string) []string {
	out := []string{"hard rules: Spot VMs only; never a VM or scale set tagged " + blastradius.ExemptTag +
		" (any value but false); only the resource IDs this plan names for each wave; never one VM twice in a wave; nothing once the journal fails"}
	if newInstances == scenarios.NewInstancesInclude {
		out = append(out, "newInstances include: VMs that join a targeted pool after this plan may be evicted within the same limits, each named in the journal first")
	} else {
		out = append(out, "newInstances exclude: VMs that join a targeted pool after this plan are never touched")
	}
	add := func(name string, v string) { out = append(out, name+" "+v) }
	if l.MaxEvictions != blastradius.Unlimited {
		add("maxEvictions", fmt.Sprint(l.MaxEvictions))
	}
	if l.MaxInFlight != blastradius.Unlimited {
		add("maxInFlight", fmt.Sprint(l.MaxInFlight))
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"maxInFlightPercent", l.MaxInFlightPercent}, {"maxPoolPercent", l.MaxPoolPercent}, {"maxZonePercent", l.MaxZonePercent}} {
		if s.v < 1 {
			add(s.name, pctString(s.v))
		}
	}
	if l.MinHealthyPercent > 0 {
		add("minHealthyPercent", pctString(l.MinHealthyPercent))
	}
	if l.MaxPerMinute != blastradius.Unlimited {
		add("maxPerMinute", fmt.Sprint(l.MaxPerMinute))
	}
	if l.MinWaveGap > 0 {
		add("minWaveGap", scenarios.FormatDuration(l.MinWaveGap))
	}
	for _, w := range l.Calendar.Windows {
		days := make([]string, len(w.Days))
		for i, d := range w.Days {
			days[i] = d.String()[:3]
		}
		add("window", fmt.Sprintf("%s %s-%s %s", strings.Join(days, ","), w.From, w.To, l.Calendar.Location))
	}
	for _, d := range l.Calendar.Blackouts {
		add("blackout", d.String())
	}
	if ex := l.Exclude; len(ex.Tags)+len(ex.Names)+len(ex.Pools) > 0 {
		add("exclude", describeExclude(ex))
	}
	return out
}

func describeExclude(ex blastradius.Exclude) string {
	var parts []string
	if len(ex.Tags) > 0 {
		tags := make([]string, 0, len(ex.Tags))
		for _, k := range sortedKeys(ex.Tags) {
			tags = append(tags, k+"="+ex.Tags[k])
		}
		parts = append(parts, "tags "+strings.Join(tags, ", "))
	}
	if len(ex.Names) > 0 {
		parts = append(parts, "names "+strings.Join(ex.Names, ", "))
	}
	if len(ex.Pools) > 0 {
		parts = append(parts, "pools "+strings.Join(ex.Pools, ", "))
	}
	return strings.Join(parts, "; ")
}

// journalPlan is the plan as the journal records it: the identities, not
// counts, so that after the fact anyone can tell what was promised.
func (p *Plan) journalPlan() *journal.Plan {
	jp := &journal.Plan{Digest: p.Digest, NewInstances: p.NewInstances, Targets: make([]string, len(p.Targets)),
		Excluded: p.Excluded, PlannedCost: p.PlannedCost}
	for i, t := range p.Targets {
		jp.Targets[i] = t.ID
	}
	for _, w := range p.Waves {
		jp.Waves = append(jp.Waves, journal.PlanWave{Name: w.Name, At: w.At, What: w.What, Targets: w.Targets})
	}
	return jp
}

// digest hashes what the plan promises, in a canonical text: resource IDs
// compared as Azure compares them (without case), in a fixed order.
func (p *Plan) digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "spotdrill plan v1\nprovider %s\nnewInstances %s\n", p.Provider, p.NewInstances)
	keys := make([]string, len(p.Targets))
	for i, t := range p.Targets {
		keys[i] = injector.Key(t.ID)
	}
	for _, i := range sortedOrder(keys) {
		fmt.Fprintf(h, "target %s\n", keys[i])
	}
	for _, w := range p.Waves {
		fmt.Fprintf(h, "wave %q at %g: %s\n", w.Name, w.At, w.What)
		wk := make([]string, len(w.Targets))
		for j, i := range w.Targets {
			wk[j] = keys[i]
		}
		sort.Strings(wk)
		for _, k := range wk {
			fmt.Fprintf(h, "  %s\n", k)
		}
	}
	for _, l := range p.Limits {
		fmt.Fprintf(h, "limit %s\n", l)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func sortedOrder(keys []string) []int {
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	return idx
}

// ShortDigest is the digest as people read and type it: its first
// MinDigestPrefix hex digits.
func (p *Plan) ShortDigest() string {
	h := strings.TrimPrefix(p.Digest, "sha256:")
	return h[:min(len(h), MinDigestPrefix)]
}

// MinDigestPrefix is how many hex digits of the digest --confirm needs.
const MinDigestPrefix = 12

// Matches reports whether a digest given to --confirm pins this plan: the
// whole digest, or a prefix of at least MinDigestPrefix hex digits, with or
// without "sha256:".
func (p *Plan) Matches(given string) bool {
	g := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(given), "sha256:"))
	h := strings.TrimPrefix(p.Digest, "sha256:")
	return len(g) >= MinDigestPrefix && strings.HasPrefix(h, g)
}

// LockKeys are what a run against this plan locks so that no other run
// touches the same targets at once: on Azure the resource IDs of the
// targeted scale sets and standalone VMs (a scale set's key covers the
// instances that join it later); on the simulated fleet, the scenario file.
func (p *Plan) LockKeys() []string { return sortedKeys(p.claims) }

// LeaseIDs are the resources a lease tags on Azure: the targeted scale sets
// (which covers their future instances) and standalone VMs, in the order of
// their keys.
func (p *Plan) LeaseIDs() []string {
	var ids []string
	for _, k := range sortedKeys(p.claims) {
		if id := p.claims[k]; id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// claim records what a target in the plan makes the run lock and lease.
func (p *Plan) claim(sc *scenarios.Scenario, t injector.Target) {
	if p.claims == nil {
		p.claims = map[string]string{}
	}
	if sc.Target.Provider != scenarios.ProviderAzure {
		if len(p.claims) == 0 {
			p.claims[SimLockKey(sc)] = ""
		}
		return
	}
	id := t.PoolID
	if id == "" {
		id = t.ID
	}
	if k := "azure:" + injector.Key(id); p.claims[k] == "" {
		p.claims[k] = id
	}
}

// SimLockKey is the lock key of a simulated game day: its scenario file's
// absolute path, so that runs from any directory see each other.
func SimLockKey(sc *scenarios.Scenario) string {
	if sc.File == "" {
		return "sim:" + sc.Metadata.Name
	}
	if abs, err := filepath.Abs(sc.File); err == nil {
		return "sim:" + abs
	}
	return "sim:" + sc.File
}

// PlanScenario freezes the plan of a scenario without running it: on the
// simulated fleet it brings the fleet up at time zero and discovers it,
// touching nothing.
func PlanScenario(ctx context.Context, sc *scenarios.Scenario) (*Plan, error) {
	if sc.Target.Provider == scenarios.ProviderAzure {
		return PlanAzure(ctx, sc, AzureOptions{})
	}
	w, err := NewSimWorld(sc, journal.SinkFunc(func(*journal.Event) {}), sim.Options{})
	if err != nil {
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	targets, err := w.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover targets: %w", err)
	}
	return NewPlan(sc, targets, RunStart(sc))
}
