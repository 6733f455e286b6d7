package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// problemsOf returns the problems of an error that must be *Errors.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	require.Error(t, err)
	var errs *Errors
	require.ErrorAs(t, err, &errs)
	require.NotEmpty(t, errs.Problems)
	return errs.Problems
}

// lines splits an error message into its problems.
func lines(err error) []string {
	return strings.Split(err.Error(), "\n")
}

func TestLoadValidFull(t *testing.T) {
	s, err := Load("testdata/valid-full.yaml")
	require.NoError(t, err)

	assert.Equal(t, "testdata/valid-full.yaml", s.File)
	assert.Equal(t, "full-featured", s.Metadata.Name)
	assert.Equal(t, map[string]string{"team": "batch", "tier": "2"}, s.Metadata.Labels)
	assert.Equal(t, int64(42), s.Seed)
	assert.Equal(t, 4*time.Hour, s.Duration.D())
	assert.Equal(t, "2026-03-02T10:00:00+01:00", s.Start)

	f := s.Fleet
	require.NotNil(t, f)
	assert.Equal(t, Dist{Dist: DistUniform, Min: Duration(2 * time.Second), Max: Duration(20 * time.Second)}, *f.NoticeDelay)
	assert.InDelta(t, 0.075, float64(f.EvictionRate), 1e-12)
	require.Len(t, f.Zones, 3)
	assert.Equal(t, 40, *f.Zones[0].SpotCapacity)
	assert.InDelta(t, 0.12, float64(*f.Zones[0].EvictionRate), 1e-12)
	assert.Nil(t, f.Zones[1].SpotCapacity)

	require.Len(t, f.Pools, 3)
	d4, e4, reg := f.Pools[0], f.Pools[1], f.Pools[2]
	assert.Equal(t, EvictionDelete, d4.EvictionPolicy)
	assert.InDelta(t, 0.12, *d4.MaxPrice, 1e-12)
	assert.Equal(t, Dist{Dist: DistLogNormal, Mean: Duration(2 * time.Minute), StdDev: Duration(45 * time.Second)}, *d4.Provisioning.Latency)
	assert.Equal(t, &Fallback{Pool: "regular-d4", AfterFailures: 2, MaxInstances: 10, Budget: 25.5}, d4.Fallback)

	// spot-e4 merges spot-d4 ("<<: *spot") and overrides some keys.
	assert.Equal(t, "spot-e4", e4.Name)
	assert.Equal(t, PrioritySpot, e4.Priority)
	assert.Equal(t, 20, e4.Capacity)
	assert.Equal(t, []string{"3"}, e4.Zones)
	assert.Equal(t, EvictionDeallocate, e4.EvictionPolicy)
	assert.InDelta(t, -1, *e4.MaxPrice, 0)
	assert.Equal(t, Dist{Dist: DistFixed, Value: Duration(90 * time.Second)}, *e4.Provisioning.Latency)
	assert.True(t, e4.Autoscale.Disabled)

	assert.Empty(t, reg.EvictionPolicy, "Regular pools get no eviction policy")
	assert.Nil(t, reg.MaxPrice, "Regular pools get no max price")
	assert.Nil(t, reg.Fallback)

	w := s.Workload
	require.NotNil(t, w)
	assert.False(t, *w.Jobs.Idempotent)
	assert.InDelta(t, 1200, w.Jobs.RatePerHour, 0)
	assert.True(t, w.Queue.NoLeaseRenewal)
	assert.Equal(t, RequeueBack, w.Queue.Requeue)
	assert.Equal(t, Checkpoint{Interval: Duration(5 * time.Minute), Cost: Duration(20 * time.Second), Storage: StorageLocal}, w.Checkpoint)
	assert.Equal(t, OnNoticeCheckpoint, w.OnNotice)
	assert.Equal(t, 5, w.MaxAttempts)

	require.Len(t, s.Waves, 7)
	assert.Equal(t, &Selection{Count: 3, Pools: []string{"spot-d4"}, Zones: []string{"1"}, Tags: map[string]string{"workload": "render"}}, s.Waves[0].Evict)
	assert.InDelta(t, 0.25, float64(s.Waves[1].Evict.Percent), 1e-12)
	assert.Equal(t, 0, *s.Waves[3].Fault.Capacity)
	assert.Equal(t, 5*time.Second, s.Waves[5].Fault.Notice.D())

	assert.Equal(t, 40, *s.BlastRadius.MaxEvictions)
	assert.Equal(t, []string{"regular-d4"}, s.BlastRadius.Exclude.Pools)

	require.Len(t, s.AbortWhen, 2)
	assert.Equal(t, Condition{Raw: "jobs.successRate < 50%", Metric: "jobs.successRate", Op: "<", Value: 0.5}, s.AbortWhen[0].When)
	assert.Equal(t, 10*time.Minute, s.AbortWhen[0].Grace.D())

	require.Len(t, s.SLOs, 3)
	assert.Equal(t, "recover fast", s.SLOs[0].Name)
	assert.Equal(t, Condition{Raw: "ttr.p95 <= 10m", Metric: "ttr.p95", Op: "<=", Value: 600}, s.SLOs[0].Objective)
	assert.Equal(t, "lostWork.fraction < 5%", s.SLOs[1].Name, "an SLO is named after its objective by default")
	assert.InDelta(t, 0.05, s.SLOs[2].Objective.Value, 1e-12)
}

