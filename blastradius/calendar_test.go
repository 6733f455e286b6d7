package blastradius

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/scenarios"
)

func cal(t *testing.T, tz string, days []string, from, to string, blackouts ...string) Calendar {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	require.NoError(t, err)
	d, err := scenarios.ParseDays(days)
	require.NoError(t, err)
	f, err := scenarios.ParseClock(from)
	require.NoError(t, err)
	to2, err := scenarios.ParseClock(to)
	require.NoError(t, err)
	c := Calendar{Location: loc, Windows: []Window{{Days: d, From: f, To: to2}}}
	for _, b := range blackouts {
		date, err := scenarios.ParseDate(b)
		require.NoError(t, err)
		c.Blackouts = append(c.Blackouts, date)
	}
	return c
}

func TestCalendarWindows(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	office := cal(t, "Europe/Berlin", []string{"Mon-Fri"}, "09:00", "17:00", "2026-12-24")
	night := cal(t, "UTC", []string{"Fri"}, "22:00", "02:00")
	tests := []struct {
		name string
		c    Calendar
		at   string
		ok   bool
	}{
		{"inside office hours (Berlin is UTC+1 in winter)", office, "2026-01-05T08:00:00Z", true},
		{"before office hours", office, "2026-01-05T07:59:00Z", false},
		{"end is exclusive", office, "2026-01-05T16:00:00Z", false},
		{"weekend", office, "2026-01-10T10:00:00Z", false},
		{"blackout date", office, "2026-12-24T10:00:00Z", false},
		// The last Sunday of March: Berlin jumps from 02:00 to 03:00. On the
		// Monday after, 09:00 local is 07:00 UTC.
		{"after spring DST: 09:00 local is 07:00 UTC", office, "2026-03-30T07:00:00Z", true},
		{"after spring DST: 06:59 UTC is 08:59 local", office, "2026-03-30T06:59:00Z", false},
		{"after autumn DST: 08:00 UTC is 09:00 local", office, "2026-10-26T08:00:00Z", true},
		{"after autumn DST: 07:30 UTC is 08:30 local", office, "2026-10-26T07:30:00Z", false},
		{"over midnight: Friday evening", night, "2026-01-09T23:30:00Z", true},
		{"over midnight: Saturday early hours", night, "2026-01-10T01:59:00Z", true},
		{"over midnight: ends at 02:00", night, "2026-01-10T02:00:00Z", false},
		{"over midnight: Thursday night is not Friday's", night, "2026-01-09T01:00:00Z", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			why, ok := tc.c.Allows(utc(tc.at))
			require.Equal(t, tc.ok, ok, why)
			if !ok {
				require.NotEmpty(t, why)
			}
		})
	}
}

func TestCalendarWithoutWindowsAllowsAnyTime(t *testing.T) {
	var c Calendar
	_, ok := c.Allows(time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC))
	require.True(t, ok)
}

func TestBlackoutRefusal(t *testing.T) {
	l := NoLimits()
	l.Calendar = cal(t, "UTC", []string{"Mon-Sun"}, "00:00", "24:00", "2026-01-05")
	f := fleet()
	g := New(l, scopeOf(f), start)
	g.BeginWave("w", 0, f)
	r := g.Allow(f[0], 0)
	require.Equal(t, LimitBlackout, r.Limit)
	require.Equal(t, "Mon 2026-01-05 is a blackout date", r.Reason)
	require.Nil(t, g.Allow(f[0], 24*time.Hour))
}
