package blastradius

import (
	"slices"

	"github.com/spotdrill/spotdrill/injector"
)

// Scope is the frozen plan as the guard checks it: the exact resources each
// wave may touch, by key (the ARM resource ID on Azure, the VM ID on the
// simulated fleet), and the planned size of each pool and zone that shares
// are measured against. Membership is by identity, never by count or pool:
// a VM that joins a targeted scale set after the plan (a scale-out, a
// replacement, another team's instance) is outside it unless the scenario
// opts in to new instances, and then each one is admitted by name.
type Scope struct {
	// Pools the plan targets.
	Pools []string
	// Planned sizes: VMs in the scope at plan time.
	PoolSize map[string]int
	ZoneSize map[string]int
	Total    int
	// NewInstances lets waves admit VMs of the targeted pools that appear
	// after the plan (target.newInstances: include).
	NewInstances bool

	members map[string]bool            // every frozen key
	waves   map[string]map[string]bool // wave -> keys it may touch
}

// NewScope is an empty scope; Freeze fills it.
func NewScope(newInstances bool) Scope {
	return Scope{PoolSize: map[string]int{}, ZoneSize: map[string]int{}, NewInstances: newInstances,
		members: map[string]bool{}, waves: map[string]map[string]bool{}}
}

// Freeze puts a target into the plan, counted in the planned sizes.
func (s *Scope) Freeze(t injector.Target) {
	k := t.Key()
	if s.members[k] {
		return
	}
	s.members[k] = true
	if !slices.Contains(s.Pools, t.Pool) {
		s.Pools = append(s.Pools, t.Pool)
	}
	s.PoolSize[t.Pool]++
	s.ZoneSize[t.Zone]++
	s.Total++
}

// FreezeWave lets a wave touch a frozen target.
func (s *Scope) FreezeWave(wave string, t injector.Target) {
	if !s.members[t.Key()] {
		return
	}
	s.allow(wave, t.Key())
}

func (s *Scope) allow(wave, key string) {
	m := s.waves[wave]
	if m == nil {
		m = map[string]bool{}
		s.waves[wave] = m
	}
	m[key] = true
}

// MayTouch reports whether a wave may touch a target: the plan froze it for
// that wave, or the wave admitted it as a new instance.
func (s *Scope) MayTouch(wave string, t injector.Target) bool { return s.waves[wave][t.Key()] }

// New reports whether a target appeared after the plan in one of its
// pools: what a scenario may opt in to.
func (s *Scope) New(t injector.Target) bool {
	return !s.members[t.Key()] && slices.Contains(s.Pools, t.Pool)
}

// Admit lets a wave touch a VM that appeared after the plan, when the
// scenario opted in and the VM belongs to a targeted pool. The caller
// journals the VM's name before it calls Admit, so that no VM outside the
// confirmed plan is evicted without being named first. It does not change
// the planned sizes: shares stay measured against what was confirmed.
func (s *Scope) Admit(wave string, t injector.Target) bool {
	if !s.NewInstances || !s.New(t) {
		return false
	}
	s.allow(wave, t.Key())
	return true
}
