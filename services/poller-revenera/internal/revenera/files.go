package revenera

import (
	"fmt"

	"github.com/auditstream/auditstream/shared/utcday"
)

// fileIndex is a listing arranged for the choice of the next file.
type fileIndex struct {
	// today is the open day: the newest open file's day, or the day after
	// the newest daily file when none is open, or clock's day.
	today utcday.Day
	// daily and monthly map a day (a month's first day) to its file.
	daily, monthly map[utcday.Day]File
	// byName finds every listed file but the open ones.
	byName map[string]File
	// oldestDaily is the oldest daily file's day; valid when daily is not
	// empty.
	oldestDaily utcday.Day
}

// indexListing arranges l; clockDay is the poller's idea of today, used
// when the listing names no open or daily file.
func indexListing(l Listing, clockDay utcday.Day) fileIndex {
	ix := fileIndex{daily: map[utcday.Day]File{}, monthly: map[utcday.Day]File{}, byName: map[string]File{}}
	today, known := utcday.Day(0), false
	for _, f := range l.Open {
		if !known || f.Day > today {
			today, known = f.Day, true
		}
	}
	for i, f := range l.Daily {
		ix.daily[f.Day] = f
		ix.byName[f.Name] = f
		if i == 0 || f.Day < ix.oldestDaily {
			ix.oldestDaily = f.Day
		}
		if !known && f.Day+1 > today {
			today = f.Day + 1
		}
	}
	if len(l.Open) == 0 && len(l.Daily) == 0 {
		today = clockDay
	}
	for _, f := range l.Monthly {
		ix.monthly[f.Day.Month()] = f
		ix.byName[f.Name] = f
	}
	ix.today = today
	return ix
}

// choice is what a file stream does next at a day.
type choice struct {
	// file is the file to read; zero when none.
	file File
	// wait: the day's data is not there yet; the stream waits the poll
	// interval. why says what is missing.
	wait bool
	why  string
	// gapTo, when after the day, is the first day that has data: the days
	// before it are in no file and are skipped.
	gapTo utcday.Day
}

// choose picks the file that holds day's rows (see the package
// documentation, "Daily and monthly files"):
//
//   - day at or after the open day: wait for it to close;
//   - a daily file of day: read it;
//   - a monthly file of day's month: read it from day to the month's end;
//   - a closed day older than the oldest daily file, of an ended month
//     without a monthly file, while newer daily files exist: the vendor
//     keeps it in no file (retention); skip to the next day that has a
//     file;
//   - any other closed day without a file: the vendor has not produced it
//     yet; wait.
func (ix fileIndex) choose(day utcday.Day) choice {
	if day >= ix.today {
		return choice{wait: true, why: "the day is not closed"}
	}
	if f, ok := ix.daily[day]; ok {
		return choice{file: f}
	}
	if f, ok := ix.monthly[day.Month()]; ok {
		return choice{file: f}
	}
	monthEnded := day.NextMonth() <= ix.today
	if monthEnded && len(ix.daily) > 0 && day < ix.oldestDaily {
		next := ix.oldestDaily
		for m := range ix.monthly {
			if m > day && m < next {
				next = m
			}
		}
		return choice{gapTo: next}
	}
	switch {
	case !monthEnded:
		return choice{wait: true, why: "the closed day has no daily file yet"}
	case len(ix.daily) == 0:
		return choice{wait: true, why: "the listing has no daily file"}
	default:
		return choice{wait: true, why: fmt.Sprintf("the closed day has no daily file, and its month (%s) no monthly file yet", day.MonthString())}
	}
}
