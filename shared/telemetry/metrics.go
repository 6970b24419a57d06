package telemetry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of the pipeline's instruments.
const meterName = "github.com/auditstream/auditstream/shared/telemetry"

// Metric attribute keys, so that every package labels the same way:
// telemetry.KeyStream.String("plm.system-logs/item").
const (
	// KeyStream is the stream a measurement belongs to (Source.Stream()).
	KeyStream = attribute.Key("stream")
	// KeyTopic is the Kafka topic records were produced to.
	KeyTopic = attribute.Key("topic")
	// KeyStage is the pipeline stage a retry happened in: StageFetch,
	// StageProduce or StageCheckpoint.
	KeyStage = attribute.Key("stage")
	// KeyErrorClass is the class of a stream's last error (ErrorClass).
	KeyErrorClass = attribute.Key("error_class")
)

// Values of KeyStage.
const (
	StageFetch      = "fetch"
	StageProduce    = "produce"
	StageCheckpoint = "checkpoint"
)

// durationBuckets are the histogram bounds, in seconds, of fetch and produce
// durations: from a fast local produce to a slow vendor report download. The
// SDK's default bounds suit milliseconds, not seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// PipelineMetrics holds the pipeline's instruments, named alike across every
// poller. The OpenTelemetry names, and the Prometheus names /metrics shows
// them as (the exporter adds the unit and, for counters, _total), are:
//
//	auditstream.records.fetched        auditstream_records_fetched_total         counter; stream
//	auditstream.records.produced       auditstream_records_produced_total        counter; stream, topic
//	auditstream.records.dead_lettered  auditstream_records_dead_lettered_total   counter; stream, topic
//	auditstream.pages.produced         auditstream_pages_produced_total          counter; stream
//	auditstream.retries                auditstream_retries_total                 counter; stream, stage
//	auditstream.fetch.duration         auditstream_fetch_duration_seconds        histogram (_bucket, _sum, _count); stream
//	auditstream.produce.duration       auditstream_produce_duration_seconds      histogram (_bucket, _sum, _count); stream
//	auditstream.cursor.lag             auditstream_cursor_lag_seconds            gauge; stream
//	auditstream.stream.up              auditstream_stream_up                     gauge; stream, error_class
//
// Attributes use KeyStream, KeyTopic and KeyStage. testdata/metric_names.golden
// holds the rendered names and is checked by the tests.
type PipelineMetrics struct {
	// RecordsFetched counts records fetched from the vendor.
	RecordsFetched metric.Int64Counter
	// RecordsProduced counts records acknowledged by Kafka.
	RecordsProduced metric.Int64Counter
	// RecordsDeadLettered counts records sent to the dead-letter topic.
	RecordsDeadLettered metric.Int64Counter
	// PagesProduced counts pages whose records were all acknowledged.
	PagesProduced metric.Int64Counter
	// Retries counts retried attempts, by stage.
	Retries metric.Int64Counter
	// FetchDuration records how long one page fetch took, in seconds.
	FetchDuration metric.Float64Histogram
	// ProduceDuration records how long producing one page took, in seconds.
	ProduceDuration metric.Float64Histogram

	now       func() time.Time
	mu        sync.Mutex
	positions map[string]time.Time
	up        map[string]string // stream → error class, "" when up
}

// NewPipelineMetrics creates the pipeline's instruments from the global meter
// provider; call it once per process, after [Setup]. The cursor lag gauge
// ("auditstream.cursor.lag") reports, at each collection, now minus the
// position last given to SetPosition, per stream.
func NewPipelineMetrics() (*PipelineMetrics, error) {
	meter := otel.Meter(meterName)
	m := &PipelineMetrics{now: time.Now, positions: make(map[string]time.Time), up: make(map[string]string)}
	var err error
	counters := []struct {
		dst               *metric.Int64Counter
		name, unit, descr string
	}{
		{&m.RecordsFetched, "auditstream.records.fetched", "{record}", "Records fetched from the vendor."},
		{&m.RecordsProduced, "auditstream.records.produced", "{record}", "Records acknowledged by Kafka."},
		{&m.RecordsDeadLettered, "auditstream.records.dead_lettered", "{record}", "Records sent to the dead-letter topic."},
		{&m.PagesProduced, "auditstream.pages.produced", "{page}", "Pages whose records were all acknowledged by Kafka."},
		{&m.Retries, "auditstream.retries", "{retry}", "Retried attempts, by pipeline stage."},
	}
	for _, c := range counters {
		if *c.dst, err = meter.Int64Counter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.descr)); err != nil {
			return nil, fmt.Errorf("create counter %s: %w", c.name, err)
		}
	}
	histograms := []struct {
		dst         *metric.Float64Histogram
		name, descr string
	}{
		{&m.FetchDuration, "auditstream.fetch.duration", "Duration of one page fetch from the vendor."},
		{&m.ProduceDuration, "auditstream.produce.duration", "Duration of producing one page to Kafka."},
	}
	for _, h := range histograms {
		if *h.dst, err = meter.Float64Histogram(h.name, metric.WithUnit("s"), metric.WithDescription(h.descr),
			metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
			return nil, fmt.Errorf("create histogram %s: %w", h.name, err)
		}
	}
	_, err = meter.Float64ObservableGauge("auditstream.cursor.lag",
		metric.WithUnit("s"),
		metric.WithDescription("How far each stream's cursor is behind now."),
		metric.WithFloat64Callback(m.observeLag))
	if err != nil {
		return nil, fmt.Errorf("create gauge auditstream.cursor.lag: %w", err)
	}
	_, err = meter.Int64ObservableGauge("auditstream.stream.up",
		metric.WithDescription("1 while a stream's last fetch succeeded, 0 after it failed or the vendor refused the stream; error_class says why (none, unauthorized, refused, rate_limited, vendor_error, timeout, network, other)."),
		metric.WithInt64Callback(m.observeUp))
	if err != nil {
		return nil, fmt.Errorf("create gauge auditstream.stream.up: %w", err)
	}
	return m, nil
}

// SetStreamUp records the outcome of stream's latest fetch: nil for up,
// else the error, whose class labels the gauge.
func (m *PipelineMetrics) SetStreamUp(stream string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.up[stream] = ErrorClass(err)
}

func (m *PipelineMetrics) observeUp(_ context.Context, o metric.Int64Observer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for stream, class := range m.up {
		v := int64(0)
		if class == ClassNone {
			v = 1
		}
		o.Observe(v, metric.WithAttributes(KeyStream.String(stream), KeyErrorClass.String(class)))
	}
	return nil
}

// SetPosition records that stream's cursor stands at position (the time of
// the newest record the stream has checkpointed). The lag gauge reports now
// minus position, so it keeps growing while a stream is stuck.
func (m *PipelineMetrics) SetPosition(stream string, position time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.positions[stream] = position
}

// observeLag reports the lag of every stream with a position.
func (m *PipelineMetrics) observeLag(_ context.Context, o metric.Float64Observer) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for stream, pos := range m.positions {
		o.Observe(now.Sub(pos).Seconds(), metric.WithAttributes(KeyStream.String(stream)))
	}
	return nil
}
