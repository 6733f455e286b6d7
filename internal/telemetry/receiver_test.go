package telemetry_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/spotdrill/spotdrill/internal/telemetry"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/pkg/spotwork"
	"github.com/spotdrill/spotdrill/reports"
)

// origin is the run's T=0 in the receiver tests.
var origin = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return origin.Add(time.Duration(s * float64(time.Second))) }

// fakeClock is a worker's clock that the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(s float64)  { c.mu.Lock(); c.t = at(s); c.mu.Unlock() }

// realRun is the journal side of a real game day: a bus with the
// correlator, a journal and the reports' accumulator.
type realRun struct {
	corr    *telemetry.Correlator
	acc     *reports.Accumulator
	bus     *journal.Bus
	mu      sync.Mutex
	journal []journal.Event
}

func newRealRun(t *testing.T) *realRun {
	r := &realRun{acc: reports.NewAccumulator()}
	r.corr = telemetry.NewCorrelator(telemetry.CorrelatorOptions{ExpectSignals: true, Grace: time.Minute})
	keep := journal.SinkFunc(func(e *journal.Event) { r.mu.Lock(); r.journal = append(r.journal, *e); r.mu.Unlock() })
	r.bus = journal.NewBus(r.corr, keep, r.acc)
	r.corr.SetSink(r.bus)
	r.bus.Emit(&journal.Event{Type: journal.RunStarted, Run: &journal.Run{
		SchemaVersion: journal.SchemaVersion, Scenario: "real", Provider: "azure", Start: origin.Format(time.RFC3339Nano), Duration: 3600,
	}})
	for _, vm := range []string{"vm-1", "vm-2"} {
		r.bus.Emit(&journal.Event{Type: journal.VMRunning, VM: vm, Pool: "spot", Priority: "Spot"})
	}
	return r
}

func (r *realRun) emit(e journal.Event) { r.bus.Emit(&e) }

func (r *realRun) events(typ journal.Type) []journal.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []journal.Event
	for _, e := range r.journal {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// workerOn is a worker on host that exports to url with the real OTLP/HTTP
// exporter.
func workerOn(t *testing.T, host, url string, enc otlptracehttp.Encoding, clock *fakeClock, token string) (*spotwork.Worker, *sdktrace.TracerProvider) {
	t.Helper()
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(url + telemetry.TracesPath), otlptracehttp.WithEncoding(enc)}
	if token != "" {
		opts = append(opts, otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	require.NoError(t, err)
	return workerWith(t, host, exp, clock)
}

// workerWith is a worker on host whose spans go through exp.
func workerWith(t *testing.T, host string, exp sdktrace.SpanExporter, clock *fakeClock) (*spotwork.Worker, *sdktrace.TracerProvider) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return spotwork.NewWorker(tp, spotwork.Options{Host: host, Now: clock.now}), tp
}

// transport serves a receiver one way and makes workers that export to it.
type transport struct {
	name   string
	worker func(t *testing.T, rcv *telemetry.Receiver, host string, clock *fakeClock, token string) (*spotwork.Worker, *sdktrace.TracerProvider)
}

// transports are the ways real workers send spans: OTLP/HTTP in protobuf
// and JSON, and OTLP/gRPC plain and gzipped, each with the OpenTelemetry
// Go SDK's own exporter.
func transports() []transport {
	overHTTP := func(enc otlptracehttp.Encoding) func(*testing.T, *telemetry.Receiver, string, *fakeClock, string) (*spotwork.Worker, *sdktrace.TracerProvider) {
		return func(t *testing.T, rcv *telemetry.Receiver, host string, clock *fakeClock, token string) (*spotwork.Worker, *sdktrace.TracerProvider) {
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			return workerOn(t, host, srv.URL, enc, clock, token)
		}
	}
	overGRPC := func(compress bool) func(*testing.T, *telemetry.Receiver, string, *fakeClock, string) (*spotwork.Worker, *sdktrace.TracerProvider) {
		return func(t *testing.T, rcv *telemetry.Receiver, host string, clock *fakeClock, token string) (*spotwork.Worker, *sdktrace.TracerProvider) {
			srv, err := rcv.ListenGRPC("127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = srv.Close(context.Background()) })
			opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(srv.Addr()), otlptracegrpc.WithInsecure()}
			if token != "" {
				opts = append(opts, otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + token}))
			}
			if compress {
				opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
			}
			exp, err := otlptracegrpc.New(context.Background(), opts...)
			require.NoError(t, err)
			return workerWith(t, host, exp, clock)
		}
	}
	return []transport{
		{"http/protobuf", overHTTP(otlptracehttp.EncodingProtobuf)},
		{"http/json", overHTTP(otlptracehttp.EncodingJSON)},
		{"grpc", overGRPC(false)},
		{"grpc/gzip", overGRPC(true)},
	}
}

