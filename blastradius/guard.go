// Package blastradius is the guard that every single eviction passes before
// simulateEviction is called. Hard rules no scenario can turn off: only Spot
// VMs, never a chaos-exempt VM or scale set, only the resource IDs the frozen
// plan names for the wave, never one VM twice in a wave, nothing once the
// journal cannot be written or the run was aborted. Limits a
// scenario sets (with safe defaults): total evictions, evictions in flight
// (as a count, and as a share of the targeted fleet, of a pool, of a zone),
// a floor of healthy running capacity, a rate, a gap between waves, time
// windows and blackout dates, and exclusions.
//
// Check is a pure function of the limits, the run's state and the proposed
// eviction; Guard keeps that state from the run's events.
package blastradius

import (
	"fmt"
	"math"
	"time"

	"github.com/spotdrill/spotdrill/injector"
)

// Limit names, as refusals carry them in the journal's code field.
const (
	LimitNotSpot        = "notSpot"
	LimitOutsidePlan    = "outsidePlan"
	LimitTwiceInWave    = "twiceInWave"
	LimitExcluded       = "excluded"
	LimitExempt         = "exempt"
	LimitLeased         = "leased"
	LimitJournal        = "journal"
	LimitNotRunning     = "notRunning"
	LimitMaxEvictions   = "maxEvictions"
	LimitMaxInFlight    = "maxInFlight"
	LimitInFlightShare  = "maxInFlightPercent"
	LimitPoolShare      = "maxPoolPercent"
	LimitZoneShare      = "maxZonePercent"
	LimitMinHealthy     = "minHealthyPercent"
	LimitRate           = "maxPerMinute"
	LimitWaveGap        = "minWaveGap"
	LimitOutsideWindow  = "window"
	LimitBlackout       = "blackout"
	LimitAborted        = "aborted"
	DefaultMaxPoolShare = 0.5
)

// Refusal says which limit refused an eviction and why, with the numbers.
type Refusal struct {
	Limit  string
	Reason string
}

func (r *Refusal) Error() string { return r.Limit + ": " + r.Reason }

func refuse(limit, format string, args ...any) *Refusal {
	return &Refusal{Limit: limit, Reason: fmt.Sprintf(format, args...)}
}

// Unlimited marks a count limit that is not set.
const Unlimited = -1

// Limits are what a scenario allows. Shares are fractions (0.5 = 50 %);
// a share of 1 and a count of Unlimited do not limit.
type Limits struct {
	MaxEvictions       int
	MaxInFlight        int
	MaxInFlightPercent float64
	MaxPoolPercent     float64
	MaxZonePercent     float64
	MinHealthyPercent  float64
	MaxPerMinute       int
	MinWaveGap         time.Duration
	Calendar           Calendar
	Exclude            Exclude
	// RunID is this run's lease (the spotdrill-run tag's value): a target
	// leased by any other run is never eligible. Set by the runner, never
	// by a scenario.
	RunID string
}

// NoLimits limits nothing but the hard rules.
func NoLimits() Limits {
	return Limits{MaxEvictions: Unlimited, MaxInFlight: Unlimited, MaxInFlightPercent: 1, MaxPoolPercent: 1,
		MaxZonePercent: 1, MaxPerMinute: Unlimited}
}

// State is what the run has done so far, as the guard needs it.
type State struct {
	// Now is the run clock: virtual on the simulated fleet, wall on Azure.
	Now time.Time
	// Elapsed is the time since the start of the run.
	Elapsed   time.Duration
	Wave      string
	WaveStart time.Duration
	// LastWaveStart is when the previous eviction wave started; negative
	// when none did.
	LastWaveStart time.Duration
	Requested     int
	InFlight      map[string]Flight // by target key
	InWave        map[string]bool   // by target key
	Recent        []time.Duration   // request times, for the rate
	// Healthy is running capacity per pool that no notice touched: the
	// floor counts only what really runs.
	Healthy map[string]int
	Aborted bool
	// JournalErr is the journal's write error: once the run cannot record
	// what it does, it does nothing more.
	JournalErr error

	// inPool and inZone count InFlight by pool and zone (Land, Recover).
	inPool, inZone map[string]int
}

// Flight is an eviction requested and not yet recovered from.
type Flight struct {
	Pool, Zone string
}

func (s *State) inFlight(pool, zone string) (total, inPool, inZone int) {
	return len(s.InFlight), s.inPool[pool], s.inZone[zone]
}

// Land records an eviction in flight, keeping the per-pool and per-zone
// counts that the share limits read (a scan of every flight per check
// would make a wave of n evictions cost n²).
func (s *State) Land(key string, f Flight) {
	if _, ok := s.InFlight[key]; ok {
		return
	}
	if s.inPool == nil {
		s.inPool, s.inZone = map[string]int{}, map[string]int{}
	}
	s.InFlight[key] = f
	s.inPool[f.Pool]++
	s.inZone[f.Zone]++
}

// Recover ends a flight.
func (s *State) Recover(key string) {
	f, ok := s.InFlight[key]
	if !ok {
		return
	}
	delete(s.InFlight, key)
	s.inPool[f.Pool]--
	s.inZone[f.Zone]--
}

// Check decides one eviction. It never changes anything.
func Check(l *Limits, sc *Scope, st *State, t injector.Target) *Refusal {
	if r := checkHardRules(l, sc, st, t); r != nil {
		return r
	}
	if r := checkClock(l, st); r != nil {
		return r
	}
	if r := checkCounts(l, st); r != nil {
		return r
	}
	return checkShares(l, sc, st, t)
}

