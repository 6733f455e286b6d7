package scenarios

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

func dur(s string) Duration {
	d, err := ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return Duration(d)
}

// validSim is a small valid scenario on the simulated fleet, defaulted.
func validSim() *Scenario {
	s := &Scenario{
		APIVersion: APIVersion,
		Kind:       Kind,
		Metadata:   Metadata{Name: "valid"},
		Duration:   dur("2h"),
		Target:     Target{Provider: ProviderSim},
		Fleet: &Fleet{
			Zones: []Zone{{Name: "1"}, {Name: "2"}},
			Pools: []Pool{
				{Name: "spot", Priority: PrioritySpot, Zones: []string{"1", "2"}, Capacity: 4, Fallback: &Fallback{Pool: "reg"}},
				{Name: "reg", Priority: PriorityRegular, Zones: []string{"1"}, Capacity: 1},
			},
		},
		Workload: &Workload{Jobs: Jobs{Count: 10, Duration: Dist{Dist: DistFixed, Value: dur("10m")}}},
		Waves: []Wave{
			{Name: "evict", At: dur("10m"), Evict: &Selection{Count: 1, Pools: []string{"spot"}, Zones: []string{"2"}}},
			{Name: "fault", At: dur("20m"), Fault: &Fault{Type: FaultZoneOutage, Zones: []string{"1"}}},
		},
		BlastRadius: BlastRadius{MaxEvictions: ptr(3), Exclude: Exclude{Pools: []string{"reg"}}},
		AbortWhen:   []Abort{{When: Condition{Raw: "jobs.successRate < 50%"}}},
		SLOs:        []SLO{{Objective: Condition{Raw: "ttr.p95 <= 2m"}}},
	}
	s.ApplyDefaults()
	return s
}

// validAzure is a small valid scenario against Azure, defaulted.
func validAzure() *Scenario {
	s := &Scenario{
		APIVersion: APIVersion,
		Kind:       Kind,
		Metadata:   Metadata{Name: "valid"},
		Duration:   dur("1h"),
		Target:     Target{Provider: ProviderAzure, Azure: &AzureTarget{Subscription: "sub"}},
		Waves:      []Wave{{Name: "evict", At: dur("5m"), Evict: &Selection{All: true, Pools: []string{"any-scale-set"}}}},
	}
	s.ApplyDefaults()
	return s
}

