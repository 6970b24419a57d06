package revenera

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/shared/event"
	"github.com/auditstream/auditstream/shared/pipeline"
	"github.com/auditstream/auditstream/shared/utcday"
)

// Vendor and ProductName label every Revenera event.
const (
	Vendor      = "revenera"
	ProductName = "usage-intelligence"
)

// The metrics of the streams.
const (
	// MetricCustomEvent is one row of a custom events file: one event a
	// client reported.
	MetricCustomEvent = "custom_event"
	// MetricException is one row of an exceptions file.
	MetricException = "exception"
	// MetricEventCount is a tracked event's daily usage count.
	MetricEventCount = "event.count"
	// MetricClientsPrefix prefixes the client-activity metrics:
	// clients.new, clients.active, clients.lost.
	MetricClientsPrefix = "clients."
)

// The dimensions the poller adds to the vendor's columns.
const (
	DimProductID = "product_id"
	DimCategory  = "category"
	DimName      = "name"
	DimEnabled   = "enabled"
	DimStatus    = "status"
)

// CSVTimeLayout is the form of the files' time columns, UTC.
const CSVTimeLayout = "2006-01-02 15:04:05"

// StreamName returns the name of a product's stream, e.g.
// "revenera/2876543210/custom-events".
func StreamName(product, stream string) string {
	return Vendor + "/" + product + "/" + stream
}

// FileRow is one data row of a raw data file, as a file Source emits it.
type FileRow struct {
	// File is the file name, Line the row's first line in its CSV.
	File string
	Line int
	// Header and Fields are the CSV header and the row's fields.
	Header, Fields []string
	// Time is the row's time, zero when its time column is missing or
	// malformed; TimeText is the column's text.
	Time     time.Time
	TimeText string
	// Occurrence is k for the k-th exact repeat of the row's content on
	// its day (0 for the first).
	Occurrence int
	// Err is set when the row is malformed (its field count differs from
	// the header's).
	Err error
}

