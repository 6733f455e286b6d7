// Package blastradius is the guard that every single eviction passes before
// simulateEviction is called: only Spot VMs, only inside the frozen plan,
// never one VM twice in a wave, never over the run's caps. Its checks are
// pure functions of the limits, what the run has done so far and the
// proposed target.
package blastradius

import (
	"fmt"
	"slices"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Limit names, as refusals carry them in the journal's code field.
const (
	LimitNotSpot      = "notSpot"
	LimitOutsidePlan  = "outsidePlan"
	LimitTwiceInWave  = "twiceInWave"
	LimitExcluded     = "excluded"
	LimitMaxEvictions = "maxEvictions"
	LimitNotRunning   = "notRunning"
)

// DefaultExemptTag excludes a VM from every game day unless a scenario says
// otherwise: the convention teams use to protect a VM.
const DefaultExemptTag = "chaos-exempt"

// Refusal says which limit refused an eviction and why, with the numbers.
type Refusal struct {
	Limit  string
	Reason string
}

func (r *Refusal) Error() string { return r.Limit + ": " + r.Reason }

// Scope is the frozen plan: the pools a run may touch. A VM outside it is
// never evicted, whatever a wave selects.
type Scope struct {
	Pools []string
}

// Guard holds the limits and what the run has done against them.
type Guard struct {
	limits    scenarios.BlastRadius
	scope     Scope
	requested int
	wave      string
	inWave    map[string]struct{}
}

// New guards a run with the scenario's limits inside a frozen scope.
func New(limits scenarios.BlastRadius, scope Scope) *Guard {
	return &Guard{limits: limits, scope: scope, inWave: map[string]struct{}{}}
}

// BeginWave starts a new wave: the "never twice in a wave" rule resets.
func (g *Guard) BeginWave(name string) {
	g.wave = name
	clear(g.inWave)
}

// Requested is how many evictions the guard has let through.
func (g *Guard) Requested() int { return g.requested }

// Excluded says whether the scenario's exclusions keep a target out of every
// wave, and why. Hard rules are not exclusions: see Check.
func Excluded(limits scenarios.BlastRadius, t injector.Target) (string, bool) {
	ex := limits.Exclude
	if v, ok := t.Tags[DefaultExemptTag]; ok && v == "true" {
		if _, overridden := ex.Tags[DefaultExemptTag]; !overridden {
			return fmt.Sprintf("tag %s=true", DefaultExemptTag), true
		}
	}
	for k, v := range ex.Tags {
		if tv, ok := t.Tags[k]; ok && tv == v {
			return fmt.Sprintf("tag %s=%s", k, v), true
		}
	}
	if slices.Contains(ex.Names, t.Name) {
		return "excluded by name", true
	}
	if slices.Contains(ex.Pools, t.Pool) {
		return fmt.Sprintf("pool %s is excluded", t.Pool), true
	}
	return "", false
}

// Check decides one eviction without recording it.
func (g *Guard) Check(t injector.Target) *Refusal {
	if !t.Spot() {
		return &Refusal{LimitNotSpot, fmt.Sprintf("%s has priority %s; only Spot VMs are ever evicted", t.Name, t.Priority)}
	}
	if !slices.Contains(g.scope.Pools, t.Pool) {
		return &Refusal{LimitOutsidePlan, fmt.Sprintf("%s is in pool %s, outside the frozen plan (%v)", t.Name, t.Pool, g.scope.Pools)}
	}
	if _, ok := g.inWave[t.ID]; ok {
		return &Refusal{LimitTwiceInWave, fmt.Sprintf("%s was already evicted in wave %s", t.Name, g.wave)}
	}
	if why, ok := Excluded(g.limits, t); ok {
		return &Refusal{LimitExcluded, fmt.Sprintf("%s is excluded: %s", t.Name, why)}
	}
	if t.State != injector.StateRunning {
		return &Refusal{LimitNotRunning, fmt.Sprintf("%s is %s, not running", t.Name, t.State)}
	}
	if m := g.limits.MaxEvictions; m != nil && g.requested >= *m {
		return &Refusal{LimitMaxEvictions, fmt.Sprintf("the run already requested %d of at most %d evictions", g.requested, *m)}
	}
	return nil
}

// Allow checks one eviction and, when allowed, counts it against the
// limits. The caller must call it before every simulateEviction.
func (g *Guard) Allow(t injector.Target) *Refusal {
	if r := g.Check(t); r != nil {
		return r
	}
	g.requested++
	g.inWave[t.ID] = struct{}{}
	return nil
}
