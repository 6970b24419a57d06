package utcday

import (
	"encoding/json"
	"testing"
	"time"
)

func TestOfAndStart(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "1970-01-01"},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), "1969-12-31"},
		{time.Date(2026, 12, 4, 23, 59, 59, 999, time.UTC), "2026-12-04"},
		{time.Date(2026, 12, 5, 0, 30, 0, 0, time.FixedZone("CET", 3600)), "2026-12-04"},
		{time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), "2024-02-29"},
	}
	for _, tt := range tests {
		d := Of(tt.in)
		if d.String() != tt.want {
			t.Errorf("Of(%v) = %s, want %s", tt.in, d, tt.want)
		}
		if !d.Start().After(tt.in) && !tt.in.Before(d.End()) || tt.in.Before(d.Start()) || !tt.in.Before(d.End()) {
			t.Errorf("%v not in [%v, %v)", tt.in, d.Start(), d.End())
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"2026-11-01": "2026-11-01", "2026-11-01T00:00:00Z": "2026-11-01", "2026-11-01T00:00:00.000+0000": "2026-11-01"} {
		d, err := Parse(in)
		if err != nil || d.String() != want {
			t.Errorf("Parse(%q) = %s, %v", in, d, err)
		}
	}
	for _, in := range []string{"", "2026-13-01", "01/11/2026", "2026-11"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestClosedAndOldest(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 1, 0, 0, time.UTC)
	if got := LastClosed(now, 2*time.Minute); got.String() != "2026-12-02" {
		t.Errorf("LastClosed 2m after midnight with a 2m lag = %s, want 2026-12-02", got)
	}
	if got := LastClosed(now, 0); got.String() != "2026-12-03" {
		t.Errorf("LastClosed with no lag = %s, want 2026-12-03", got)
	}
	if got := Oldest(now, 120); got.String() != "2026-08-06" {
		t.Errorf("Oldest(120) = %s, want 2026-08-06", got)
	}
}

func TestMonths(t *testing.T) {
	d := Date(2026, 12, 31)
	if d.Month().String() != "2026-12-01" || d.NextMonth().String() != "2027-01-01" || d.MonthString() != "2026-12" {
		t.Errorf("months of %s: %s %s %s", d, d.Month(), d.NextMonth(), d.MonthString())
	}
	m, err := ParseMonth("2024-02")
	if err != nil || m.NextMonth()-m != 29 {
		t.Errorf("February 2024 has %d days (%v)", m.NextMonth()-m, err)
	}
}

func TestSplit(t *testing.T) {
	r := Range{Date(2026, 1, 1), Date(2026, 3, 1)}
	parts := r.Split(31)
	if len(parts) != 2 || parts[0].String() != "2026-01-01..2026-01-31" || parts[1].String() != "2026-02-01..2026-03-01" {
		t.Errorf("Split = %v", parts)
	}
	total := 0
	for i, p := range parts {
		total += p.Days()
		if i > 0 && p.From != parts[i-1].To+1 {
			t.Errorf("gap before %v", p)
		}
	}
	if total != r.Days() {
		t.Errorf("parts hold %d days, the range %d", total, r.Days())
	}
	if got := (Range{Date(2026, 1, 2), Date(2026, 1, 1)}).Split(5); len(got) != 0 {
		t.Errorf("empty range split into %v", got)
	}
}

func TestJSON(t *testing.T) {
	var v struct {
		Day Day `json:"day"`
	}
	if err := json.Unmarshal([]byte(`{"day":"2026-12-03"}`), &v); err != nil || v.Day != Date(2026, 12, 3) {
		t.Fatalf("unmarshal = %v, %v", v.Day, err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"day":"2026-12-03"}` {
		t.Errorf("marshal = %s", b)
	}
}
