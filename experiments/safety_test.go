package experiments

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/spotdrill/spotdrill/blastradius"
	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// randomScenario draws a small fleet, waves, limits and a start time.
func randomScenario(t *rapid.T) *scenarios.Scenario {
	zones := []string{"1", "2", "3"}[:rapid.IntRange(1, 3).Draw(t, "zones")]
	sc := &scenarios.Scenario{
		APIVersion: scenarios.APIVersion, Kind: scenarios.Kind, Metadata: scenarios.Metadata{Name: "property"},
		Seed: rapid.Int64Range(1, 1<<40).Draw(t, "seed"), Duration: d("90m"),
		Target: scenarios.Target{Provider: scenarios.ProviderSim},
		Fleet:  &scenarios.Fleet{EvictionRate: scenarios.Percent(rapid.Float64Range(0, 0.3).Draw(t, "rate"))},
		Workload: &scenarios.Workload{Jobs: scenarios.Jobs{Count: rapid.IntRange(1, 60).Draw(t, "jobs"),
			RatePerHour: 60, Duration: scenarios.Dist{Dist: scenarios.DistUniform, Min: d("2m"), Max: d("20m")}}},
	}
	day := rapid.IntRange(0, 13).Draw(t, "day")
	hour := rapid.IntRange(0, 23).Draw(t, "hour")
	sc.Start = time.Date(2026, 3, 23+day, hour, 0, 0, 0, time.UTC).Format(time.RFC3339)
	nPools := rapid.IntRange(1, 3).Draw(t, "pools")
	for i := 0; i < nPools; i++ {
		p := scenarios.Pool{Name: fmt.Sprintf("p%d", i), Priority: scenarios.PrioritySpot, Zones: zones,
			Capacity: rapid.IntRange(1, 12).Draw(t, "capacity"), SpotPrice: 0.05, OnDemandPrice: 0.2}
		if rapid.IntRange(0, 4).Draw(t, "regular") == 0 {
			p.Priority = scenarios.PriorityRegular
		}
		// Exemption tags in every spelling people use, exempting or not.
		switch rapid.IntRange(0, 7).Draw(t, "exempt") {
		case 0:
			p.Tags = map[string]string{"chaos-exempt": "true"}
		case 1:
			p.Tags = map[string]string{"Chaos-Exempt": "True"}
		case 2:
			p.Tags = map[string]string{"CHAOS-EXEMPT": ""}
		case 3:
			p.Tags = map[string]string{"chaos-exempt": "FALSE"}
		}
		sc.Fleet.Pools = append(sc.Fleet.Pools, p)
	}
	nWaves := rapid.IntRange(1, 6).Draw(t, "waves")
	for i := 0; i < nWaves; i++ {
		w := scenarios.Wave{Name: fmt.Sprintf("w%d", i), At: scenarios.Duration(time.Duration(rapid.IntRange(0, 80).Draw(t, "at")) * time.Minute)}
		sel := &scenarios.Selection{}
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0:
			sel.All = true
		case 1:
			sel.Count = rapid.IntRange(1, 15).Draw(t, "count")
		default:
			sel.Percent = scenarios.Percent(float64(rapid.IntRange(1, 100).Draw(t, "percent")) / 100)
		}
		if rapid.Bool().Draw(t, "byZone") {
			sel.Zones = []string{zones[0]}
		}
		w.Evict = sel
		sc.Waves = append(sc.Waves, w)
	}
	b := &sc.BlastRadius
	maybeInt := func(label string, lo, hi int) *int {
		if rapid.Bool().Draw(t, label+"Set") {
			v := rapid.IntRange(lo, hi).Draw(t, label)
			return &v
		}
		return nil
	}
	maybePct := func(label string) *scenarios.Percent {
		if rapid.Bool().Draw(t, label+"Set") {
			v := scenarios.Percent(float64(rapid.IntRange(5, 100).Draw(t, label)) / 100)
			return &v
		}
		return nil
	}
	b.MaxEvictions = maybeInt("maxEvictions", 0, 30)
	b.MaxInFlight = maybeInt("maxInFlight", 0, 10)
	b.MaxPerMinute = maybeInt("maxPerMinute", 0, 10)
	b.MaxInFlightPercent = maybePct("maxInFlightPercent")
	b.MaxPoolPercent = maybePct("maxPoolPercent")
	b.MaxZonePercent = maybePct("maxZonePercent")
	b.MinHealthyPercent = maybePct("minHealthyPercent")
	if rapid.Bool().Draw(t, "windowSet") {
		b.TimeZone = "Europe/Berlin"
		b.Windows = []scenarios.Window{{Days: []string{"Mon-Fri"}, From: "08:00", To: "18:00"}}
	}
	// Scenarios that try to switch the exemption off: they must not.
	if rapid.Bool().Draw(t, "overrideExempt") {
		b.Exclude.Tags = map[string]string{rapid.SampledFrom([]string{"chaos-exempt", "Chaos-Exempt"}).Draw(t, "overrideKey"): "false"}
	}
	if rapid.Bool().Draw(t, "newInstances") {
		sc.Target.NewInstances = scenarios.NewInstancesInclude
	}
	if rapid.Bool().Draw(t, "gapSet") {
		b.MinWaveGap = scenarios.Duration(time.Duration(rapid.IntRange(1, 30).Draw(t, "gap")) * time.Minute)
	}
	sc.ApplyDefaults()
	return sc
}

