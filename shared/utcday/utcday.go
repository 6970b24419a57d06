// Package utcday is the calendar of vendors whose APIs take whole UTC days
// (Oracle's report since/until, Revenera's daily files and report dates):
// a Day type that is an integer, so that ranges, retention limits and
// closed days are arithmetic, not time zone handling.
package utcday

import (
	"fmt"
	"time"
)

// Layout is the API form of a day, YYYY-MM-DD.
const Layout = "2006-01-02"

// Day is a UTC calendar day: the number of days since 1970-01-01. Days
// compare and subtract as integers. Its JSON and text form is YYYY-MM-DD.
type Day int

// Of returns the UTC day t falls in.
func Of(t time.Time) Day {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return Day(d)
}

// Date returns the day of year, month and day of month.
func Date(year int, month time.Month, day int) Day {
	return Of(time.Date(year, month, day, 0, 0, 0, 0, time.UTC))
}

// Parse reads YYYY-MM-DD; it also accepts a timestamp that starts with one
// (2026-11-01T00:00:00Z), as report APIs write dates either way.
func Parse(s string) (Day, error) {
	if len(s) > len(Layout) && s[len(Layout)] == 'T' {
		s = s[:len(Layout)]
	}
	t, err := time.Parse(Layout, s)
	if err != nil {
		return 0, fmt.Errorf("day %q: want YYYY-MM-DD", s)
	}
	return Of(t), nil
}

// Start returns the day's first instant, 00:00 UTC.
func (d Day) Start() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// End returns the next day's first instant: a day is [Start, End).
func (d Day) End() time.Time { return d.Add(1).Start() }

// Add returns the day n days after d (before it when n < 0).
func (d Day) Add(n int) Day { return d + Day(n) }

// String returns YYYY-MM-DD.
func (d Day) String() string { return d.Start().Format(Layout) }

// Month returns the first day of d's month.
func (d Day) Month() Day {
	t := d.Start()
	return Date(t.Year(), t.Month(), 1)
}

// NextMonth returns the first day of the month after d's.
func (d Day) NextMonth() Day {
	t := d.Start()
	return Date(t.Year(), t.Month()+1, 1)
}

// MonthString returns d's month as YYYY-MM.
func (d Day) MonthString() string { return d.Start().Format("2006-01") }

// ParseMonth reads YYYY-MM and returns the month's first day.
func ParseMonth(s string) (Day, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return 0, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	return Of(t), nil
}

// MarshalText writes YYYY-MM-DD.
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Day) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// LastClosed returns the newest day that is closed at now: a day is closed
// once now − lag is at or past its end, so records the vendor indexes up
// to lag late are in it.
func LastClosed(now time.Time, lag time.Duration) Day {
	return Of(now.Add(-lag)) - 1
}

// Oldest returns the oldest day a vendor that keeps retention days answers
// for at now: today − retention, inclusive.
func Oldest(now time.Time, retention int) Day {
	return Of(now) - Day(retention)
}

// Range is the days From to To, both included, as the APIs take them.
type Range struct {
	From, To Day
}

// Days returns the number of days in r; 0 when To is before From.
func (r Range) Days() int { return max(0, int(r.To-r.From)+1) }

// String returns "FROM..TO".
func (r Range) String() string { return r.From.String() + ".." + r.To.String() }

// Split cuts r into consecutive ranges of at most n days, oldest first.
func (r Range) Split(n int) []Range {
	if n < 1 {
		n = 1
	}
	var out []Range
	for from := r.From; from <= r.To; from += Day(n) {
		out = append(out, Range{From: from, To: min(from+Day(n-1), r.To)})
	}
	return out
}