// ParseCSVTime reads a file's time column: "2026-12-03 14:05:09" in UTC;
// RFC 3339 and "2026-12-03T14:05:09" are accepted too.
func ParseCSVTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{CSVTimeLayout, "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// FileIdentity returns the natural identity of a file row: the hash of
// its canonical JSON object (raw, keyed by header names), and "#k" for the
// k-th exact repeat on its day. Daily and monthly files hold one day's
// rows alike, so a row keeps its identity whichever file it is read from.
func FileIdentity(raw []byte, occurrence int) (string, error) {
	id, err := event.ContentIdentity(raw)
	if err != nil {
		return "", err
	}
	if occurrence > 0 {
		id += "#" + strconv.Itoa(occurrence)
	}
	return id, nil
}

// NewFileNormalizer returns the normalizer of kind's file stream of
// product: each row becomes one event of metric kind.Metric and value 1
// at the row's time, the client as user, every column in dimensions.
func NewFileNormalizer(tenant, product string, kind Kind) pipeline.Normalizer {
	stream := StreamName(product, kind.Stream)
	return func(rec pipeline.Record, observed time.Time) (event.Event, error) {
		r, ok := rec.Value.(*FileRow)
		if !ok {
			return nil, fmt.Errorf("revenera %s: record is %T, not a file row", kind.Stream, rec.Value)
		}
		if r.Err != nil {
			return nil, fmt.Errorf("file %s line %d: malformed row: %w", r.File, r.Line, r.Err)
		}
		if r.Time.IsZero() {
			return nil, fmt.Errorf("file %s line %d: time %q is not a UTC time like 2026-12-03 14:05:09", r.File, r.Line, r.TimeText)
		}
		identity, err := FileIdentity(rec.Raw, r.Occurrence)
		if err != nil {
			return nil, fmt.Errorf("file %s line %d: %w", r.File, r.Line, err)
		}
		dims := make(map[string]string, len(r.Fields)+1)
		var user string
		for i, f := range r.Fields {
			name := fmt.Sprintf("column %d", i+1)
			if i < len(r.Header) && r.Header[i] != "" {
				name = r.Header[i]
			}
			dims[name] = f
			if strings.EqualFold(name, "Client ID") {
				user = f
			}
		}
		dims[DimProductID] = product
		t := r.Time
		one := 1.0
		return &event.UsageEvent{
			EventID:      event.ID(Vendor, tenant, stream, identity),
			Vendor:       Vendor,
			Product:      ProductName,
			Stream:       stream,
			TenantID:     tenant,
			EventTime:    t,
			RawTime:      event.Ptr(r.TimeText),
			ObservedTime: observed.UTC(),
			PeriodStart:  &t,
			PeriodEnd:    &t,
			Metric:       kind.Metric,
			Value:        &one,
			Unit:         event.Ptr("count"),
			User:         event.Ptr(user),
			Service:      event.Ptr(product),
			Dimensions:   dims,
			Raw:          event.Ptr(string(rec.Raw)),
		}, nil
	}
}

// ReportValue is one value of a daily report: a tracked event's count on
// a day (event-usage) or a number of clients of a status (client-activity).
type ReportValue struct {
	// Day is the UTC day the value counts; DateText the date as sent.
	Day      utcday.Day
	DateText string
	// Metric is event.count or clients.<status>.
	Metric string
	Value  float64
	// Category, Name and Enabled are the tracked event's (event-usage).
	Category, Name string
	Enabled        *bool
	// Status is new, active or lost (client-activity).
	Status string
}

// reportRaw is the raw form of a report value: what the vendor said about
// one (day, metric).
type reportRaw struct {
	Date     string   `json:"date"`
	Category string   `json:"category,omitempty"`
	Name     string   `json:"name,omitempty"`
	Enabled  *bool    `json:"enabled,omitempty"`
	Status   string   `json:"status,omitempty"`
	Value    *float64 `json:"value"`
}

// Record returns v as a pipeline record; its Raw is v's JSON.
func (v *ReportValue) Record() pipeline.Record {
	val := v.Value
	raw, _ := json.Marshal(reportRaw{Date: v.DateText, Category: v.Category, Name: v.Name, Enabled: v.Enabled, Status: v.Status, Value: &val})
	return pipeline.Record{Raw: raw, Value: v}
}

// ReportIdentity returns the natural identity of a report value: product,
// stream, day, metric and the event or status. A value read again (a
// replay, a reset) keeps its event id, even when the vendor's number
// changed.
func ReportIdentity(product, stream string, v *ReportValue) string {
	b, _ := json.Marshal([]string{product, stream, v.Day.String(), v.Metric, v.Category, v.Name, v.Status})
	return string(b)
}

// NewReportNormalizer returns the normalizer of a report stream of
// product: each value becomes one event over its UTC day.
func NewReportNormalizer(tenant, product, streamKind string) pipeline.Normalizer {
	stream := StreamName(product, streamKind)
	return func(rec pipeline.Record, observed time.Time) (event.Event, error) {
		v, ok := rec.Value.(*ReportValue)
		if !ok {
			return nil, fmt.Errorf("revenera %s: record is %T, not a report value", streamKind, rec.Value)
		}
		if v.Metric == "" {
			return nil, errors.New("report value without a metric")
		}
		start, end := v.Day.Start(), v.Day.End()
		dims := map[string]string{DimProductID: product}
		if v.Category != "" || v.Name != "" {
			dims[DimCategory], dims[DimName] = v.Category, v.Name
		}
		if v.Enabled != nil {
			dims[DimEnabled] = strconv.FormatBool(*v.Enabled)
		}
		if v.Status != "" {
			dims[DimStatus] = v.Status
		}
		unit := "count"
		if v.Status != "" {
			unit = "clients"
		}
		val := v.Value
		return &event.UsageEvent{
			EventID:      event.ID(Vendor, tenant, stream, ReportIdentity(product, streamKind, v)),
			Vendor:       Vendor,
			Product:      ProductName,
			Stream:       stream,
			TenantID:     tenant,
			EventTime:    start,
			RawTime:      event.Ptr(v.DateText),
			ObservedTime: observed.UTC(),
			PeriodStart:  &start,
			PeriodEnd:    &end,
			Metric:       v.Metric,
			Value:        &val,
			Unit:         &unit,
			Service:      event.Ptr(product),
			Dimensions:   dims,
			Raw:          event.Ptr(string(rec.Raw)),
		}, nil
	}
}