// checker replays a journal and asserts that every requested eviction was
// within every limit, computing the fleet state from the events alone.
type checker struct {
	t        require.TestingT
	limits   blastradius.Limits
	start    time.Time
	priority map[string]string
	pool     map[string]string
	zone     map[string]string
	exempt   map[string]bool
	up       map[string]bool
	noticed  map[string]bool
	inFlight map[string]bool
	planned  map[string]int // pool and "zone:" sizes, and "" for the total
	inWave   map[string]bool
	wave     string
	recent   []float64
	total    int
	blocked  int
	aborted  bool
	planDone bool
	// The plan's identities: every target, and those each wave may touch;
	// extended holds the VMs a wave admitted as new instances, named in
	// the journal before their eviction.
	planIDs   map[string]bool
	waveIDs   map[string]map[string]bool
	extended  map[string]bool
	include   bool
	extension int
}

// exemptTags is the exemption rule restated independently of the guard.
func exemptTags(tags map[string]string) bool {
	for k, v := range tags {
		if strings.EqualFold(k, "chaos-exempt") && !strings.EqualFold(strings.TrimSpace(v), "false") {
			return true
		}
	}
	return false
}

func (c *checker) emit(e *journal.Event) {
	switch e.Type {
	case journal.VMRunning:
		c.priority[e.VM], c.pool[e.VM], c.zone[e.VM], c.up[e.VM] = e.Priority, e.Pool, e.Zone, true
		if e.Replaces != "" {
			delete(c.inFlight, e.Replaces)
		}
		if !c.planDone && e.Priority == injector.PrioritySpot && !c.exempt[e.Pool] {
			c.planned[e.Pool]++
			c.planned["zone:"+e.Zone]++
			c.planned[""]++
		}
	case journal.Planned:
		c.planDone = true
		c.planIDs, c.waveIDs = map[string]bool{}, map[string]map[string]bool{}
		for _, id := range e.Plan.Targets {
			c.planIDs[id] = true
		}
		for _, w := range e.Plan.Waves {
			c.waveIDs[w.Name] = map[string]bool{}
			for _, i := range w.Targets {
				c.waveIDs[w.Name][e.Plan.Targets[i]] = true
			}
		}
		c.include = e.Plan.NewInstances == scenarios.NewInstancesInclude
	case journal.PlanExtended:
		require.True(c.t, c.include, "%s admitted without target.newInstances: include", e.VM)
		require.False(c.t, c.planIDs[e.VM], "%s was in the plan already", e.VM)
		require.Positive(c.t, c.planned[e.Pool], "%s admitted from pool %s, which the plan does not target", e.VM, e.Pool)
		c.extended[e.Wave+"/"+e.VM] = true
		c.extension++
	case journal.EvictionNoticed:
		c.noticed[e.VM] = true
	case journal.EvictionEvicted, journal.VMDeleted:
		c.up[e.VM] = false
	case journal.EvictionFailed:
		delete(c.inFlight, e.VM)
	case journal.WaveStarted:
		c.wave = e.Wave
		clear(c.inWave)
	case journal.Aborted:
		c.aborted = true
	case journal.EvictionRequested:
		c.request(e)
	case journal.EvictionBlocked:
		c.blocked++
	}
}

