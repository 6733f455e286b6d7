package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyDefaults(t *testing.T) {
	s := &Scenario{
		Fleet: &Fleet{Pools: []Pool{
			{Name: "spot", Priority: PrioritySpot, Fallback: &Fallback{Pool: "reg"}},
			{Name: "reg", Priority: PriorityRegular},
		}},
		Workload: &Workload{},
		SLOs:     []SLO{{Objective: Condition{Raw: "ttr.p95 <= 2m"}}, {Name: "named", Objective: Condition{Raw: "ttr.p50 <= 1m"}}},
	}
	s.ApplyDefaults()

	assert.Equal(t, int64(1), s.Seed)
	assert.Equal(t, "2026-01-05T09:00:00Z", s.Start)
	assert.Equal(t, 30*time.Second, s.Fleet.Notice.D())
	assert.Equal(t, &Dist{Dist: DistUniform, Min: dur("5s"), Max: dur("15s")}, s.Fleet.NoticeDelay)

	spot := s.Fleet.Pools[0]
	assert.Equal(t, EvictionDeallocate, spot.EvictionPolicy)
	assert.Equal(t, ptr(-1.0), spot.MaxPrice)
	assert.Equal(t, 1, spot.Slots)
	assert.Equal(t, &Dist{Dist: DistUniform, Min: dur("60s"), Max: dur("180s")}, spot.Provisioning.Latency)
	assert.Equal(t, 5*time.Minute, spot.Provisioning.BootstrapTimeout.D())
	assert.Equal(t, 30*time.Second, spot.Autoscale.Delay.D())
	assert.Equal(t, time.Minute, spot.Autoscale.RetryInterval.D())
	assert.Equal(t, 3, spot.Fallback.AfterFailures)

	reg := s.Fleet.Pools[1]
	assert.Empty(t, reg.EvictionPolicy, "Regular VMs are not evicted")
	assert.Nil(t, reg.MaxPrice, "Regular VMs have no price cap")
	assert.Equal(t, 1, reg.Slots)
	assert.NotNil(t, reg.Provisioning.Latency)

	w := s.Workload
	assert.Equal(t, 5*time.Minute, w.Queue.VisibilityTimeout.D())
	assert.Equal(t, RequeueFront, w.Queue.Requeue)
	assert.Equal(t, StorageDurable, w.Checkpoint.Storage)
	assert.Equal(t, OnNoticeIgnore, w.OnNotice)
	assert.Equal(t, 10*time.Second, w.DrainTime.D())
	assert.Equal(t, ptr(true), w.Jobs.Idempotent)

	assert.Equal(t, "ttr.p95 <= 2m", s.SLOs[0].Name)
	assert.Equal(t, "named", s.SLOs[1].Name)
}

func TestApplyDefaultsKeepsValues(t *testing.T) {
	tests := []struct {
		name  string
		s     *Scenario
		check func(t *testing.T, s *Scenario)
	}{
		{"seed and start", &Scenario{Seed: 7, Start: "2030-01-01T00:00:00Z"}, func(t *testing.T, s *Scenario) {
			assert.Equal(t, int64(7), s.Seed)
			assert.Equal(t, "2030-01-01T00:00:00Z", s.Start)
		}},
		{"negative seed", &Scenario{Seed: -3}, func(t *testing.T, s *Scenario) { assert.Equal(t, int64(-3), s.Seed) }},
		{"pool", &Scenario{Fleet: &Fleet{Notice: dur("5s"), Pools: []Pool{{
			Priority: PrioritySpot, EvictionPolicy: EvictionDelete, MaxPrice: ptr(0.3), Slots: 8,
			Autoscale: Autoscale{Delay: dur("-1s")},
		}}}}, func(t *testing.T, s *Scenario) {
			p := s.Fleet.Pools[0]
			assert.Equal(t, 5*time.Second, s.Fleet.Notice.D())
			assert.Equal(t, EvictionDelete, p.EvictionPolicy)
			assert.Equal(t, ptr(0.3), p.MaxPrice)
			assert.Equal(t, 8, p.Slots)
			assert.Equal(t, dur("-1s"), p.Autoscale.Delay, "a negative value is left for Validate to report")
		}},
		{"workload", &Scenario{Workload: &Workload{OnNotice: OnNoticeDrain, Jobs: Jobs{Idempotent: ptr(false)}}}, func(t *testing.T, s *Scenario) {
			assert.Equal(t, OnNoticeDrain, s.Workload.OnNotice)
			assert.Equal(t, ptr(false), s.Workload.Jobs.Idempotent)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.ApplyDefaults()
			tt.check(t, tt.s)
		})
	}
}

func TestApplyDefaultsIsIdempotent(t *testing.T) {
	for _, file := range []string{"testdata/valid-full.yaml", "testdata/valid-minimal.yaml"} {
		t.Run(file, func(t *testing.T) {
			// Load applies the defaults once; applying them again to a
			// second copy must change nothing.
			once, err := Load(file)
			require.NoError(t, err)
			again, err := Load(file)
			require.NoError(t, err)
			again.ApplyDefaults()
			again.ApplyDefaults()
			assert.Equal(t, once, again)
			assert.Empty(t, again.Validate())
		})
	}
}

// TestExplicitZeroMeansZero: where zero means something, a zero written in
// the file is kept, and only an absent field gets the default.
func TestExplicitZeroMeansZero(t *testing.T) {
	const base = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata: {name: zeros}
duration: 1h
target: {provider: sim}
fleet:
  NOTICE
  pools:
    - name: p
      priority: Spot
      capacity: 2
      autoscale: {DELAY}
workload:
  jobs: {count: 1, duration: 1m}
  queue: {TIMEOUT}
  DRAIN
`
	zeros := strings.NewReplacer("NOTICE", "notice: 0s", "DELAY", "delay: 0s", "TIMEOUT", "visibilityTimeout: 0s", "DRAIN", "drainTime: 0s").Replace(base)
	sc, err := Parse([]byte(zeros), "zeros.yaml")
	require.NoError(t, err)
	require.Zero(t, sc.Fleet.Notice)
	require.Zero(t, sc.Fleet.Pools[0].Autoscale.Delay)
	require.Zero(t, sc.Workload.Queue.VisibilityTimeout)
	require.Zero(t, sc.Workload.DrainTime)

	absent := strings.NewReplacer("NOTICE", "", "DELAY", "", "TIMEOUT", "", "DRAIN", "").Replace(base)
	sc, err = Parse([]byte(absent), "absent.yaml")
	require.NoError(t, err)
	require.Equal(t, DefaultNotice, sc.Fleet.Notice.D())
	require.Equal(t, DefaultAutoscaleDelay, sc.Fleet.Pools[0].Autoscale.Delay.D())
	require.Equal(t, DefaultVisibilityTimeout, sc.Workload.Queue.VisibilityTimeout.D())
	require.Equal(t, DefaultDrainTime, sc.Workload.DrainTime.D())
}
