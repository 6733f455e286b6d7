package telemetry_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/spotdrill/spotdrill/internal/telemetry"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

// workerBatch is a batch of 512 spans as spotwork workers send them: for
// each attempt a start marker, three checkpoint markers and the attempt
// span with its three checkpoint events, from 8 hosts.
func workerBatch(tb testing.TB) []byte {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	num := func(k string, v int64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
	}
	dbl := func(k string, v float64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}}
	}
	base := uint64(at(60).UnixNano())
	req := &collectorpb.ExportTraceServiceRequest{}
	n := 0
	for h := 0; n < 512; h++ {
		host := fmt.Sprintf("vm-%02d", h)
		rs := &tracepb.ResourceSpans{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "worker"), str(spotwork.AttrHostName, host),
				str("telemetry.sdk.language", "go"), str("telemetry.sdk.name", "opentelemetry")}},
		}
		ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: spotwork.ScopeName}}
		for a := 0; a < 13 && n < 512; a++ {
			job := fmt.Sprintf("job-%d-%d", h, a)
			tid := bytes.Repeat([]byte{byte(h + 1), byte(a + 1)}, 8)
			sid := []byte{byte(h), byte(a), 1, 1, 1, 1, 1, 1}
			ids := []*commonpb.KeyValue{str(spotwork.AttrJobID, job), num(spotwork.AttrAttempt, 1), str(spotwork.AttrHostName, host)}
			mark := func(what string, t uint64, extra ...*commonpb.KeyValue) *tracepb.Span {
				attrs := append(append([]*commonpb.KeyValue{}, ids...), str(spotwork.AttrMark, what))
				return &tracepb.Span{TraceId: tid, SpanId: []byte{byte(h), byte(a), byte(n), 2, 2, 2, 2, 2}, ParentSpanId: sid,
					Name: spotwork.SpanMark, Kind: tracepb.Span_SPAN_KIND_INTERNAL, StartTimeUnixNano: t, EndTimeUnixNano: t,
					Attributes: append(attrs, extra...)}
			}
			add := func(s *tracepb.Span) {
				if n < 512 {
					ss.Spans = append(ss.Spans, s)
					n++
				}
			}
			add(mark(spotwork.MarkStart, base))
			var events []*tracepb.Span_Event
			for c := uint64(1); c <= 3; c++ {
				t := base + c*300e9
				add(mark(spotwork.EventCheckpoint, t, dbl(spotwork.AttrCheckpointProgress, float64(c*290))))
				events = append(events, &tracepb.Span_Event{TimeUnixNano: t, Name: spotwork.EventCheckpoint,
					Attributes: []*commonpb.KeyValue{dbl(spotwork.AttrCheckpointProgress, float64(c*290))}})
			}
			add(&tracepb.Span{TraceId: tid, SpanId: sid, Name: spotwork.SpanAttempt, Kind: tracepb.Span_SPAN_KIND_INTERNAL,
				StartTimeUnixNano: base, EndTimeUnixNano: base + 1000e9, Events: events,
				Attributes: append(append([]*commonpb.KeyValue{}, ids...), str(spotwork.AttrOutcome, "completed"),
					str(spotwork.AttrStorage, spotwork.StorageDurable)),
				Status: &tracepb.Status{}})
		}
		rs.ScopeSpans = []*tracepb.ScopeSpans{ss}
		req.ResourceSpans = append(req.ResourceSpans, rs)
	}
	b, err := proto.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkReceiver measures the receiver and the correlator together:
// HTTP handling, decoding and correlation of batches of 512 workload spans,
// on one core with -cpu 1.
func BenchmarkReceiver(b *testing.B) {
	body := workerBatch(b)
	corr := telemetry.NewCorrelator(telemetry.CorrelatorOptions{Origin: origin})
	corr.Emit(&journal.Event{Type: journal.RunStarted, Run: &journal.Run{Start: origin.Format(time.RFC3339)}})
	rcv := telemetry.NewReceiver(corr, telemetry.ReceiverOptions{})
	req := httptest.NewRequest(http.MethodPost, telemetry.TracesPath, nil)
	req.Header.Set("Content-Type", "application/x-protobuf")
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req.Body = nopCloser{bytes.NewReader(body)}
		req.ContentLength = int64(len(body))
		rcv.ServeHTTP(w, req)
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	b.ReportMetric(float64(512*b.N)/b.Elapsed().Seconds(), "spans/s")
	if got := corr.Result().Spans; got.Attempts == 0 || got.Marks == 0 {
		b.Fatalf("nothing correlated: %+v", got)
	}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }

// BenchmarkProtoUnmarshal is the generated code's decoding alone of the
// same batch, for comparison: the receiver's whole path is faster than it.
func BenchmarkProtoUnmarshal(b *testing.B) {
	body := workerBatch(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var req collectorpb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(512*b.N)/b.Elapsed().Seconds(), "spans/s")
}
