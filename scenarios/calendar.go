package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is a time of day in minutes since midnight; 24:00 is 1440.
type Clock int

// ParseClock reads "HH:MM", from 00:00 to 24:00.
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("invalid time of day %q (expected HH:MM from 00:00 to 24:00)", s)
	}
	return Clock(hh*60 + mm), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Date is a calendar day.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q (expected YYYY-MM-DD)", s)
	}
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseDays reads day names ("Mon", "monday") and ranges ("Mon-Fri").
func ParseDays(items []string) ([]time.Weekday, error) {
	var out []time.Weekday
	day := func(s string) (time.Weekday, error) {
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) >= 3 {
			if d, ok := dayNames[s[:3]]; ok {
				return d, nil
			}
		}
		return 0, fmt.Errorf("invalid day %q (expected Mon, Tue, Wed, Thu, Fri, Sat, Sun or a range like Mon-Fri)", s)
	}
	for _, it := range items {
		a, b, isRange := strings.Cut(it, "-")
		from, err := day(a)
		if err != nil {
			return nil, err
		}
		if !isRange {
			out = append(out, from)
			continue
		}
		to, err := day(b)
		if err != nil {
			return nil, err
		}
		for d := from; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == to {
				break
			}
		}
	}
	return out, nil
}