func TestValidate(t *testing.T) {
	type want struct{ field, msg string }
	tests := []struct {
		name   string
		base   func() *Scenario
		mutate func(s *Scenario)
		want   []want
	}{
		{"valid sim", validSim, func(*Scenario) {}, nil},
		{"valid azure", validAzure, func(*Scenario) {}, nil},
		{"valid edge values", validSim, func(s *Scenario) {
			s.Waves[0].At = 0
			s.Waves[0].Evict = &Selection{Percent: 1}
			s.Fleet.Pools[0].MaxPrice = ptr(0.5)
			s.Fleet.Pools[0].Capacity = 0
			s.Fleet.EvictionRate = 1
			s.Workload.Jobs.Count = MaxJobs
			s.Workload.Jobs.Duration = Dist{Dist: DistUniform, Min: dur("1m"), Max: dur("1m")}
			s.Waves[1].Fault = &Fault{Type: FaultShortNotice, Notice: ptr(Duration(0))}
		}, nil},

		// The header.
		{"wrong apiVersion", validSim, func(s *Scenario) { s.APIVersion = "v1" }, []want{{"apiVersion", `"v1" is not supported (expected spotdrill.dev/v1)`}}},
		{"missing kind", validSim, func(s *Scenario) { s.Kind = "" }, []want{{"kind", "missing (expected GameDay)"}}},
		{"missing name", validSim, func(s *Scenario) { s.Metadata.Name = " " }, []want{{"metadata.name", "missing"}}},
		{"zero duration", validSim, func(s *Scenario) { s.Duration = 0; s.Waves = nil }, []want{{"duration", "missing or 0"}}},
		{"negative duration", validSim, func(s *Scenario) { s.Duration = dur("-1h"); s.Waves = nil }, []want{{"duration", "-1h is negative"}}},
		{"bad start", validSim, func(s *Scenario) { s.Start = "2026-01-05" }, []want{{"start", "RFC 3339"}}},

		// The target.
		{"missing provider", validSim, func(s *Scenario) { s.Target.Provider = "" }, []want{{"target.provider", "missing (expected one of sim, azure)"}}},
		{"unknown provider", validSim, func(s *Scenario) { s.Target.Provider = "aws" }, []want{{"target.provider", `"aws" is not valid`}}},
		{"sim with azure target", validSim, func(s *Scenario) { s.Target.Azure = &AzureTarget{Subscription: "x"} }, []want{{"target.azure", "set with provider sim"}}},
		{"sim without fleet", validSim, func(s *Scenario) { s.Fleet = nil }, []want{{"fleet", "missing (expected a fleet with at least one pool"}}},
		{"sim without pools", validSim, func(s *Scenario) { s.Fleet.Pools = nil; s.Waves = nil; s.BlastRadius.Exclude.Pools = nil }, []want{{"fleet.pools", "no pools"}}},
		{"azure without target", validAzure, func(s *Scenario) { s.Target.Azure = nil }, []want{{"target.azure", "missing"}}},
		{"azure without subscription", validAzure, func(s *Scenario) { s.Target.Azure.Subscription = "" }, []want{{"target.azure.subscription", "missing"}}},
		{"azure with fleet and workload", validAzure, func(s *Scenario) {
			s.Fleet = validSim().Fleet
			s.Workload = validSim().Workload
		}, []want{{"fleet", "set with provider azure"}, {"workload", "set with provider azure"}}},
		{"azure with a fault", validAzure, func(s *Scenario) {
			s.Waves[0].Evict = nil
			s.Waves[0].Fault = &Fault{Type: FaultPriceSpike, Price: 1}
		}, []want{{"waves[0].fault", "market faults need the simulated fleet"}}},

		// The fleet.
		{"negative notice", validSim, func(s *Scenario) { s.Fleet.Notice = -1 }, []want{{"fleet.notice", "is negative"}}},
		{"bad notice delay", validSim, func(s *Scenario) { s.Fleet.NoticeDelay = &Dist{Dist: DistExponential} }, []want{{"fleet.noticeDelay.mean", "0s is not a duration above 0"}}},
		{"eviction rate over 100%", validSim, func(s *Scenario) { s.Fleet.EvictionRate = 1.5 }, []want{{"fleet.evictionRate", "150% is outside 0%-100%"}}},
		{"negative eviction rate", validSim, func(s *Scenario) { s.Fleet.EvictionRate = -0.1 }, []want{{"fleet.evictionRate", "-10% is outside 0%-100%"}}},
		{"rate and MTBE", validSim, func(s *Scenario) { s.Fleet.EvictionRate = 0.05; s.Fleet.MeanTimeBetweenEvictions = dur("1h") }, []want{{"fleet.meanTimeBetweenEvictions", "set together with evictionRate"}}},
		{"negative MTBE", validSim, func(s *Scenario) { s.Fleet.MeanTimeBetweenEvictions = dur("-1h") }, []want{{"fleet.meanTimeBetweenEvictions", "-1h is negative"}}},
		{"zone without name", validSim, func(s *Scenario) { s.Fleet.Zones = append(s.Fleet.Zones, Zone{}) }, []want{{"fleet.zones[2].name", "missing"}}},
		{"duplicate zone", validSim, func(s *Scenario) { s.Fleet.Zones = append(s.Fleet.Zones, Zone{Name: "2"}) }, []want{{"fleet.zones[2].name", `zone "2" is declared twice`}}},
		{"zone capacity and rate", validSim, func(s *Scenario) {
			s.Fleet.Zones[0].SpotCapacity = ptr(-1)
			s.Fleet.Zones[0].EvictionRate = ptr(Percent(2))
		}, []want{{"fleet.zones[0].spotCapacity", "-1 is negative"}, {"fleet.zones[0].evictionRate", "200% is outside"}}},

		// Pools.
		{"pool without name", validSim, func(s *Scenario) {
			s.Fleet.Pools[1].Name = ""
			s.Fleet.Pools[0].Fallback = nil
			s.BlastRadius.Exclude.Pools = nil
		}, []want{{"fleet.pools[1].name", "missing"}}},
		{"duplicate pool", validSim, func(s *Scenario) {
			p := s.Fleet.Pools[1]
			s.Fleet.Pools = append(s.Fleet.Pools, p)
		}, []want{{"fleet.pools[2].name", `pool "reg" is declared twice`}}},
		{"bad priority", validSim, func(s *Scenario) { s.Fleet.Pools[1].Priority = "regular" }, []want{
			{"fleet.pools[1].priority", `"regular" is not valid (expected one of Spot, Regular; names are case-sensitive: Regular)`},
			{"fleet.pools[0].fallback.pool", `pool "reg" is regular (expected a Regular pool)`},
		}},
		{"negative capacity", validSim, func(s *Scenario) { s.Fleet.Pools[0].Capacity = -1 }, []want{{"fleet.pools[0].capacity", "-1 is negative"}}},
		{"undeclared pool zone", validSim, func(s *Scenario) { s.Fleet.Pools[0].Zones = []string{"1", "3"} }, []want{{"fleet.pools[0].zones[1]", `zone "3" is not in fleet.zones (expected one of 1, 2)`}}},
		{"pool zone twice", validSim, func(s *Scenario) { s.Fleet.Pools[0].Zones = []string{"1", "1"} }, []want{{"fleet.pools[0].zones[1]", `zone "1" is listed twice`}}},
		{"pool zones without fleet zones", validSim, func(s *Scenario) {
			s.Fleet.Zones = nil
			s.Fleet.Pools[0].Zones = []string{"a", "b"}
			s.Waves[0].Evict.Zones = []string{"c"}
			s.Waves[1].Fault.Zones = []string{"b"}
		}, []want{{"waves[0].evict.zones[0]", `no zone is named "c" (expected one of a, b, 1)`}}},
		{"bad eviction policy", validSim, func(s *Scenario) { s.Fleet.Pools[0].EvictionPolicy = "Stop" }, []want{{"fleet.pools[0].evictionPolicy", `"Stop" is not valid (expected one of Deallocate, Delete)`}}},
		{"max price zero", validSim, func(s *Scenario) { s.Fleet.Pools[0].MaxPrice = ptr(0.0) }, []want{{"fleet.pools[0].maxPrice", "0 is not a price cap"}}},
		{"max price -2", validSim, func(s *Scenario) { s.Fleet.Pools[0].MaxPrice = ptr(-2.0) }, []want{{"fleet.pools[0].maxPrice", "-2 is not a price cap"}}},
		{"max price infinite", validSim, func(s *Scenario) { s.Fleet.Pools[0].MaxPrice = ptr(math.Inf(1)) }, []want{{"fleet.pools[0].maxPrice", "+Inf is not a price cap"}}},
		{"negative prices", validSim, func(s *Scenario) {
			s.Fleet.Pools[0].SpotPrice = -1
			s.Fleet.Pools[0].OnDemandPrice = math.NaN()
		}, []want{{"fleet.pools[0].spotPrice", "-1 is not an amount"}, {"fleet.pools[0].onDemandPrice", "NaN is not an amount"}}},
		{"zero slots", validSim, func(s *Scenario) { s.Fleet.Pools[0].Slots = 0 }, []want{{"fleet.pools[0].slots", "0 is less than 1"}}},
		{"provisioning", validSim, func(s *Scenario) {
			p := &s.Fleet.Pools[0].Provisioning
			p.Latency = &Dist{Dist: DistUniform, Min: dur("-1s")}
			p.FailureRate = 1.01
			p.BootstrapFailureRate = -0.01
			p.BootstrapTimeout = dur("-1m")
		}, []want{
			{"fleet.pools[0].provisioning.latency.min", "-1s is negative"},
			{"fleet.pools[0].provisioning.failureRate", "101% is outside"},
			{"fleet.pools[0].provisioning.bootstrapFailureRate", "-1% is outside"},
			{"fleet.pools[0].provisioning.bootstrapTimeout", "-1m is negative"},
		}},
		{"autoscale", validSim, func(s *Scenario) {
			s.Fleet.Pools[0].Autoscale.Delay = dur("-1s")
			s.Fleet.Pools[0].Autoscale.RetryInterval = dur("-1s")
		}, []want{{"fleet.pools[0].autoscale.delay", "-1s is negative"}, {"fleet.pools[0].autoscale.retryInterval", "-1s is negative"}}},

		// Fallbacks.
		{"fallback without pool", validSim, func(s *Scenario) { s.Fleet.Pools[0].Fallback.Pool = "" }, []want{{"fleet.pools[0].fallback.pool", "missing (expected the name of a Regular pool)"}}},
		{"fallback to unknown pool", validSim, func(s *Scenario) { s.Fleet.Pools[0].Fallback.Pool = "ghost" }, []want{{"fleet.pools[0].fallback.pool", `no pool is named "ghost" (expected one of spot, reg)`}}},
		{"fallback to itself", validSim, func(s *Scenario) { s.Fleet.Pools[0].Fallback.Pool = "spot" }, []want{{"fleet.pools[0].fallback.pool", "falls back to itself"}}},
		{"fallback to Spot", validSim, func(s *Scenario) {
			s.Fleet.Pools = append(s.Fleet.Pools, Pool{Name: "spot2", Priority: PrioritySpot, Capacity: 1})
			s.Fleet.Pools[0].Fallback.Pool = "spot2"
			s.ApplyDefaults()
		}, []want{{"fleet.pools[0].fallback.pool", `pool "spot2" is Spot (expected a Regular pool)`}}},
		{"fallback on Regular", validSim, func(s *Scenario) {
			s.Fleet.Pools = append(s.Fleet.Pools, Pool{Name: "reg2", Priority: PriorityRegular, Capacity: 1, Fallback: &Fallback{Pool: "reg"}})
			s.ApplyDefaults()
		}, []want{{"fleet.pools[2].fallback", "set on a Regular pool"}}},
		{"fallback numbers", validSim, func(s *Scenario) {
			s.Fleet.Pools[0].Fallback.AfterFailures = -1
			s.Fleet.Pools[0].Fallback.MaxInstances = -1
			s.Fleet.Pools[0].Fallback.Budget = -1
		}, []want{
			{"fleet.pools[0].fallback.afterFailures", "-1 is negative"},
			{"fleet.pools[0].fallback.maxInstances", "-1 is negative"},
			{"fleet.pools[0].fallback.budget", "-1 is not an amount"},
		}},

		// The workload.
		{"no jobs", validSim, func(s *Scenario) { s.Workload.Jobs.Count = 0 }, []want{{"workload.jobs.count", "0 is not a number of jobs (expected 1 to 5000000)"}}},
		{"too many jobs", validSim, func(s *Scenario) { s.Workload.Jobs.Count = MaxJobs + 1 }, []want{{"workload.jobs.count", "more than the simulator holds"}}},
		{"negative rate", validSim, func(s *Scenario) { s.Workload.Jobs.RatePerHour = -1 }, []want{{"workload.jobs.ratePerHour", "-1 is not an arrival rate"}}},
		{"NaN rate", validSim, func(s *Scenario) { s.Workload.Jobs.RatePerHour = math.NaN() }, []want{{"workload.jobs.ratePerHour", "NaN is not an arrival rate"}}},
		{"missing job duration", validSim, func(s *Scenario) { s.Workload.Jobs.Duration = Dist{} }, []want{{"workload.jobs.duration", "missing (expected a duration like 20m"}}},
		{"negative visibility timeout", validSim, func(s *Scenario) { s.Workload.Queue.VisibilityTimeout = -1 }, []want{{"workload.queue.visibilityTimeout", "is negative"}}},
		{"workload durations", validSim, func(s *Scenario) {
			w := s.Workload
			w.Checkpoint.Interval = dur("-1m")
			w.Checkpoint.Cost = dur("-1s")
			w.RestartCost = dur("-1s")
			w.DrainTime = dur("-1s")
		}, []want{
			{"workload.checkpoint.interval", "-1m is negative"},
			{"workload.checkpoint.cost", "-1s is negative"},
			{"workload.restartCost", "-1s is negative"},
			{"workload.drainTime", "-1s is negative"},
		}},
		{"workload enums", validSim, func(s *Scenario) {
			s.Workload.Checkpoint.Storage = "s3"
			s.Workload.Queue.Requeue = "middle"
			s.Workload.OnNotice = "Drain"
			s.Workload.MaxAttempts = -1
		}, []want{
			{"workload.checkpoint.storage", `"s3" is not valid (expected one of durable, local)`},
			{"workload.queue.requeue", `"middle" is not valid (expected one of front, back)`},
			{"workload.onNotice", `"Drain" is not valid (expected one of ignore, drain, checkpoint; names are case-sensitive: drain)`},
			{"workload.maxAttempts", "-1 is negative"},
		}},

		// Waves.
		{"wave names", validSim, func(s *Scenario) { s.Waves[0].Name = ""; s.Waves[1].Name = "evict" }, []want{{"waves[0].name", "missing"}}},
		{"duplicate wave", validSim, func(s *Scenario) { s.Waves[1].Name = "evict" }, []want{{"waves[1].name", `wave "evict" is declared twice`}}},
		{"wave before the start", validSim, func(s *Scenario) { s.Waves[0].At = dur("-1s") }, []want{{"waves[0].at", "-1s is negative"}}},
		{"wave at the end", validSim, func(s *Scenario) { s.Waves[0].At = dur("2h") }, []want{{"waves[0].at", "2h is the end of the run (duration 2h) (expected a time before the end)"}}},
		{"wave after the end", validSim, func(s *Scenario) { s.Waves[0].At = dur("3h") }, []want{{"waves[0].at", "3h is after the end of the run (duration 2h) (expected a time within the run)"}}},
		{"wave with nothing", validSim, func(s *Scenario) { s.Waves[0].Evict = nil }, []want{{"waves[0]", "has neither evict nor fault"}}},
		{"wave with both", validSim, func(s *Scenario) { s.Waves[0].Fault = s.Waves[1].Fault }, []want{{"waves[0]", "has both evict and fault"}}},
		{"empty selection", validSim, func(s *Scenario) { s.Waves[0].Evict = &Selection{} }, []want{{"waves[0].evict", "selects nothing"}}},
		{"two selections", validSim, func(s *Scenario) { s.Waves[0].Evict.Percent = 0.5 }, []want{{"waves[0].evict", "sets more than one of all, count and percent"}}},
		{"negative count", validSim, func(s *Scenario) { s.Waves[0].Evict.Count = -1 }, []want{{"waves[0].evict.count", "-1 is negative"}}},
		{"percent over 100", validSim, func(s *Scenario) { s.Waves[0].Evict = &Selection{Percent: 1.2} }, []want{{"waves[0].evict.percent", "120% is outside (0%, 100%]"}}},
		{"negative percent", validSim, func(s *Scenario) { s.Waves[0].Evict = &Selection{Percent: -0.2} }, []want{{"waves[0].evict.percent", "-20% is outside (0%, 100%]"}}},
		{"selection of unknown things", validSim, func(s *Scenario) { s.Waves[0].Evict.Pools = []string{"ghost"}; s.Waves[0].Evict.Zones = []string{"9"} }, []want{
			{"waves[0].evict.pools[0]", `no pool is named "ghost" (expected one of spot, reg)`},
			{"waves[0].evict.zones[0]", `no zone is named "9" (expected one of 1, 2)`},
		}},

		// Faults.
		{"fault without type", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{} }, []want{{"waves[1].fault.type", "missing (expected one of capacityShortage, priceSpike, shortNotice, zoneOutage)"}}},
		{"unknown fault", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{Type: "meteor"} }, []want{{"waves[1].fault.type", `"meteor" is not valid`}}},
		{"shortage without capacity", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{Type: FaultCapacityShortage} }, []want{{"waves[1].fault.capacity", "missing"}}},
		{"negative shortage", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{Type: FaultCapacityShortage, Capacity: ptr(-1)} }, []want{{"waves[1].fault.capacity", "-1 is negative"}}},
		{"spike without price", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{Type: FaultPriceSpike} }, []want{{"waves[1].fault.price", "0 is not a price"}}},
		{"infinite spike", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{Type: FaultPriceSpike, Price: math.Inf(1)} }, []want{{"waves[1].fault.price", "+Inf is not a price"}}},
		{"short notice without notice", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{Type: FaultShortNotice} }, []want{{"waves[1].fault.notice", "missing"}}},
		{"negative short notice", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{Type: FaultShortNotice, Notice: ptr(dur("-1s"))} }, []want{{"waves[1].fault.notice", "-1s is negative"}}},
		{"short notice not shorter", validSim, func(s *Scenario) { s.Waves[1].Fault = &Fault{Type: FaultShortNotice, Notice: ptr(dur("30s"))} }, []want{{"waves[1].fault.notice", "30s is not shorter than fleet.notice (30s)"}}},
		{"outage without zones", validSim, func(s *Scenario) { s.Waves[1].Fault.Zones = nil }, []want{{"waves[1].fault.zones", "missing (expected at least one zone"}}},
		{"fault on unknown things", validSim, func(s *Scenario) {
			s.Waves[1].Fault.Zones = []string{"9"}
			s.Waves[1].Fault.Pools = []string{"ghost"}
		}, []want{{"waves[1].fault.pools[0]", `no pool is named "ghost"`}, {"waves[1].fault.zones[0]", `no zone is named "9"`}}},
		{"negative fault length", validSim, func(s *Scenario) { s.Waves[1].Fault.For = dur("-1m") }, []want{{"waves[1].fault.for", "-1m is negative"}}},
		{"parameters of another fault", validSim, func(s *Scenario) {
			f := s.Waves[1].Fault
			f.Capacity, f.Price, f.Notice = ptr(1), 2, ptr(dur("1s"))
		}, []want{
			{"waves[1].fault.capacity", "set on a zoneOutage fault"},
			{"waves[1].fault.price", "set on a zoneOutage fault"},
			{"waves[1].fault.notice", "set on a zoneOutage fault"},
		}},

		// Limits, aborts and SLOs.
		{"negative max evictions", validSim, func(s *Scenario) { s.BlastRadius.MaxEvictions = ptr(-1) }, []want{{"blastRadius.maxEvictions", "-1 is negative"}}},
		{"exclude unknown pool", validSim, func(s *Scenario) { s.BlastRadius.Exclude.Pools = []string{"ghost"} }, []want{{"blastRadius.exclude.pools[0]", `no pool is named "ghost"`}}},
		{"abort without condition", validSim, func(s *Scenario) { s.AbortWhen[0].When = Condition{} }, []want{{"abortWhen[0].when", "missing"}}},
		{"abort on unknown metric", validSim, func(s *Scenario) { s.AbortWhen[0].When = Condition{Raw: "ttr.p42 < 1m"} }, []want{{"abortWhen[0].when", `unknown metric "ttr.p42" (expected one of cost.perJob,`}}},
		{"negative grace", validSim, func(s *Scenario) { s.AbortWhen[0].Grace = dur("-1s") }, []want{{"abortWhen[0].grace", "-1s is negative"}}},
		{"bad objective", validSim, func(s *Scenario) { s.SLOs[0].Objective = Condition{Raw: "jobs.successRate >= 120"} }, []want{{"slos[0].objective", "invalid value"}}},
		{"duplicate SLO", validSim, func(s *Scenario) {
			s.SLOs = append(s.SLOs, SLO{Name: s.SLOs[0].Name, Objective: Condition{Raw: "ttr.p50 < 1m"}})
		}, []want{{"slos[1].name", "is declared twice"}}},

		// Distributions.
		{"unknown dist", validSim, func(s *Scenario) { s.Workload.Jobs.Duration = Dist{Dist: "normal", Mean: dur("1m")} }, []want{{"workload.jobs.duration.dist", `"normal" is not a distribution (expected one of fixed, uniform, exponential, lognormal)`}}},
		{"dist without kind", validSim, func(s *Scenario) { s.Workload.Jobs.Duration = Dist{Mean: dur("1m")} }, []want{{"workload.jobs.duration.dist", "missing"}}},
		{"fixed zero", validSim, func(s *Scenario) { s.Workload.Jobs.Duration = Dist{Dist: DistFixed} }, []want{{"workload.jobs.duration.value", "0s is not a duration above 0"}}},
		{"uniform upside down", validSim, func(s *Scenario) { s.Workload.Jobs.Duration = Dist{Dist: DistUniform, Min: dur("2m"), Max: dur("1m")} }, []want{{"workload.jobs.duration.max", "1m is less than min 2m"}}},
		{"exponential without mean", validSim, func(s *Scenario) { s.Workload.Jobs.Duration = Dist{Dist: DistExponential, Value: dur("1m")} }, []want{
			{"workload.jobs.duration.value", "not used by exponential distributions (expected only mean)"},
			{"workload.jobs.duration.mean", "0s is not a duration above 0"},
		}},
		{"lognormal", validSim, func(s *Scenario) {
			s.Workload.Jobs.Duration = Dist{Dist: DistLogNormal, Mean: dur("-1m"), StdDev: dur("-1s"), Max: dur("1m")}
		}, []want{
			{"workload.jobs.duration.max", "not used by lognormal distributions (expected only mean and stddev)"},
			{"workload.jobs.duration.mean", "-1m is not a duration above 0"},
			{"workload.jobs.duration.stddev", "-1s is negative"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.base()
			tt.mutate(s)
			probs := s.Validate()
			var fields, wantFields []string
			for _, p := range probs {
				fields = append(fields, p.Field)
			}
			for _, w := range tt.want {
				wantFields = append(wantFields, w.field)
			}
			require.ElementsMatch(t, wantFields, fields, "problems: %v", probs)
			for _, w := range tt.want {
				for _, p := range probs {
					if p.Field == w.field {
						assert.Contains(t, p.Msg, w.msg)
						assert.Contains(t, p.Msg, "(expected", "a message says what was expected")
					}
				}
			}
		})
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	s := &Scenario{File: "code.yaml"}
	probs := s.Validate()
	assert.Equal(t, []Problem{
		{File: "code.yaml", Field: "apiVersion", Msg: "missing (expected spotdrill.dev/v1)"},
		{File: "code.yaml", Field: "kind", Msg: "missing (expected GameDay)"},
		{File: "code.yaml", Field: "metadata.name", Msg: "missing (expected a name for the game day)"},
		{File: "code.yaml", Field: "duration", Msg: "missing or 0 (expected a run length like 2h)"},
		{File: "code.yaml", Field: "start", Msg: `"" is not a time (expected an RFC 3339 time like 2026-01-05T09:00:00Z)`},
		{File: "code.yaml", Field: "target.provider", Msg: "missing (expected one of sim, azure)"},
	}, probs)
}

