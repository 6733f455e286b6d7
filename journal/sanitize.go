package journal

import "github.com/spotdrill/spotdrill/internal/textsafe"

// Sanitized returns the event with every string escaped for people
// (internal/textsafe), and whether anything needed it: a copy when it did,
// e itself when not. Views that show events (the reports' accumulator, the
// console) take events through it, so that a name, a tag or an error text
// from outside never reaches a terminal or a report raw. The journal keeps
// what happened, unescaped.
func (e *Event) Sanitized() (*Event, bool) {
	if e.safe() {
		return e, false
	}
	c := *e
	for _, s := range []*string{&c.Wave, &c.VM, &c.Pool, &c.Zone, &c.Job, &c.Cause, &c.Reason, &c.Code, &c.Policy,
		&c.Replaces, &c.Priority, &c.Status, &c.TraceID, &c.SpanID} {
		*s = textsafe.Clean(*s)
	}
	if e.Run != nil {
		r := *e.Run
		for _, s := range []*string{&r.Tool, &r.Scenario, &r.File, &r.ScenarioSHA256, &r.Provider, &r.Start} {
			*s = textsafe.Clean(*s)
		}
		r.Pools = make([]Pool, len(e.Run.Pools))
		for i, p := range e.Run.Pools {
			for _, s := range []*string{&p.Name, &p.Priority, &p.SKU, &p.EvictionPolicy, &p.FallbackFor} {
				*s = textsafe.Clean(*s)
			}
			p.Zones = cleanAll(p.Zones)
			r.Pools[i] = p
		}
		r.SLOs = make([]SLO, len(e.Run.SLOs))
		for i, s := range e.Run.SLOs {
			r.SLOs[i] = SLO{Name: textsafe.Clean(s.Name), Objective: textsafe.Clean(s.Objective)}
		}
		r.Aborts, r.Waves = cleanAll(r.Aborts), cleanAll(r.Waves)
		c.Run = &r
	}
	if e.Plan != nil {
		p := *e.Plan
		p.Digest, p.NewInstances = textsafe.Clean(p.Digest), textsafe.Clean(p.NewInstances)
		p.Targets = cleanAll(p.Targets)
		p.Excluded = make([]Exclusion, len(e.Plan.Excluded))
		for i, x := range e.Plan.Excluded {
			p.Excluded[i] = Exclusion{VM: textsafe.Clean(x.VM), Reason: textsafe.Clean(x.Reason)}
		}
		p.Waves = make([]PlanWave, len(e.Plan.Waves))
		for i, w := range e.Plan.Waves {
			w.Name, w.What = textsafe.Clean(w.Name), textsafe.Clean(w.What)
			p.Waves[i] = w
		}
		c.Plan = &p
	}
	if e.Fault != nil {
		f := *e.Fault
		f.Type = textsafe.Clean(f.Type)
		f.Zones, f.Pools = cleanAll(f.Zones), cleanAll(f.Pools)
		c.Fault = &f
	}
	return &c, true
}

func (e *Event) safe() bool {
	for _, s := range []string{e.Wave, e.VM, e.Pool, e.Zone, e.Job, e.Cause, e.Reason, e.Code, e.Policy,
		e.Replaces, e.Priority, e.Status, e.TraceID, e.SpanID} {
		if !textsafe.Safe(s) {
			return false
		}
	}
	if r := e.Run; r != nil {
		if !allSafe(r.Tool, r.Scenario, r.File, r.ScenarioSHA256, r.Provider, r.Start) || !allSafe(r.Aborts...) || !allSafe(r.Waves...) {
			return false
		}
		for _, p := range r.Pools {
			if !allSafe(p.Name, p.Priority, p.SKU, p.EvictionPolicy, p.FallbackFor) || !allSafe(p.Zones...) {
				return false
			}
		}
		for _, s := range r.SLOs {
			if !allSafe(s.Name, s.Objective) {
				return false
			}
		}
	}
	if p := e.Plan; p != nil {
		if !allSafe(p.Digest, p.NewInstances) || !allSafe(p.Targets...) {
			return false
		}
		for _, x := range p.Excluded {
			if !allSafe(x.VM, x.Reason) {
				return false
			}
		}
		for _, w := range p.Waves {
			if !allSafe(w.Name, w.What) {
				return false
			}
		}
	}
	if f := e.Fault; f != nil && (!allSafe(f.Type) || !allSafe(f.Zones...) || !allSafe(f.Pools...)) {
		return false
	}
	return true
}

func allSafe(ss ...string) bool {
	for _, s := range ss {
		if !textsafe.Safe(s) {
			return false
		}
	}
	return true
}

func cleanAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = textsafe.Clean(s)
	}
	return out
}