func flush(t *testing.T, tp *sdktrace.TracerProvider) {
	t.Helper()
	require.NoError(t, tp.ForceFlush(context.Background()))
}

// TestReceiverCorrelatesRealWorkers sends a real worker's spans with the
// real OTLP exporters, over HTTP (protobuf and JSON) and gRPC (plain and
// gzip), over loopback: the worker on
// vm-1 checkpoints, sees the notice and dies with its VM without ending its
// span; a worker on vm-2 resumes the job. The correlator settles the dead
// attempt from its markers and writes the journal events from which the
// reports compute TTR and lost work.
func TestReceiverCorrelatesRealWorkers(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			run := newRealRun(t)
			rcv := telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{Token: "s3cret"})

			clock := &fakeClock{}
			w1, tp1 := tr.worker(t, rcv, "vm-1", clock, "s3cret")
			w2, tp2 := tr.worker(t, rcv, "vm-2", clock, "s3cret")

			clock.set(10)
			_, a1 := w1.Start(context.Background(), "job-7", 1, spotwork.Storage(spotwork.StorageDurable))
			clock.set(70)
			a1.Checkpoint(60 * time.Second)
			run.emit(journal.Event{T: 95, Type: journal.EvictionRequested, VM: "vm-1", Pool: "spot", Zone: "1", Wave: "w1", Cause: journal.CauseInjected})
			run.emit(journal.Event{T: 100, Type: journal.EvictionNoticed, VM: "vm-1", At: journal.Ptr(130)})
			clock.set(101)
			w1.RecordNotice(context.Background(), spotwork.Notice{EventID: "E1", Type: "Preempt", NotBefore: at(130)})
			flush(t, tp1)
			// vm-1 dies: its attempt span never ends, never leaves.
			run.emit(journal.Event{T: 130, Type: journal.EvictionEvicted, VM: "vm-1", Pool: "spot", Zone: "1", Policy: "Delete"})

			clock.set(200)
			_, a2 := w2.Start(context.Background(), "job-7", 2, spotwork.Resumes(a1.SpanContext()), spotwork.FromCheckpoint(60*time.Second, at(70)))
			flush(t, tp2)
			clock.set(400)
			a2.Complete()
			flush(t, tp2)
			run.corr.Flush()

			in := run.events(journal.JobInterrupted)
			require.Len(t, in, 1)
			require.Equal(t, "job-7", in[0].Job)
			require.Equal(t, "vm-1", in[0].VM)
			require.Equal(t, 130.0, in[0].T)
			require.Equal(t, 60.0, in[0].Lost, "evicted at 130, last checkpoint at 70")
			require.Equal(t, a1.SpanContext().SpanID().String(), in[0].SpanID)
			require.Len(t, run.events(journal.JobResumed), 1)
			require.Equal(t, 200.0, run.events(journal.JobResumed)[0].T)
			require.Len(t, run.events(journal.JobCompleted), 1)

			run.emit(journal.Event{T: 3600, Type: journal.RunEnded, Status: journal.StatusCompleted})
			rep := run.acc.Report()
			require.Equal(t, []float64{70}, rep.TTRs, "evicted at 130, resumed at 200")
			require.Equal(t, 60.0, rep.Interruptions.LostWork)
			require.Empty(t, rep.Unrecovered)

			res := run.corr.Result()
			require.Len(t, res.Evictions, 1)
			ev := res.Evictions[0]
			require.Equal(t, 1, ev.Jobs)
			require.Equal(t, 101.0, *ev.WorkloadNoticed, "the workload saw the notice at 101")
			require.False(t, ev.Uncorrelated)
			require.Zero(t, res.Uncorrelated)
			require.Empty(t, res.Spans.UnknownHosts)
			st := rcv.Stats()
			require.NotZero(t, st.Workload)
			require.Zero(t, st.Unauthorized)
		})
	}
}

