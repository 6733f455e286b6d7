package blastradius

import (
	"fmt"
	"slices"
	"time"

	"github.com/spotdrill/spotdrill/scenarios"
)

// Calendar says when evictions may happen: inside one of the windows (if any
// are set) and on no blackout date, on the run's clock in its time zone.
type Calendar struct {
	Location  *time.Location
	Windows   []Window
	Blackouts []Date
}

// Window is a weekly time range in the calendar's time zone. A window whose
// end is before its start runs over midnight into the next day.
type Window struct {
	Days     []time.Weekday
	From, To Clock
}

// Clock is a time of day in minutes since midnight; 24:00 is 1440.
type Clock = scenarios.Clock

// Date is a calendar day.
type Date = scenarios.Date

func (c *Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

func (c *Calendar) blackedOut(t time.Time) bool {
	lt := t.In(c.loc())
	return slices.Contains(c.Blackouts, Date{Year: lt.Year(), Month: lt.Month(), Day: lt.Day()})
}

// Allows says whether t is inside the calendar; when not, why.
func (c *Calendar) Allows(t time.Time) (string, bool) {
	lt := t.In(c.loc())
	if c.blackedOut(t) {
		return fmt.Sprintf("%s is a blackout date", lt.Format("Mon 2006-01-02")), false
	}
	if len(c.Windows) == 0 {
		return "", true
	}
	for _, w := range c.Windows {
		if w.contains(lt) {
			return "", true
		}
	}
	return fmt.Sprintf("%s %s is outside every allowed window", lt.Format("Mon 2006-01-02 15:04"), c.loc()), false
}

// contains works on the local wall clock, so a window "09:00-17:00" means
// those hours on the day of a DST change too (that day is shorter or
// longer, the window is not).
func (w Window) contains(lt time.Time) bool {
	now := Clock(lt.Hour()*60 + lt.Minute())
	today, yesterday := lt.Weekday(), (lt.Weekday()+6)%7
	if w.From <= w.To {
		return slices.Contains(w.Days, today) && now >= w.From && now < w.To
	}
	// Over midnight: the evening of a listed day, or the early hours after it.
	return (slices.Contains(w.Days, today) && now >= w.From) || (slices.Contains(w.Days, yesterday) && now < w.To)
}