func TestLoadValidMinimalGetsDefaults(t *testing.T) {
	s, err := Load("testdata/valid-minimal.yaml")
	require.NoError(t, err)

	assert.Equal(t, int64(DefaultSeed), s.Seed)
	assert.Equal(t, DefaultStart, s.Start)
	assert.Equal(t, DefaultNotice, s.Fleet.Notice.D())
	p := s.Fleet.Pools[0]
	assert.Equal(t, EvictionDeallocate, p.EvictionPolicy)
	assert.InDelta(t, -1, *p.MaxPrice, 0)
	assert.Equal(t, 1, p.Slots)
	assert.Equal(t, DefaultProvisioningLatency(), *p.Provisioning.Latency)
	assert.Equal(t, Dist{Dist: DistFixed, Value: Duration(20 * time.Minute)}, s.Workload.Jobs.Duration)
	assert.True(t, *s.Workload.Jobs.Idempotent)
}

func TestLoadAzureExpandsEnvironment(t *testing.T) {
	t.Setenv("SPOTDRILL_TEST_SUBSCRIPTION", "00000000-0000-0000-0000-000000000001")
	t.Setenv("SPOTDRILL_TEST_ENV", "")
	t.Setenv("SPOTDRILL_TEST_OWNER", "sre")

	s, err := Load("testdata/valid-azure.yaml")
	require.NoError(t, err)

	a := s.Target.Azure
	assert.Equal(t, "00000000-0000-0000-0000-000000000001", a.Subscription)
	assert.Equal(t, []string{"rg-dev-batch"}, a.ResourceGroups, "an empty variable takes the default")
	assert.Equal(t, []string{"vmss-render"}, a.ScaleSets)
	assert.Equal(t, map[string]string{"owner": "sre", "literal": "$HOME stays"}, a.Tags)
	assert.Nil(t, s.Fleet)
	assert.Nil(t, s.Workload)
}

