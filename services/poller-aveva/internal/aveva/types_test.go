package aveva

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/shared/event"
)

func TestTimeParser(t *testing.T) {
	at := time.Date(2024, 3, 4, 15, 45, 30, 0, time.UTC)
	ms := time.Date(2024, 3, 4, 15, 45, 30, 123e6, time.UTC)
	tests := []struct {
		locale, in string
		want       time.Time
		err        bool
	}{
		{"", "2024-03-04T15:45:30", at, false},
		{"", "2024-03-04T15:45:30.123", ms, false},
		{"", "2024-03-04T15:45:30.1239999", ms, false},
		{"", "2024-03-04T15:45:30Z", at, false},
		{"", "2024-03-04T15:45:30.123Z", ms, false},
		{"", "2024-03-04T21:15:30+05:30", at, false},
		{"", "2024-03-04T15:45:30+00:00", at, false},
		{"", "2024-03-04 15:45:30", at, false},
		{"", "2024-03-04T15:45", at.Add(-30 * time.Second), false},
		{"", "2024-03-04", time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC), false},
		{"", " 2024-03-04T15:45:30 ", at, false},
		{"", "/Date(1709567130123)/", ms, false},
		{"", "/Date(1709567130123+0530)/", ms, false},
		{"", "/Date(-1000)/", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{"", "3/4/2024 3:45:30 PM", time.Time{}, true},
		{"", "", time.Time{}, true},
		{"", "yesterday", time.Time{}, true},
		{"", "0000-01-01T00:00:00Z", time.Time{}, true},
		{"en-US", "3/4/2024 3:45:30 PM", at, false},
		{"en-US", "12/31/2024 11:59:59 PM", time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{"en-US", "3/4/2024 12:05:00 AM", time.Date(2024, 3, 4, 0, 5, 0, 0, time.UTC), false},
		{"en-US", "2024-03-04T15:45:30", at, false},
		{"de-DE", "04.03.2024 15:45:30", at, false},
		{"de-DE", "4.3.2024 15:45:30", at, false},
		{"de-DE", "3/4/2024 3:45:30 PM", time.Time{}, true},
		{"ja-JP", "2024/03/04 15:45:30", at, false},
		{"en-GB", "04/03/2024 15:45:30", at, false},
		{"fr-FR", "04/03/2024 15:45:30", at, false},
		{"en-IN", "04/03/2024 3:45:30 PM", at, false},
		{"en-GB", "13/03/2024 15:45:30", time.Date(2024, 3, 13, 15, 45, 30, 0, time.UTC), false},
	}
	for _, tt := range tests {
		got, err := NewTimeParser(tt.locale).Parse(tt.in)
		if (err != nil) != tt.err || !got.Equal(tt.want) || (err == nil && got.Location() != time.UTC) {
			t.Errorf("Parse(%q) in %q = %v, %v; want %v (error %v)", tt.in, tt.locale, got, err, tt.want, tt.err)
		}
	}
}

func TestTimeParserNumbers(t *testing.T) {
	p := NewTimeParser("")
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"1709567130", time.Date(2024, 3, 4, 15, 45, 30, 0, time.UTC), false},
		{"1709567130123", time.Date(2024, 3, 4, 15, 45, 30, 123e6, time.UTC), false},
		{"1709567130.5", time.Time{}, true},
		{"1e400", time.Time{}, true},
		{"123456789012345678901234567890", time.Time{}, true},
		{"100000000000000", time.Time{}, true},
		{"99999999999999", time.Date(5138, 11, 16, 9, 46, 39, 999e6, time.UTC), false},
		{"true", time.Time{}, true},
		{`{"t":1}`, time.Time{}, true},
		{`"2024-03-04T15:45:30"`, time.Date(2024, 3, 4, 15, 45, 30, 0, time.UTC), false},
	}
	for _, tt := range tests {
		got, err := p.parseValue(json.RawMessage(tt.in))
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("parseValue(%s) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestDecodeEntry(t *testing.T) {
	w := Window{From: time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC), To: time.Date(2024, 3, 4, 11, 0, 0, 0, time.UTC)}
	p := NewTimeParser("")
	tests := []struct {
		name      string
		raw       string
		timeField string
		time      time.Time
		idField   string
		identity  string // "hash" for the content hash, "hash@" with the window
		err       bool
	}{
		{"id and time", `{"transactionId":"CT-1","transactionDate":"2024-03-04T10:15:30.123","credits":1}`,
			"transactionDate", time.Date(2024, 3, 4, 10, 15, 30, 123e6, time.UTC), "transactionId", "id:CT-1", false},
		{"numeric id", `{"Id":42,"timestamp":"2024-03-04T10:15:30Z"}`,
			"timestamp", time.Date(2024, 3, 4, 10, 15, 30, 0, time.UTC), "Id", "id:42", false},
		{"empty id ignored", `{"id":"","timestamp":"2024-03-04T10:15:30Z"}`,
			"timestamp", time.Date(2024, 3, 4, 10, 15, 30, 0, time.UTC), "", "hash", false},
		{"object id ignored", `{"id":{"v":1},"usageDate":"2024-03-04T10:15:30Z"}`,
			"usageDate", time.Date(2024, 3, 4, 10, 15, 30, 0, time.UTC), "", "hash", false},
		{"case-insensitive time", `{"USAGEDATE":"2024-03-04T10:15:30Z"}`,
			"USAGEDATE", time.Date(2024, 3, 4, 10, 15, 30, 0, time.UTC), "", "hash", false},
		{"first listed time wins", `{"date":"2024-03-05","timestamp":"2024-03-04T10:15:30Z"}`,
			"timestamp", time.Date(2024, 3, 4, 10, 15, 30, 0, time.UTC), "", "hash", false},
		{"null time skipped", `{"timestamp":null,"date":"2024-03-05"}`,
			"date", time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), "", "hash", false},
		{"epoch millis", `{"loginTime":1709547330000}`,
			"loginTime", time.Date(2024, 3, 4, 10, 15, 30, 0, time.UTC), "", "hash", false},
		{"no time", `{"folder":"Folder 1","quantity":3}`, "", time.Time{}, "", "hash@", false},
		{"bad time", `{"timestamp":"soon"}`, "timestamp", time.Time{}, "", "hash@", false},
		{"not an object", `[1,2]`, "", time.Time{}, "", "hash", true},
		{"string record", `"x"`, "", time.Time{}, "", "hash", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DecodeEntry(json.RawMessage(tt.raw), ReportServiceUsage, w, p)
			if (e.Err != nil) != tt.err {
				t.Fatalf("Err = %v, want error %v", e.Err, tt.err)
			}
			if e.TimeField != tt.timeField || !e.Time.Equal(tt.time) || e.IDField != tt.idField {
				t.Errorf("time %q %v id %q; want %q %v %q", e.TimeField, e.Time, e.IDField, tt.timeField, tt.time, tt.idField)
			}
			hash, err := event.ContentIdentity([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.identity
			switch tt.identity {
			case "hash":
				want = hash
			case "hash@":
				want = hash + "@2024-03-04T10:00:00Z"
			}
			if e.Identity != want {
				t.Errorf("identity %q, want %q", e.Identity, want)
			}
			if string(e.Raw) != tt.raw {
				t.Errorf("raw %q", e.Raw)
			}
		})
	}
}

func TestDecodeEntryRawTime(t *testing.T) {
	e := DecodeEntry(json.RawMessage(`{"timestamp":{"v":"x"}}`), ReportAudit, Window{}, NewTimeParser(""))
	if e.RawTime != `{"v":"x"}` || e.TimeErr == nil || !strings.Contains(e.TimeErr.Error(), "not a string or number") {
		t.Fatalf("raw time %q, err %v", e.RawTime, e.TimeErr)
	}
}
