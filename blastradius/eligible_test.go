package blastradius

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
)

// TestExemptionIsAHardRule: the tag exempts in any key case with any value
// but "false", on the VM or on its scale set, and no scenario exclusion can
// undo it.
func TestExemptionIsAHardRule(t *testing.T) {
	tests := []struct {
		name     string
		tags     map[string]string
		poolTags map[string]string
		exclude  Exclude
		limit    string
	}{
		{"lower key, true", map[string]string{"chaos-exempt": "true"}, nil, Exclude{}, LimitExempt},
		{"mixed-case key and value", map[string]string{"Chaos-Exempt": "True"}, nil, Exclude{}, LimitExempt},
		{"upper key", map[string]string{"CHAOS-EXEMPT": "yes"}, nil, Exclude{}, LimitExempt},
		{"empty value", map[string]string{"chaos-exempt": ""}, nil, Exclude{}, LimitExempt},
		{"any other value", map[string]string{"chaos-exempt": "0"}, nil, Exclude{}, LimitExempt},
		{"false is not exempt", map[string]string{"chaos-exempt": "false"}, nil, Exclude{}, ""},
		{"FALSE is not exempt", map[string]string{"Chaos-Exempt": " FALSE "}, nil, Exclude{}, ""},
		{"on the scale set", nil, map[string]string{"chaos-exempt": "true"}, Exclude{}, LimitExempt},
		{"the set's exemption wins over the instance's false", map[string]string{"chaos-exempt": "false"},
			map[string]string{"Chaos-Exempt": "true"}, Exclude{}, LimitExempt},
		{"a scenario cannot turn it off with its own tag", map[string]string{"chaos-exempt": "true"}, nil,
			Exclude{Tags: map[string]string{"chaos-exempt": "false"}}, LimitExempt},
		{"nor with another spelling", map[string]string{"Chaos-Exempt": "True"}, nil,
			Exclude{Tags: map[string]string{"Chaos-Exempt": "nope"}, Names: []string{"other"}}, LimitExempt},
		{"exclusions only add", map[string]string{"tier": "DB"}, nil, Exclude{Tags: map[string]string{"Tier": "db"}}, LimitExcluded},
		{"exclusion on the scale set's tags", nil, map[string]string{"team": "payments"},
			Exclude{Tags: map[string]string{"team": "payments"}}, LimitExcluded},
		{"untagged", nil, nil, Exclude{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NoLimits()
			l.Exclude = tc.exclude
			tg := injector.Target{ID: "/subscriptions/s/x", Name: "x", Pool: "set", Zone: "1", Priority: injector.PrioritySpot,
				State: injector.StateRunning, Tags: tc.tags, PoolTags: tc.poolTags}
			limit, why, out := Ineligible(&l, tg)
			require.Equal(t, tc.limit != "", out, why)
			require.Equal(t, tc.limit, limit)

			// The guard refuses it too, even inside the plan.
			sc := NewScope(true)
			sc.Freeze(tg)
			sc.FreezeWave("w", tg)
			g := New(l, sc, start)
			g.BeginWave("w", 0, []injector.Target{tg})
			r := g.Allow(tg, 0)
			if tc.limit == "" {
				require.Nil(t, r)
				return
			}
			require.NotNil(t, r)
			require.Equal(t, tc.limit, r.Limit)
		})
	}
}

// TestScopeIsByIdentity: a VM is in the plan by its resource ID (compared
// without case), per wave; a newcomer of a targeted pool is admitted only
// with the opt-in, only by name, and never changes the planned sizes.
func TestScopeIsByIdentity(t *testing.T) {
	a := injector.Target{ID: "/subscriptions/S/vm/A", Name: "a", Pool: "set", Zone: "1", Priority: injector.PrioritySpot, State: injector.StateRunning}
	b := a
	b.ID, b.Name = "/subscriptions/S/vm/B", "b"
	newcomer := a
	newcomer.ID, newcomer.Name = "/subscriptions/S/vm/NEW", "new"
	stranger := a
	stranger.ID, stranger.Pool = "/subscriptions/S/vm/OTHER", "other-set"

	for _, include := range []bool{false, true} {
		sc := NewScope(include)
		sc.Freeze(a)
		sc.Freeze(b)
		sc.FreezeWave("w1", a)

		upper := a
		upper.ID = "/SUBSCRIPTIONS/s/VM/a"
		require.False(t, sc.New(upper), "IDs compare without case: the same VM is no newcomer")
		require.True(t, sc.MayTouch("w1", a))
		require.False(t, sc.MayTouch("w1", b), "b is in the plan, not in wave w1")
		require.False(t, sc.MayTouch("w2", a))
		require.True(t, sc.New(newcomer))
		require.False(t, sc.New(stranger), "another pool's VM is no newcomer of the plan")
		require.False(t, sc.Admit("w1", stranger))
		require.Equal(t, include, sc.Admit("w1", newcomer))
		require.Equal(t, include, sc.MayTouch("w1", newcomer))
		require.False(t, sc.MayTouch("w2", newcomer), "admitted for one wave only")
		require.Equal(t, 2, sc.Total)
		require.Equal(t, 2, sc.PoolSize["set"])
	}
}
