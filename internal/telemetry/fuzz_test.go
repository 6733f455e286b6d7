package telemetry

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

var update = flag.Bool("update", false, "rewrite the seed corpus under testdata/fuzz")

// FuzzDecodeProto checks the hand-written decoder against proto.Unmarshal:
// whatever the generated code accepts, the decoder reads the same spans
// from (or refuses it for an ID of the wrong size); and it never panics.
func FuzzDecodeProto(f *testing.F) {
	for _, seed := range protoSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var st decodeState
		var got []signal
		bs, err := decodeProto(body, &st, func(s *signal) { got = append(got, *s) })
		var req collectorpb.ExportTraceServiceRequest
		if perr := proto.Unmarshal(body, &req); perr != nil {
			return // the decoder may be more lenient; it must only not panic
		}
		want, wantIgnored, badID := reference(&req)
		if badID {
			require.Error(t, err, "an ID of the wrong size must be refused")
			require.True(t, errors.Is(err, errMalformed))
			return
		}
		require.NoError(t, err)
		require.Equal(t, wantIgnored, bs.ignored)
		require.Equal(t, len(want)+wantIgnored, bs.spans)
		require.Equal(t, want, got)
	})
}

// FuzzDecodeJSON checks that the JSON decoder never panics and refuses
// only with errMalformed.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"vm-1"}}]},` +
		`"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",` +
		`"name":"job.attempt","startTimeUnixNano":"1000","endTimeUnixNano":2000,"attributes":[` +
		`{"key":"spotdrill.job.id","value":{"stringValue":"job-1"}},{"key":"spotdrill.job.attempt","value":{"intValue":"2"}}],` +
		`"events":[{"timeUnixNano":"1500","name":"checkpoint","attributes":[{"key":"spotdrill.checkpoint.progress","value":{"doubleValue":"NaN"}}]}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var st decodeState
		_, err := decodeJSON(body, &st, func(*signal) {})
		if err != nil {
			require.True(t, errors.Is(err, errMalformed), "%v", err)
		}
	})
}

// reference reads the spans of a request decoded by the generated code,
// with the same semantics as the decoder.
func reference(req *collectorpb.ExportTraceServiceRequest) (sigs []signal, ignored int, badID bool) {
	idOK := func(b []byte, n int) bool { return len(b) == 0 || len(b) == n }
	for _, rs := range req.ResourceSpans {
		var res signal
		for _, kv := range rs.GetResource().GetAttributes() {
			if k := keyOf(kv.Key); k == keyHost || k == keyResourceID {
				res.attr(k, protoValue(kv.Value), nil)
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				if !idOK(sp.TraceId, 16) || !idOK(sp.SpanId, 8) || !idOK(sp.ParentSpanId, 8) {
					return nil, 0, true
				}
				for _, l := range sp.Links {
					if !idOK(l.TraceId, 16) || !idOK(l.SpanId, 8) {
						return nil, 0, true
					}
				}
				var s signal
				s.host, s.resource = res.host, res.resource
				copy(s.trace[:], sp.TraceId)
				copy(s.span[:], sp.SpanId)
				for _, kv := range sp.Attributes {
					if k := keyOf(kv.Key); k != keyNone {
						s.attr(k, protoValue(kv.Value), nil)
					}
				}
				s.start, s.end = clampNano(sp.StartTimeUnixNano), clampNano(sp.EndTimeUnixNano)
				for _, e := range sp.Events {
					p, has := 0.0, false
					for _, kv := range e.Attributes {
						if keyOf(kv.Key) == keyCkptProgress {
							p, has = protoValue(kv.Value).float(), true
						}
					}
					s.event(e.Name, clampNano(e.TimeUnixNano), p, has)
				}
				prevSet := false
				for _, l := range sp.Links {
					previous := false
					for _, kv := range l.Attributes {
						if keyOf(kv.Key) == keyLink {
							previous = protoValue(kv.Value).str() == spotwork.LinkPreviousAttempt
						}
					}
					if previous || !prevSet {
						copy(s.prevTrace[:], l.TraceId)
						copy(s.prevSpan[:], l.SpanId)
						if len(l.TraceId) == 0 {
							s.prevTrace = [16]byte{}
						}
						if len(l.SpanId) == 0 {
							s.prevSpan = [8]byte{}
						}
						prevSet = previous
					}
				}
				isMark := sp.Name == spotwork.SpanMark
				if isMark || s.mark != "" {
					s.span = [8]byte{}
					copy(s.span[:], sp.ParentSpanId)
				}
				if !s.finish(isMark) {
					ignored++
					continue
				}
				sigs = append(sigs, s)
			}
		}
	}
	return sigs, ignored, false
}

func protoValue(v *commonpb.AnyValue) attrValue {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return attrValue{s: x.StringValue}
	case *commonpb.AnyValue_IntValue:
		return attrValue{i: x.IntValue, isInt: true}
	case *commonpb.AnyValue_BoolValue:
		if x.BoolValue {
			return attrValue{i: 1, isInt: true}
		}
		return attrValue{isInt: true}
	case *commonpb.AnyValue_DoubleValue:
		return attrValue{f: x.DoubleValue, isF: true}
	}
	return attrValue{}
}

// protoSeeds are requests in the shapes workers send: attempt spans with
// events and links, markers, a resource with the host, spans that follow
// no convention.
func protoSeeds() [][]byte {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	num := func(k string, v int64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
	}
	dbl := func(k string, v float64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}}
	}
	tid := bytes.Repeat([]byte{7}, 16)
	attempt := &tracepb.Span{
		TraceId: tid, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: spotwork.SpanAttempt,
		StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_600_000_000_000,
		Attributes: []*commonpb.KeyValue{str(spotwork.AttrJobID, "job-1"), num(spotwork.AttrAttempt, 2),
			str(spotwork.AttrOutcome, "released"), dbl(spotwork.AttrProgress, 120), str(spotwork.AttrStorage, "local")},
		Events: []*tracepb.Span_Event{
			{TimeUnixNano: 1_700_000_300_000_000_000, Name: spotwork.EventCheckpoint, Attributes: []*commonpb.KeyValue{dbl(spotwork.AttrCheckpointProgress, 420)}},
			{TimeUnixNano: 1_700_000_500_000_000_000, Name: spotwork.EventPreemptNotice},
			{TimeUnixNano: 1_700_000_501_000_000_000, Name: spotwork.EventDrainStart},
			{TimeUnixNano: 1_700_000_590_000_000_000, Name: spotwork.EventDrainEnd},
		},
		Links: []*tracepb.Span_Link{{TraceId: tid, SpanId: []byte{9, 9, 9, 9, 9, 9, 9, 9},
			Attributes: []*commonpb.KeyValue{str(spotwork.AttrLink, spotwork.LinkPreviousAttempt)}}},
		Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "evicted"},
	}
	mark := &tracepb.Span{
		TraceId: tid, SpanId: []byte{2, 2, 2, 2, 2, 2, 2, 2}, ParentSpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8},
		Name: spotwork.SpanMark, StartTimeUnixNano: 1_700_000_300_000_000_000, EndTimeUnixNano: 1_700_000_300_000_000_000,
		Attributes: []*commonpb.KeyValue{str(spotwork.AttrJobID, "job-1"), num(spotwork.AttrAttempt, 2),
			str(spotwork.AttrMark, spotwork.EventCheckpoint), dbl(spotwork.AttrCheckpointProgress, 420)},
	}
	other := &tracepb.Span{TraceId: tid, SpanId: []byte{3, 3, 3, 3, 3, 3, 3, 3}, Name: "GET /",
		Attributes: []*commonpb.KeyValue{str("http.method", "GET")}}
	res := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "worker"),
		str(spotwork.AttrResourceID, "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm-7")}}
	var out [][]byte
	for _, req := range []*collectorpb.ExportTraceServiceRequest{
		{},
		{ResourceSpans: []*tracepb.ResourceSpans{{Resource: res, ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{attempt, mark, other}}}}}},
		{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{mark}}}}}},
	} {
		b, err := proto.Marshal(req)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// TestFuzzCorpus keeps the seed corpus under testdata, where the fuzzer and
// plain go test both read it; -update rewrites it.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeProto")
	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for i, seed := range protoSeeds() {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed)
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644))
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries, "run go test -run TestFuzzCorpus -update")
}