// TestReceiverReleasedAndUncorrelated: a worker that drains and hands its
// job back writes eviction.drained; an eviction of a VM that sent nothing
// is settled as uncorrelated once the grace has passed.
func TestReceiverReleasedAndUncorrelated(t *testing.T) {
	run := newRealRun(t)
	srv := httptest.NewServer(telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{}))
	defer srv.Close()
	clock := &fakeClock{}
	w1, tp1 := workerOn(t, "vm-1", srv.URL, otlptracehttp.EncodingProtobuf, clock, "")

	clock.set(5)
	_, a := w1.Start(context.Background(), "job-1", 1)
	clock.set(65)
	a.Checkpoint(time.Minute)
	run.emit(journal.Event{T: 100, Type: journal.EvictionNoticed, VM: "vm-1", Cause: journal.CauseNatural, At: journal.Ptr(130)})
	run.emit(journal.Event{T: 100, Type: journal.EvictionNoticed, VM: "vm-2", Cause: journal.CauseNatural, At: journal.Ptr(130)})
	clock.set(101)
	w1.RecordNotice(context.Background(), spotwork.Notice{EventID: "E1"})
	a.DrainStart()
	clock.set(111)
	a.DrainEnd()
	a.Release()
	flush(t, tp1)
	run.corr.Flush()
	require.Len(t, run.events(journal.EvictionDrained), 1)
	run.emit(journal.Event{T: 130, Type: journal.EvictionEvicted, VM: "vm-1", Policy: "Deallocate"})
	run.emit(journal.Event{T: 130, Type: journal.EvictionEvicted, VM: "vm-2", Policy: "Deallocate"})
	run.corr.Tick(130 + 59)
	run.corr.Flush()
	require.Empty(t, run.events(telemetry.EvictionUncorrelated), "not before the grace")
	run.corr.Tick(130 + 60)
	run.corr.Flush()
	un := run.events(telemetry.EvictionUncorrelated)
	require.Len(t, un, 1)
	require.Equal(t, "vm-2", un[0].VM)

	in := run.events(journal.JobInterrupted)
	require.Len(t, in, 1)
	require.True(t, in[0].Released)
	require.Equal(t, 101.0-65, in[0].Lost, "work stopped when the drain started")
	res := run.corr.Result()
	require.Equal(t, 1, res.Uncorrelated)
	require.Equal(t, 101.0, *res.Evictions[0].DrainStart)
	require.Equal(t, 111.0, *res.Evictions[0].DrainEnd)
}