func checkHardRules(l *Limits, sc *Scope, st *State, t injector.Target) *Refusal {
	switch {
	case st.Aborted:
		return refuse(LimitAborted, "the run was aborted: no more evictions")
	case st.JournalErr != nil:
		return refuse(LimitJournal, "the journal cannot be written (%v): nothing is evicted unrecorded", st.JournalErr)
	}
	switch limit, why, out := Ineligible(l, t); {
	case !out:
	case limit == LimitNotSpot:
		return refuse(limit, "%s has priority %s; only Spot VMs are ever evicted", t.Name, t.Priority)
	case limit == LimitExcluded:
		return refuse(limit, "%s is excluded: %s", t.Name, why)
	default:
		return refuse(limit, "%s is %s", t.Name, why)
	}
	switch {
	case !sc.MayTouch(st.Wave, t):
		return refuse(LimitOutsidePlan, "%s (pool %s) is outside the frozen plan of wave %s", t.Name, t.Pool, st.Wave)
	case st.InWave[t.Key()]:
		return refuse(LimitTwiceInWave, "%s was already evicted in wave %s", t.Name, st.Wave)
	}
	if t.State != injector.StateRunning {
		return refuse(LimitNotRunning, "%s is %s, not running", t.Name, t.State)
	}
	if _, ok := st.InFlight[t.Key()]; ok {
		return refuse(LimitNotRunning, "%s is still being evicted", t.Name)
	}
	return nil
}

func checkClock(l *Limits, st *State) *Refusal {
	if l.MinWaveGap > 0 && st.LastWaveStart >= 0 && st.WaveStart-st.LastWaveStart < l.MinWaveGap {
		return refuse(LimitWaveGap, "wave %s starts %s after the previous one; the minimum gap is %s",
			st.Wave, st.WaveStart-st.LastWaveStart, l.MinWaveGap)
	}
	if why, ok := l.Calendar.Allows(st.Now); !ok {
		limit := LimitOutsideWindow
		if l.Calendar.blackedOut(st.Now) {
			limit = LimitBlackout
		}
		return refuse(limit, "%s", why)
	}
	return nil
}

func checkCounts(l *Limits, st *State) *Refusal {
	if l.MaxEvictions != Unlimited && st.Requested >= l.MaxEvictions {
		return refuse(LimitMaxEvictions, "the run already requested %d of at most %d evictions", st.Requested, l.MaxEvictions)
	}
	if l.MaxInFlight != Unlimited && len(st.InFlight) >= l.MaxInFlight {
		return refuse(LimitMaxInFlight, "%d evictions are in flight, at most %d may be", len(st.InFlight), l.MaxInFlight)
	}
	if l.MaxPerMinute != Unlimited {
		n := 0
		for _, at := range st.Recent {
			if st.Elapsed-at < time.Minute {
				n++
			}
		}
		if n >= l.MaxPerMinute {
			return refuse(LimitRate, "%d evictions in the last minute, at most %d per minute", n, l.MaxPerMinute)
		}
	}
	return nil
}

// checkShares refuses an eviction that would put more than a share of the
// fleet, a pool or a zone in flight, or leave a pool below its floor.
func checkShares(l *Limits, sc *Scope, st *State, t injector.Target) *Refusal {
	total, inPool, inZone := st.inFlight(t.Pool, t.Zone)
	if over(total+1, sc.Total, l.MaxInFlightPercent) {
		return refuse(LimitInFlightShare, "%d of %d targeted VMs would be in flight (%s), above %s",
			total+1, sc.Total, pct(total+1, sc.Total), pctf(l.MaxInFlightPercent))
	}
	if n := sc.PoolSize[t.Pool]; over(inPool+1, n, l.MaxPoolPercent) {
		return refuse(LimitPoolShare, "%d of %d VMs of pool %s would be in flight (%s), above %s",
			inPool+1, n, t.Pool, pct(inPool+1, n), pctf(l.MaxPoolPercent))
	}
	if n := sc.ZoneSize[t.Zone]; over(inZone+1, n, l.MaxZonePercent) {
		return refuse(LimitZoneShare, "%d of %d targeted VMs in zone %s would be in flight (%s), above %s",
			inZone+1, n, zoneName(t.Zone), pct(inZone+1, n), pctf(l.MaxZonePercent))
	}
	if l.MinHealthyPercent > 0 {
		planned := sc.PoolSize[t.Pool]
		left := st.Healthy[t.Pool] - 1
		if float64(left) < l.MinHealthyPercent*float64(planned)-1e-9 {
			return refuse(LimitMinHealthy, "pool %s would keep %d healthy running VMs of %d planned (%s), below %s",
				t.Pool, left, planned, pct(left, planned), pctf(l.MinHealthyPercent))
		}
	}
	return nil
}

func over(n, of int, share float64) bool {
	if share >= 1 || of <= 0 {
		return false
	}
	return float64(n) > share*float64(of)+1e-9
}

func pct(n, of int) string {
	if of == 0 {
		return "n/a"
	}
	return pctf(float64(n) / float64(of))
}

func pctf(f float64) string {
	v := math.Round(f*1000) / 10
	return fmt.Sprintf("%g%%", v)
}

func zoneName(z string) string {
	if z == "" {
		return "(none)"
	}
	return z
}