// TestLoadBad checks whole messages, file:line:col included, of files that
// hold every kind of bad input.
func TestLoadBad(t *testing.T) {
	tests := []struct {
		file string
		// want are problems that must be reported, without the file name.
		want []string
		// count, when not 0, is the exact number of problems.
		count int
	}{
		{
			file:  "malformed.yaml",
			want:  []string{"4:9: invalid YAML: mapping value is not allowed in this context (expected well-formed YAML)"},
			count: 1,
		},
		{
			file: "wrong-types.yaml",
			want: []string{
				"5:3: metadata.labels: got a list (expected a mapping)",
				`6:7: seed: got "abc" (expected an integer)`,
				"7:11: duration: 5 has no unit (expected a duration like 90s, 5m, 1h30m)",
				`11:17: fleet.evictionRate: invalid percentage "5" (expected a percentage like 25%)`,
				`15:17: fleet.pools[0].capacity: got "ten" (expected an integer)`,
				"16:14: fleet.pools[0].slots: 99999999999999999999 is too large (expected an integer)",
				"17:1: waves: got a mapping (expected a list)",
			},
			count: 7,
		},
		{
			file: "unknown-fields.yaml",
			want: []string{
				`12:7: fleet.pools[0].capcity: unknown field "capcity" (expected one of name, sku, priority, zones, capacity, evictionPolicy, maxPrice, spotPrice, onDemandPrice, slots, tags, provisioning, autoscale, fallback)`,
				`16:40: workload.jobs.duration.mx: unknown field "mx" (expected one of dist, value, min, max, mean, stddev)`,
				`17:1: wave: unknown field "wave" (expected one of apiVersion, kind, metadata, seed, duration, start, target, fleet, workload, waves, blastRadius, abortWhen, slos, sweep)`,
			},
			count: 3,
		},
		{
			file: "durations.yaml",
			want: []string{
				"5:11: duration: missing or 0 (expected a run length like 2h)",
				"9:11: fleet.notice: -5s is negative (expected 0s or more)",
				"15:16: fleet.pools[0].autoscale.delay: -30s is negative (expected 0s or more)",
				"19:15: workload.jobs.duration.value: 0s is not a duration above 0 (expected a duration like 20m)",
				"21:24: workload.queue.visibilityTimeout: -1m is negative (expected 0s or more)",
				"23:11: workload.checkpoint.cost: -1s is negative (expected 0s or more)",
				"26:9: waves[0].at: -5m is negative (expected a time from the start of the run, 0s or later)",
				"30:12: waves[0].fault.for: -10m is negative (expected 0s or more)",
				"33:12: abortWhen[0].grace: -1m is negative (expected 0s or more)",
			},
			count: 9,
		},
		{
			file: "percentages.yaml",
			want: []string{
				"9:17: fleet.evictionRate: 150% is outside 0%-100% (expected a percentage from 0% to 100%)",
				"12:21: fleet.zones[0].evictionRate: 101% is outside 0%-100% (expected a percentage from 0% to 100%)",
				"19:22: fleet.pools[0].provisioning.failureRate: 200% is outside 0%-100% (expected a percentage from 0% to 100%)",
				"24:16: waves[0].evict.percent: 120% is outside (0%, 100%] (expected a share of the matching VMs above 0% and at most 100%)",
			},
			count: 4,
		},
		{
			file:  "wave-after-end.yaml",
			want:  []string{"12:9: waves[1].at: 3h is after the end of the run (duration 2h) (expected a time within the run)"},
			count: 1,
		},
		{
			file: "empty-selection.yaml",
			want: []string{
				"11:5: waves[0].evict: selects nothing (expected exactly one of all: true, count or percent)",
				"14:5: waves[1].evict: selects nothing (expected exactly one of all: true, count or percent)",
				"17:5: waves[2].evict: sets more than one of all, count and percent (expected exactly one)",
			},
			count: 3,
		},
		{
			file:  "multi-doc.yaml",
			want:  []string{"4:1: a second YAML document (expected one scenario per file; remove the --- separator and what follows, or split the file)"},
			count: 1,
		},
		{
			file:  "empty.yaml",
			want:  []string{" the scenario file is empty (expected a GameDay document with apiVersion, kind, metadata, duration and target)"},
			count: 1,
		},
		{
			file:  "comments-only.yaml",
			want:  []string{" the scenario file is empty (expected a GameDay document with apiVersion, kind, metadata, duration and target)"},
			count: 1,
		},
		{
			file:  "list.yaml",
			want:  []string{"1:1: the document is a list (expected a mapping with apiVersion, kind, metadata, duration and target)"},
			count: 1,
		},
		{
			file:  "alias-bomb.yaml",
			want:  []string{"1:1: aliases expand the document to more than 200000 nodes (expected a scenario that uses aliases sparingly)"},
			count: 1,
		},
		{
			file: "references.yaml",
			want: []string{
				`9:13: fleet.zones[1].name: zone "1" is declared twice (expected unique zone names)`,
				`13:20: fleet.pools[0].zones[1]: zone "4" is not in fleet.zones (expected one of 1)`,
				`15:24: fleet.pools[0].fallback.pool: no pool is named "ghost" (expected one of spot, spot-b, regular)`,
				`16:13: fleet.pools[1].name: pool "spot" is declared twice (expected unique pool names)`,
				`17:17: fleet.pools[1].priority: "spot" is not valid (expected one of Spot, Regular; names are case-sensitive: Spot)`,
				`22:24: fleet.pools[2].fallback.pool: pool "spot-b" falls back to itself (expected another, Regular pool)`,
				`26:7: fleet.pools[3].fallback: set on a Regular pool (expected a fallback only on Spot pools)`,
				`26:24: fleet.pools[3].fallback.pool: pool "spot" is Spot (expected a Regular pool)`,
				`30:31: waves[0].evict.pools[0]: no pool is named "ghost" (expected one of spot, spot-b, regular)`,
				`30:47: waves[0].evict.zones[0]: no zone is named "9" (expected one of 1)`,
				`31:11: waves[1].name: wave "w" is declared twice (expected unique wave names)`,
				`33:5: waves[1].fault.zones: missing (expected at least one zone that goes out)`,
				`36:5: waves[2].fault.price: 0 is not a price (expected the Spot price during the spike, above 0 USD per hour)`,
				`36:41: waves[2].fault.capacity: set on a priceSpike fault (expected capacity only on capacityShortage)`,
				`39:40: waves[3].fault.notice: 1m is not shorter than fleet.notice (30s) (expected a notice shorter than 30s)`,
				`40:5: waves[4]: has neither evict nor fault (expected exactly one of evict, fault)`,
				`43:21: blastRadius.exclude.pools[0]: no pool is named "ghost" (expected one of spot, spot-b, regular)`,
			},
			count: 17,
		},
		{
			file: "azure.yaml",
			want: []string{
				"8:19: target.azure.subscription: environment variable SPOTDRILL_TEST_UNSET is not set (expected it set, or a default such as ${SPOTDRILL_TEST_UNSET:-value})",
				"9:11: target.azure.vms[0]: environment variable SPOTDRILL_TEST_UNSET_TOO is not set (expected it set, or a default such as ${SPOTDRILL_TEST_UNSET_TOO:-value})",
				"9:44: target.azure.vms[1]: ${9bad} does not name an environment variable (expected ${NAME} or ${NAME:-default}, NAME made of letters, digits and _)",
				"10:1: fleet: set with provider azure (expected no fleet: the azure provider evicts real VMs; use provider sim for a simulated fleet)",
				"12:1: workload: set with provider azure (expected no workload: real workloads report through OpenTelemetry; use provider sim for a simulated workload)",
				"17:5: waves[0].fault: market faults need the simulated fleet (expected provider sim, or an evict wave)",
			},
			count: 6,
		},
		{
			file: "conditions.yaml",
			want: []string{
				`9:11: abortWhen[0].when: unknown metric "jobs.sucessRate" (expected one of cost.perJob, cost.savings, cost.total, cost.variance, evictions.count, evictions.ratePerHour, evictions.uncorrelated, fallback.cost, fallback.rate, jobs.duplicates, jobs.spotSuccessRate, jobs.successRate, jobs.turnaround.mean, jobs.turnaround.p50, jobs.turnaround.p95, lostWork.fraction, lostWork.seconds, provision.latency.p50, provision.latency.p95, provision.rejectionRate, queue.backlog.max, queue.backlog.mean, queue.wait.p95, ttr.capacity.p50, ttr.capacity.p95, ttr.max, ttr.p50, ttr.p95, ttr.p99, ttr.unrecovered)`,
				`10:11: abortWhen[1].when: condition "ttr.p95 2m" has no comparison (expected "metric <= value" with one of <, <=, >, >=)`,
				`12:16: slos[0].objective: metric ttr.p95: invalid duration "soon" (expected a duration like 90s, 5m, 1h30m)`,
				`15:11: slos[2].name: SLO "twice" is declared twice (expected unique SLO names)`,
				`17:5: slos[3].objective: missing (expected a condition like "ttr.p95 <= 2m")`,
			},
			count: 5,
		},
		{
			file: "distributions.yaml",
			want: []string{
				`7:23: fleet.noticeDelay.dist: "normal" is not a distribution (expected one of fixed, uniform, exponential, lognormal)`,
				"13:48: fleet.pools[0].provisioning.latency.max: 1m is less than min 3m (expected max >= min)",
				"18:44: fleet.pools[1].provisioning.latency.mean: 0s is not a duration above 0 (expected a mean like 10m)",
				"23:54: fleet.pools[2].provisioning.latency.stddev: -1s is negative (expected 0s or more)",
				"28:9: fleet.pools[3].provisioning.latency.dist: missing (expected one of fixed, uniform, exponential, lognormal)",
				"32:47: workload.jobs.duration.mean: not used by fixed distributions (expected only value)",
			},
			count: 6,
		},
		{
			file: "numbers.yaml",
			want: []string{
				`5:8: start: "next monday" is not a time (expected an RFC 3339 time like 2026-01-05T09:00:00Z)`,
				"8:29: fleet.meanTimeBetweenEvictions: set together with evictionRate (expected one of evictionRate and meanTimeBetweenEvictions)",
				`11:13: fleet.zones[0].name: missing (expected a zone name like "1")`,
				"12:21: fleet.zones[0].spotCapacity: -1 is negative (expected 0 or more VMs)",
				"14:13: fleet.pools[0].name: missing (expected a pool name)",
				"16:17: fleet.pools[0].capacity: -1 is negative (expected 0 or more VMs)",
				`17:23: fleet.pools[0].evictionPolicy: "Stop" is not valid (expected one of Deallocate, Delete)`,
				"18:17: fleet.pools[0].maxPrice: 0 is not a price cap (expected -1 for no cap, or a price above 0 in USD per hour)",
				"19:18: fleet.pools[0].spotPrice: -0.1 is not an amount (expected 0 or more USD)",
				"20:22: fleet.pools[0].onDemandPrice: NaN is not an amount (expected 0 or more USD)",
				"21:14: fleet.pools[0].slots: -2 is less than 1 (expected the number of jobs a VM runs at once, 1 or more)",
				"22:44: fleet.pools[0].fallback.afterFailures: -1 is negative (expected the number of failed allocations before falling back, 1 or more)",
				"22:62: fleet.pools[0].fallback.maxInstances: -1 is negative (expected 0 for no cap, or a number of VMs)",
				"22:74: fleet.pools[0].fallback.budget: -5 is not an amount (expected 0 or more USD)",
				"28:12: workload.jobs.count: 20000000 jobs are more than the simulator holds (expected 1 to 5000000)",
				"29:18: workload.jobs.ratePerHour: -1 is not an arrival rate (expected 0 to submit every job at the start, or up to 10000000 jobs per hour)",
				"32:15: workload.checkpoint.interval: -1m is negative (expected 0s or more)",
				`33:14: workload.checkpoint.storage: "s3" is not valid (expected one of durable, local)`,
				`34:13: workload.onNotice: "panic" is not valid (expected one of ignore, drain, checkpoint)`,
				"35:16: workload.restartCost: -1s is negative (expected 0s or more)",
				"36:14: workload.drainTime: -1s is negative (expected 0s or more)",
				"37:16: workload.maxAttempts: -1 is negative (expected 0 for no limit, or a number of attempts)",
				"39:11: waves[0].name: missing (expected a name for the wave)",
				"41:20: waves[0].evict.count: -2 is negative (expected a number of VMs, 1 or more)",
				"43:17: blastRadius.maxEvictions: -1 is negative (expected 0 or more evictions)",
			},
			count: 25,
		},
		{
			file: "hostile-values.yaml",
			want: []string{
				`6:9: metadata.name: "../../x" has '/' at byte 2 (expected 1 to 63 characters: lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or a digit)`,
				`12:13: fleet.pools[0].name: "\x1b[2Jspot" has characters that are not printable (expected printable text)`,
				"14:17: fleet.pools[0].capacity: 9223372036854775807 VMs are more than a pool may have (expected at most 100000)",
				"15:14: fleet.pools[0].slots: 2000000000 is more than a VM runs at once (expected 1 to 1000)",
				"18:17: fleet.pools[1].capacity: 100000000 VMs are more than a pool may have (expected at most 100000)",
				`24:11: waves[0].name: "line\nbreak" has characters that are not printable (expected printable text)`,
			},
			count: 6,
		},
		{
			file: "hostile-durations.yaml",
			want: []string{
				`6:11: duration: duration "1000000h" is longer than a year (expected at most 8760h)`,
				`15:15: workload.jobs.duration: invalid duration "1e308s" (expected a duration like 90s, 5m, 1h30m)`,
			},
			count: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			s, err := Load(path)
			assert.Nil(t, s)
			probs := problemsOf(t, err)
			got := lines(err)
			for _, w := range tt.want {
				assert.Contains(t, got, path+":"+w, "problem not reported")
			}
			if tt.count > 0 {
				assert.Len(t, probs, tt.count, "problems:\n%s", err)
			}
			for _, p := range probs {
				assert.Equal(t, path, p.File)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	s, err := Load(path)
	assert.Nil(t, s)
	probs := problemsOf(t, err)
	assert.Equal(t, []Problem{{File: path, Msg: "no such file (expected the path of a scenario YAML file)"}}, probs)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Equal(t, path+": no such file (expected the path of a scenario YAML file)", err.Error())
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	assert.Equal(t, dir+": is a directory (expected a scenario YAML file)", err.Error())
}

func TestLoadRefusesLargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(path)
	require.NoError(t, err)
	// A sparse file: 50 MB on paper, nothing on disk, refused before it
	// is read.
	require.NoError(t, f.Truncate(50_000_000))
	require.NoError(t, f.Close())

	_, err = Load(path)
	problemsOf(t, err)
	assert.Equal(t, path+": scenario file is 50.0 MB, larger than the 1 MiB limit (expected a scenario file under 1 MiB)", err.Error())
}

func TestParseRefusesLargeData(t *testing.T) {
	data := []byte("apiVersion: spotdrill.dev/v1\n" + strings.Repeat("# padding\n", MaxFileSize/10+1))
	_, err := Parse(data, "big.yaml")
	problemsOf(t, err)
	assert.Equal(t, "big.yaml: scenario file is 1.0 MB, larger than the 1 MiB limit (expected a scenario file under 1 MiB)", err.Error())
}

// TestParseLimits feeds inputs that make the YAML parser slow or large, each
// under MaxFileSize; they must be refused quickly.
func TestParseLimits(t *testing.T) {
	var keys strings.Builder
	for i := range 20_000 {
		keys.WriteString("k")
		keys.WriteString(strings.Repeat("x", i%7))
		keys.WriteString(strings.Repeat("y", i/7%7))
		keys.WriteString(string(rune('a' + i%26)))
		keys.WriteString(string(rune('a' + i/26%26)))
		keys.WriteString(string(rune('a' + i/676%26)))
		keys.WriteString(": 1\n")
	}
	tests := []struct {
		name, data, want string
	}{
		{"open flow", "a: " + strings.Repeat("[", 150_000), "nesting is deeper than 64 levels"},
		{"closed flow", "a: " + strings.Repeat("[", 90_000) + strings.Repeat("]", 90_000), "nesting is deeper than 64 levels"},
		{"flow mappings", "a: " + strings.Repeat("{a: ", 30_000) + "1" + strings.Repeat("}", 30_000), "nesting is deeper than 64 levels"},
		{"block entries", strings.Repeat("- ", 150_000) + "x", "nesting is deeper than 64 levels"},
		{"indentation", indented(1000), "nesting is deeper than 64 levels"},
		{"keys in one mapping", keys.String(), "a mapping has more than 2000 keys"},
		{"keys", "waves:\n" + strings.Repeat("  - a: 1\n    b: 1\n    c: 1\n    d: 1\n    e: 1\n", 10_001), "the file has more than 50000 mapping keys"},
		{"tokens", "a: [" + strings.Repeat("1,", 300_000) + "1]", "the file has more than 200000 YAML tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.LessOrEqual(t, len(tt.data), MaxFileSize)
			start := time.Now()
			_, err := Parse([]byte(tt.data), "limits.yaml")
			problemsOf(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Less(t, time.Since(start), 10*time.Second)
		})
	}
}

func indented(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("a:\n")
	}
	return b.String()
}

func TestParseNotUTF8(t *testing.T) {
	_, err := Parse([]byte("name: \xff\xfe\n"), "bin.yaml")
	problemsOf(t, err)
	assert.Equal(t, "bin.yaml: the file is not UTF-8 text (expected a UTF-8 YAML file)", err.Error())
}

// TestParseDecodeErrorsHavePlaces checks inputs whose errors come from the
// YAML library's decoder rather than the checks before it.
func TestParseDecodeErrorsHavePlaces(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{
			name: "unknown alias",
			data: "apiVersion: *nowhere\n",
			want: `x.yaml:1:14: invalid YAML: could not find alias "nowhere" (expected well-formed YAML)`,
		},
		{
			name: "merged unknown field",
			data: "apiVersion: spotdrill.dev/v1\nkind: GameDay\nmetadata:\n  <<: &m {name: a, nme: b}\n",
			want: `x.yaml:4:20: metadata.nme: unknown field "nme" (expected one of name, description, labels)`,
		},
		{
			name: "unknown field merged through an alias",
			data: "x: &m {name: a, nme: b}\nmetadata:\n  <<: *m\n",
			want: `x.yaml:1:1: x: unknown field "x"`,
		},
		{
			name: "aliased value of the wrong type",
			data: "apiVersion: spotdrill.dev/v1\nkind: GameDay\nmetadata: {name: a, labels: &l {a: b}}\nduration: 1h\ntarget: {provider: sim}\nfleet: {pools: [{name: p, priority: Spot, capacity: *l}]}\n",
			want: `x.yaml:3:32: got a mapping (expected an integer)`,
		},
		{
			name: "merge key after other keys",
			data: "metadata: {name: a, <<: {description: b}}\n",
			want: `x.yaml:1:21: metadata: "<<" is not the first key of its mapping (expected "<<: *anchor" first, so that the keys after it override the merged ones)`,
		},
		{
			name: "duplicate key",
			data: "kind: GameDay\nkind: GameDay\n",
			want: `x.yaml:2:1: invalid YAML: mapping key "kind" already defined at [1:1] (expected well-formed YAML)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data), "x.yaml")
			problemsOf(t, err)
			assert.Contains(t, lines(err)[0], tt.want)
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "s.yaml", Line: 12, Col: 9, Field: "waves[1].at", Msg: "bad"}, "s.yaml:12:9: waves[1].at: bad"},
		{Problem{File: "s.yaml", Line: 3, Col: 1, Msg: "bad"}, "s.yaml:3:1: bad"},
		{Problem{File: "s.yaml", Field: "duration", Msg: "bad"}, "s.yaml: duration: bad"},
		{Problem{Msg: "bad"}, "<scenario>: bad"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.p.String())
	}
}

func TestErrorsListsProblemsInFileOrder(t *testing.T) {
	errs := newErrors([]Problem{
		{File: "f", Line: 9, Col: 1, Msg: "c"},
		{File: "f", Line: 2, Col: 5, Msg: "b"},
		{File: "f", Line: 2, Col: 1, Msg: "a"},
	})
	assert.Equal(t, "f:2:1: a\nf:2:5: b\nf:9:1: c", errs.Error())
	assert.NoError(t, errors.Unwrap(errs))
}

// TestParseQuotedEscapes covers escapes in double-quoted values of the
// custom value types, which Go's JSON encoder writes for < and >.
func TestParseQuotedEscapes(t *testing.T) {
	data := strings.Join([]string{
		`apiVersion: "spotdrill.dev/v1"`,
		`kind: "Game\u0044ay"`,
		`metadata: {name: "caf\u0065-\x32"}`,
		`duration: "\x32h"`,
		`target: {provider: sim}`,
		`fleet: {pools: [{name: p, priority: Spot, capacity: 1}], evictionRate: "5\u0025"}`,
		`slos:`,
		`  - objective: "ttr.p95 \u003c= 2m"`,
		`    name: "caf\u00e9 \"quoted\" \\ done"`,
		`  - objective: "jobs.successRate \u003e= 99%"`,
		``,
	}, "\n")
	s, err := Parse([]byte(data), "esc.yaml")
	require.NoError(t, err)
	assert.Equal(t, Kind, s.Kind)
	assert.Equal(t, "cafe-2", s.Metadata.Name)
	assert.Equal(t, "café \"quoted\" \\ done", s.SLOs[0].Name)
	assert.Equal(t, 2*time.Hour, s.Duration.D())
	assert.InDelta(t, 0.05, float64(s.Fleet.EvictionRate), 1e-12)
	assert.Equal(t, "ttr.p95 <= 2m", s.SLOs[0].Objective.Raw)
	assert.Equal(t, ">=", s.SLOs[1].Objective.Op)
}

// TestParseAcceptsStreamMarkers checks what may surround the one document:
// a byte order mark, a %YAML directive, --- and ... markers.
func TestParseAcceptsStreamMarkers(t *testing.T) {
	doc, err := os.ReadFile("testdata/valid-minimal.yaml")
	require.NoError(t, err)
	tests := map[string]string{
		"byte order mark": "\ufeff" + string(doc),
		"directive":       "%YAML 1.2\n---\n" + string(doc),
		"markers":         "---\n" + string(doc) + "...\n",
		"trailing empty":  string(doc) + "---\n",
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := Parse([]byte(data), "m.yaml")
			require.NoError(t, err)
			assert.Equal(t, "minimal", s.Metadata.Name)
		})
	}
}

// TestShippedScenariosAreValid loads every scenario of the library and the
// benchmarks: they are examples users copy.
func TestShippedScenariosAreValid(t *testing.T) {
	t.Setenv("SPOTDRILL_TEST_SUBSCRIPTION", "sub")
	for _, file := range validFiles(t) {
		t.Run(file, func(t *testing.T) {
			_, err := Load(file)
			assert.NoError(t, err)
		})
	}
}

// wavesScenario is a valid scenario with n one-line waves.
func wavesScenario(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: spotdrill.dev/v1\nkind: GameDay\nmetadata: {name: many-waves}\nduration: 90d\ntarget: {provider: sim}\n")
	b.WriteString("fleet: {pools: [{name: p, priority: Spot, capacity: 10}]}\nwaves:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: w%d, at: %ds, evict: {count: 1}}\n", i, i+1)
	}
	return []byte(b.String())
}

// BenchmarkParseWaves parses scenarios of 10 to MaxWaves waves: the time per
// wave stays flat (it grew with the file before: 2,000 waves took 14 s).
func BenchmarkParseWaves(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 2000, MaxWaves} {
		data := wavesScenario(n)
		b.Run(fmt.Sprintf("waves=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(data, "waves.yaml"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/wave")
		})
	}
}

func TestManyWavesParse(t *testing.T) {
	data := wavesScenario(MaxWaves)
	require.Less(t, len(data), MaxFileSize, "the most waves allowed fit in a file")
	sc, err := Parse(data, "waves.yaml")
	require.NoError(t, err)
	require.Len(t, sc.Waves, MaxWaves)
	_, err = Parse(wavesScenario(MaxWaves+1), "waves.yaml")
	require.ErrorContains(t, err, "10001 waves are more than a game day may have (expected at most 10000)")
}