// TestReceiverRefusesBadRequests: malformed, oversized, unauthenticated and
// unsupported requests get a 4xx and change nothing.
func TestReceiverRefusesBadRequests(t *testing.T) {
	run := newRealRun(t)
	rcv := telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{Token: "t0k", MaxBody: 4096})
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	good := requestBytes(t, attemptSpan("job-1", "vm-1", 1))
	big := requestBytes(t, attemptSpan(strings.Repeat("j", 5000), "vm-1", 1))
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(bytes.Repeat([]byte{0}, 1<<20)) // a small bomb: 1 MiB of zeros
	require.NoError(t, zw.Close())

	before := run.corr.Result()
	cases := []struct {
		name   string
		method string
		path   string
		ct     string
		enc    string
		token  string
		body   []byte
		status int
	}{
		{"no token", "POST", "/v1/traces", "application/x-protobuf", "", "", good, 401},
		{"wrong token", "POST", "/v1/traces", "application/x-protobuf", "", "t0K", good, 401},
		{"malformed protobuf", "POST", "/v1/traces", "application/x-protobuf", "", "t0k", []byte{0x0a, 0xff, 0x01}, 400},
		{"malformed json", "POST", "/v1/traces", "application/json", "", "t0k", []byte(`{"resourceSpans":[{`), 400},
		{"bad trace id", "POST", "/v1/traces", "application/json", "", "t0k",
			[]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"0102030405060708"}]}]}]}`), 400},
		{"oversized", "POST", "/v1/traces", "application/x-protobuf", "", "t0k", big, 413},
		{"gzip bomb", "POST", "/v1/traces", "application/x-protobuf", "gzip", "t0k", zipped.Bytes(), 413},
		{"bad gzip", "POST", "/v1/traces", "application/x-protobuf", "gzip", "t0k", good, 400},
		{"content type", "POST", "/v1/traces", "text/plain", "", "t0k", good, 415},
		{"encoding", "POST", "/v1/traces", "application/x-protobuf", "br", "t0k", good, 415},
		{"method", "GET", "/v1/traces", "application/x-protobuf", "", "t0k", nil, 405},
		{"path", "POST", "/v1/metrics", "application/x-protobuf", "", "t0k", good, 404},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, srv.URL+c.path, bytes.NewReader(c.body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", c.ct)
		if c.enc != "" {
			req.Header.Set("Content-Encoding", c.enc)
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, c.status, resp.StatusCode, c.name)
	}
	require.Equal(t, before, run.corr.Result(), "refused requests changed the correlator")
	st := rcv.Stats()
	require.Equal(t, int64(2), st.Unauthorized)
	require.Equal(t, int64(4), st.BadRequest)
	require.Equal(t, int64(2), st.TooLarge)
	require.Equal(t, int64(2), st.Unsupported)
	require.Zero(t, st.Spans)

	// The same span with the token goes through.
	req, _ := http.NewRequest("POST", srv.URL+"/v1/traces", bytes.NewReader(good))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Authorization", "Bearer t0k")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, 1, run.corr.Result().Spans.Attempts)
}

// TestReceiverReportsUnconventionalAndUnknown: spans without the
// conventions are counted and reported back to the client as rejected in a
// partial success; spans from hosts the run does not know are reported.
func TestReceiverReportsUnconventionalAndUnknown(t *testing.T) {
	run := newRealRun(t)
	srv := httptest.NewServer(telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{}))
	defer srv.Close()
	plain := attemptSpan("", "vm-1", 1)
	plain.Name = "GET /healthz"
	stranger := attemptSpan("job-9", "laptop-of-bob", 1)
	body := requestBytes(t, plain, stranger, attemptSpan("job-1", "vm-1", 1))
	resp, err := srv.Client().Post(srv.URL+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var out collectorpb.ExportTraceServiceResponse
	require.NoError(t, proto.Unmarshal(raw, &out))
	require.Equal(t, int64(1), out.GetPartialSuccess().GetRejectedSpans())
	require.Contains(t, out.GetPartialSuccess().GetErrorMessage(), "spotdrill.job.id")

	res := run.corr.Result()
	require.Equal(t, 1, res.Spans.Unconventional)
	require.Equal(t, 2, res.Spans.Attempts)
	require.Equal(t, []telemetry.HostCount{{Host: "laptop-of-bob", Spans: 1}}, res.Spans.UnknownHosts)
}

// attemptSpan is a completed attempt span in the generated OTLP types.
func attemptSpan(job, host string, attempt int64) *tracepb.Span {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	s := &tracepb.Span{
		TraceId: bytes.Repeat([]byte{1}, 16), SpanId: []byte{1, 2, 3, 4, 5, 6, 7, byte(attempt)},
		Name: spotwork.SpanAttempt, StartTimeUnixNano: uint64(at(10).UnixNano()), EndTimeUnixNano: uint64(at(20).UnixNano()),
		Attributes: []*commonpb.KeyValue{
			str(spotwork.AttrHostName, host), str(spotwork.AttrOutcome, "completed"),
			{Key: spotwork.AttrAttempt, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: attempt}}},
		},
	}
	if job != "" {
		s.Attributes = append(s.Attributes, str(spotwork.AttrJobID, job))
	}
	return s
}

func requestBytes(t testing.TB, spans ...*tracepb.Span) []byte {
	t.Helper()
	req := &collectorpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
	b, err := proto.Marshal(req)
	require.NoError(t, err)
	return b
}