func TestValidateParsesConditions(t *testing.T) {
	s := validSim()
	require.Empty(t, s.Validate())
	assert.Equal(t, Condition{Raw: "jobs.successRate < 50%", Metric: "jobs.successRate", Op: "<", Value: 0.5}, s.AbortWhen[0].When)
	assert.Equal(t, Condition{Raw: "ttr.p95 <= 2m", Metric: "ttr.p95", Op: "<=", Value: 120}, s.SLOs[0].Objective)
	assert.Equal(t, "ttr.p95 <= 2m", s.SLOs[0].Name)
}

// TestParsePlacesMissingFieldsAtTheirParent checks that a problem with a
// field absent from the file points at the mapping that lacks it.
func TestParsePlacesMissingFieldsAtTheirParent(t *testing.T) {
	data := strings.Join([]string{
		"apiVersion: spotdrill.dev/v1",
		"kind: GameDay",
		"metadata:",
		"  description: no name",
		"duration: 1h",
		"target: {provider: sim}",
		"fleet:",
		"  pools:",
		"    - priority: Spot",
		"      capacity: 1",
		"      fallback: {afterFailures: 2}",
		"",
	}, "\n")
	_, err := Parse([]byte(data), "m.yaml")
	require.Error(t, err)
	assert.Equal(t, strings.Join([]string{
		"m.yaml:3:1: metadata.name: missing (expected a name for the game day)",
		"m.yaml:9:7: fleet.pools[0].name: missing (expected a pool name)",
		"m.yaml:11:7: fleet.pools[0].fallback.pool: missing (expected the name of a Regular pool)",
	}, "\n"), err.Error())
}
