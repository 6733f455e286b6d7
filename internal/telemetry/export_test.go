package telemetry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

func TestOTLPFromEnvironment(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want OTLP
		err  string
	}{
		{"nothing set: off", nil, OTLP{}, ""},
		{"base endpoint gets the path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
			OTLP{Endpoint: "http://collector:4318/v1/traces", Protocol: ProtocolHTTPProtobuf}, ""},
		{"signal endpoint as is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/custom"},
			OTLP{Endpoint: "https://b/custom", Protocol: ProtocolHTTPProtobuf}, ""},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			OTLP{Endpoint: "http://collector:4317", Protocol: ProtocolGRPC}, ""},
		{"json, traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, OTLP{Endpoint: "http://c:4318/v1/traces", Protocol: ProtocolHTTPJSON}, ""},
		{"disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, OTLP{}, ""},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, OTLP{}, ""},
		{"exporter zipkin", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, OTLP{}, "otlp only"},
		{"bad protocol", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}, OTLP{}, "want http/protobuf"},
		{"no scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, OTLP{}, "want a URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := Export{Getenv: func(k string) string { return c.env[k] }}
			got, err := x.otlp()
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			exps, err := x.exporters(context.Background())
			require.NoError(t, err, "building the exporter dials nothing")
			require.Len(t, exps, map[bool]int{true: 1, false: 0}[got.Endpoint != ""])
			for _, e := range exps {
				require.NoError(t, e.Shutdown(context.Background()))
			}
		})
	}
	res, err := Export{Getenv: func(k string) string {
		return map[string]string{"OTEL_SERVICE_NAME": "gameday", "OTEL_RESOURCE_ATTRIBUTES": "team=sre,deployment.environment=stag%20ing"}[k]
	}, ServiceVersion: "1.2.3"}.resource()
	require.NoError(t, err)
	v, _ := res.Set().Value("service.name")
	require.Equal(t, "gameday", v.AsString())
	v, _ = res.Set().Value("deployment.environment")
	require.Equal(t, "stag ing", v.AsString())
}

// TestFileExporterWritesOTLPJSON checks the trace file against the
// reference: with the IDs turned from hex into base64 (the one place where
// OTLP/JSON differs from protobuf's JSON mapping), protojson reads each
// line strictly, unknown field names refused, and finds the spans.
func TestFileExporterWritesOTLPJSON(t *testing.T) {
	var buf bytes.Buffer
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(
		resource.NewSchemaless(attribute.String("service.name", "spotdrill"), attribute.String(spotwork.AttrHostName, "vm-\"1\"\n"))))
	tr := tp.Tracer("scope", trace.WithInstrumentationVersion("v1"))
	t0 := time.Unix(1_767_603_600, 123)
	ctx, parent := tr.Start(context.Background(), "parent", trace.WithTimestamp(t0))
	_, child := tr.Start(ctx, "job.attempt", trace.WithTimestamp(t0.Add(time.Second)), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String(spotwork.AttrJobID, "job-ü\x00"), attribute.Int(spotwork.AttrAttempt, 2),
			attribute.Float64("f", math.Inf(-1)), attribute.Bool("b", true), attribute.StringSlice("ss", []string{"a", "b"}),
			attribute.Int64Slice("is", []int64{1, 2}), attribute.Float64Slice("fs", []float64{0.5}), attribute.BoolSlice("bs", []bool{false})),
		trace.WithLinks(trace.Link{SpanContext: parent.SpanContext(), Attributes: []attribute.KeyValue{attribute.String(spotwork.AttrLink, spotwork.LinkPreviousAttempt)}}))
	child.AddEvent(spotwork.EventCheckpoint, trace.WithTimestamp(t0.Add(2*time.Second)),
		trace.WithAttributes(attribute.Float64(spotwork.AttrCheckpointProgress, 60)))
	child.SetStatus(codes.Error, "evicted")
	child.End(trace.WithTimestamp(t0.Add(3 * time.Second)))
	parent.End(trace.WithTimestamp(t0.Add(4 * time.Second)))

	e := NewFileExporter(&buf)
	require.NoError(t, e.ExportSpans(context.Background(), rec.Ended()))
	require.NoError(t, e.Shutdown(context.Background()))
	require.ErrorIs(t, e.ExportSpans(context.Background(), rec.Ended()), ErrExporterClosed)
	line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	require.NotContains(t, string(line), "\n", "one request per line")

	var generic any
	require.NoError(t, json.Unmarshal(line, &generic))
	hexToBase64(t, generic)
	rebased, err := json.Marshal(generic)
	require.NoError(t, err)
	var req collectorpb.ExportTraceServiceRequest
	require.NoError(t, protojson.UnmarshalOptions{}.Unmarshal(rebased, &req))
	spans := req.ResourceSpans[0].ScopeSpans[0].Spans
	require.Len(t, spans, 2)
	require.Equal(t, "scope", req.ResourceSpans[0].ScopeSpans[0].Scope.Name)
	require.Equal(t, "v1", req.ResourceSpans[0].ScopeSpans[0].Scope.Version)
	c := spans[0]
	require.Equal(t, "job.attempt", c.Name)
	require.Equal(t, tracepb.Span_SPAN_KIND_CONSUMER, c.Kind)
	require.Equal(t, uint64(t0.Add(time.Second).UnixNano()), c.StartTimeUnixNano)
	require.Equal(t, tracepb.Status_STATUS_CODE_ERROR, c.Status.Code)
	require.Equal(t, child.SpanContext().SpanID().String(), hex.EncodeToString(c.SpanId))
	require.Equal(t, parent.SpanContext().SpanID().String(), hex.EncodeToString(c.ParentSpanId))
	require.Len(t, c.Attributes, 8)
	require.Equal(t, "job-ü\x00", c.Attributes[0].Value.GetStringValue())
	require.True(t, math.IsInf(c.Attributes[2].Value.GetDoubleValue(), -1))
	require.Len(t, c.Links, 1)
	require.Len(t, c.Events, 1)

	// And the receiver's JSON decoder reads the same workload span.
	var st decodeState
	var got []signal
	_, err = decodeJSON(line, &st, func(s *signal) { got = append(got, *s) })
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "job-ü\x00", got[0].job)
	require.Equal(t, "vm-\"1\"\n", got[0].host)
	require.Equal(t, 2, got[0].attempt)
	require.Equal(t, t0.Add(2*time.Second).UnixNano(), got[0].lastCkpt)
	require.Equal(t, parent.SpanContext().SpanID(), got[0].prevSpan)
}

// hexToBase64 rewrites the ID fields of an OTLP/JSON document as protojson
// expects bytes.
func hexToBase64(t *testing.T, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") {
				b, err := hex.DecodeString(s)
				require.NoError(t, err)
				x[k] = base64.StdEncoding.EncodeToString(b)
				continue
			}
			hexToBase64(t, val)
		}
	case []any:
		for _, val := range x {
			hexToBase64(t, val)
		}
	}
}

// TestMalformedIsTheClientsFault: every decoding error wraps errMalformed,
// which the receiver answers with 400.
func TestMalformedIsTheClientsFault(t *testing.T) {
	var st decodeState
	for _, body := range [][]byte{{0x0a, 0x05, 0x12}, {0xff}, {0x0a, 0x02, 0x12, 0x80}} {
		_, err := decodeProto(body, &st, func(*signal) {})
		require.True(t, errors.Is(err, errMalformed), "%x: %v", body, err)
	}
}