func (c *checker) request(e *journal.Event) {
	l := c.limits
	vm, pool, zone := e.VM, c.pool[e.VM], c.zone[e.VM]
	require.False(c.t, c.aborted, "eviction of %s after the abort", vm)
	require.Equal(c.t, injector.PrioritySpot, c.priority[vm], "evicted a VM that is not Spot: %s", vm)
	require.False(c.t, c.exempt[pool], "evicted an exempt VM: %s", vm)
	require.True(c.t, c.waveIDs[e.Wave][vm] || c.extended[e.Wave+"/"+vm],
		"evicted %s in wave %s: neither frozen for the wave nor named as a new instance first", vm, e.Wave)
	require.False(c.t, c.inWave[vm], "evicted %s twice in wave %s", vm, c.wave)
	require.True(c.t, c.up[vm] && !c.noticed[vm], "evicted %s that was not running", vm)
	c.inWave[vm] = true
	c.total++
	c.inFlight[vm] = true
	if l.MaxEvictions != blastradius.Unlimited {
		require.LessOrEqual(c.t, c.total, l.MaxEvictions)
	}
	if l.MaxInFlight != blastradius.Unlimited {
		require.LessOrEqual(c.t, len(c.inFlight), l.MaxInFlight)
	}
	inPool, inZone := 0, 0
	for v := range c.inFlight {
		if c.pool[v] == pool {
			inPool++
		}
		if c.zone[v] == zone {
			inZone++
		}
	}
	within := func(n int, size int, share float64, what string) {
		if share < 1 {
			require.LessOrEqual(c.t, float64(n), share*float64(size)+1e-9, "%s: %d of %d in flight, limit %v", what, n, size, share)
		}
	}
	within(len(c.inFlight), c.planned[""], l.MaxInFlightPercent, "fleet")
	within(inPool, c.planned[pool], l.MaxPoolPercent, "pool "+pool)
	within(inZone, c.planned["zone:"+zone], l.MaxZonePercent, "zone "+zone)
	if l.MinHealthyPercent > 0 {
		healthy := 0
		for v, up := range c.up {
			if up && c.pool[v] == pool && !c.noticed[v] && !c.inFlight[v] {
				healthy++
			}
		}
		require.GreaterOrEqual(c.t, float64(healthy)+1e-9, l.MinHealthyPercent*float64(c.planned[pool]), "pool %s healthy floor", pool)
	}
	c.recent = append(c.recent, e.T)
	if l.MaxPerMinute != blastradius.Unlimited {
		n := 0
		for _, at := range c.recent {
			if e.T-at < 60 {
				n++
			}
		}
		require.LessOrEqual(c.t, n, l.MaxPerMinute, "rate")
	}
	_, ok := l.Calendar.Allows(c.start.Add(time.Duration(math.Round(e.T * 1e9))))
	require.True(c.t, ok, "eviction outside the allowed windows")
}

// The safety property is worth thousands of cases; -rapid.checks still
// overrides the number.
func init() {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("3000")
	}
}

// TestGuardNeverExceedsALimit runs random fleets, waves and limits through
// the real runner and simulated fleet, and checks every requested eviction
// in the journal against every limit.
func TestGuardNeverExceedsALimit(t *testing.T) {
	requested, blocked, refused, extended := 0, 0, 0, 0
	rapid.Check(t, func(rt *rapid.T) {
		sc := randomScenario(rt)
		limits, err := Limits(sc.BlastRadius)
		require.NoError(rt, err)
		c := &checker{t: rt, limits: limits, start: RunStart(sc),
			priority: map[string]string{}, pool: map[string]string{}, zone: map[string]string{}, exempt: map[string]bool{},
			up: map[string]bool{}, noticed: map[string]bool{}, inFlight: map[string]bool{}, planned: map[string]int{}, inWave: map[string]bool{},
			extended: map[string]bool{}}
		for _, p := range sc.Fleet.Pools {
			c.exempt[p.Name] = exemptTags(p.Tags)
		}
		bus := journal.NewBus(journal.SinkFunc(c.emit))
		w, err := NewSimWorld(sc, bus, sim.Options{})
		require.NoError(rt, err)
		// Half the cases run even when the plan has problems, so that the
		// guard alone is seen holding every limit at run time.
		force := rapid.Bool().Draw(rt, "force")
		res, err := Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, runDespitePlan: force})
		require.NoError(rt, err)
		requested += c.total
		blocked += c.blocked
		extended += c.extension
		if res.Refused {
			refused++
			require.Zero(rt, c.total)
		}
	})
	t.Logf("%d evictions requested and checked, %d blocked, %d new instances admitted; %d plans refused", requested, blocked, extended, refused)
	require.Positive(t, requested)
	require.Positive(t, blocked)
	require.Positive(t, extended, "the opt-in to new instances was exercised")
}
