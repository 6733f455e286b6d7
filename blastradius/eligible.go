package blastradius

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spotdrill/spotdrill/injector"
)

// ExemptTag protects a VM, or every instance of a scale set, from every game
// day: the convention teams use to keep a machine out of chaos. Azure
// compares tag names case-insensitively, so the key matches in any case;
// any value but "false" (in any case) exempts, so that a typo or an empty
// value errs on the side of safety. No scenario field reaches this rule.
const ExemptTag = "chaos-exempt"

// Exempt says whether tags exempt their resource, and names the tag.
func Exempt(tags map[string]string) (string, bool) {
	var keys []string
	for k := range tags {
		if strings.EqualFold(k, ExemptTag) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys) // a deterministic reason when two spellings exist
	for _, k := range keys {
		if v := tags[k]; !strings.EqualFold(strings.TrimSpace(v), "false") {
			return fmt.Sprintf("tag %s=%q", k, v), true
		}
	}
	return "", false
}

// Ineligible is the one place that decides whether a target may ever be
// evicted in a run, before any count or share: the plan, `spotdrill
// targets`, each wave's pick and the guard all ask it. It returns the limit
// that keeps the target out and why.
func Ineligible(l *Limits, t injector.Target) (limit, why string, out bool) {
	if !t.Spot() {
		return LimitNotSpot, fmt.Sprintf("not Spot (priority %s)", t.Priority), true
	}
	if tag, ok := Exempt(t.Tags); ok {
		return LimitExempt, "exempt: " + tag, true
	}
	if tag, ok := Exempt(t.PoolTags); ok {
		return LimitExempt, fmt.Sprintf("exempt: its scale set %s carries %s", t.Pool, tag), true
	}
	for _, tags := range []map[string]string{t.Tags, t.PoolTags} {
		if k, holder, ok := lookupTag(tags, injector.LeaseTag); ok && strings.TrimSpace(holder) != "" && holder != l.RunID {
			return LimitLeased, fmt.Sprintf("leased by another game day (%s=%s)", k, holder), true
		}
	}
	if why, ok := l.Exclude.Match(t); ok {
		return LimitExcluded, why, true
	}
	return "", "", false
}

// Exclude keeps VMs out of every wave. It only adds to the hard rules: no
// exclusion can make an exempt VM eligible.
type Exclude struct {
	Tags  map[string]string
	Names []string
	Pools []string
}

// Match says whether the scenario's exclusions keep a target out, and why.
// Tag names match in any case, as Azure compares them; values match
// exactly, except in case, so that an exclusion errs on the side of safety.
func (ex Exclude) Match(t injector.Target) (string, bool) {
	keys := make([]string, 0, len(ex.Tags))
	for k := range ex.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, tags := range []map[string]string{t.Tags, t.PoolTags} {
			if tk, tv, ok := lookupTag(tags, k); ok && strings.EqualFold(tv, ex.Tags[k]) {
				return fmt.Sprintf("tag %s=%s", tk, tv), true
			}
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

// lookupTag finds a tag by name in any case.
func lookupTag(tags map[string]string, key string) (string, string, bool) {
	if v, ok := tags[key]; ok {
		return key, v, true
	}
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", "", false
}
