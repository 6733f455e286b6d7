package telemetry_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/spotdrill/spotdrill/internal/browsertest"
	"github.com/spotdrill/spotdrill/internal/telemetry"
)

func grpcClient(t *testing.T, addr string) collectorpb.TraceServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return collectorpb.NewTraceServiceClient(conn)
}

func exportReq(spans ...*tracepb.Span) *collectorpb.ExportTraceServiceRequest {
	return &collectorpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
}

// TestGRPCAnswersAsOTLPAsks: the gRPC receiver's answers follow OTLP/gRPC,
// with the HTTP receiver's limits: a partial success for spans without the
// conventions, UNAUTHENTICATED without the token, INVALID_ARGUMENT for a
// malformed span, RESOURCE_EXHAUSTED for a batch over the limits (with
// RetryInfo only when a retry can succeed), and nothing changes on a refusal.
func TestGRPCAnswersAsOTLPAsks(t *testing.T) {
	run := newRealRun(t)
	rcv := telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{Token: "t0k", MaxBody: 4096, MaxSpans: 3, MaxConcurrent: 1})
	srv, err := rcv.ListenGRPC("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close(context.Background())
	c := grpcClient(t, srv.Addr())
	auth := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer t0k")

	resp, err := c.Export(auth, exportReq(attemptSpan("job-1", "vm-1", 1), attemptSpan("", "vm-1", 2)))
	require.NoError(t, err)
	require.NotNil(t, resp.PartialSuccess)
	assert.Equal(t, int64(1), resp.PartialSuccess.RejectedSpans)
	assert.Contains(t, resp.PartialSuccess.ErrorMessage, "spotdrill.job.id")

	before := rcv.Stats()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		req   *collectorpb.ExportTraceServiceRequest
		code  codes.Code
		retry bool
	}{
		{"no token", context.Background(), exportReq(attemptSpan("job-1", "vm-1", 1)), codes.Unauthenticated, false},
		{"wrong token", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer t0K"), exportReq(attemptSpan("job-1", "vm-1", 1)), codes.Unauthenticated, false},
		{"bad trace id", auth, exportReq(&tracepb.Span{TraceId: []byte{1, 2}, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}}), codes.InvalidArgument, false},
		{"too many spans", auth, exportReq(attemptSpan("a", "vm-1", 1), attemptSpan("b", "vm-1", 2), attemptSpan("c", "vm-1", 3), attemptSpan("d", "vm-1", 4)), codes.ResourceExhausted, false},
		{"too large", auth, exportReq(attemptSpan(strings.Repeat("j", 5000), "vm-1", 1)), codes.ResourceExhausted, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Export(tc.ctx, tc.req)
			st := status.Convert(err)
			assert.Equal(t, tc.code, st.Code(), st.Message())
			retry := false
			for _, d := range st.Details() {
				if _, ok := d.(*errdetails.RetryInfo); ok {
					retry = true
				}
			}
			assert.Equal(t, tc.retry, retry)
		})
	}
	after := rcv.Stats()
	assert.Equal(t, before.Spans, after.Spans, "a refused request changes nothing")
	assert.Equal(t, int64(2), after.Unauthorized)
}

// TestGRPCBusyAsksToRetry: past the concurrency limit the receiver answers
// RESOURCE_EXHAUSTED with a RetryInfo, which OTLP exporters honour.
func TestGRPCBusyAsksToRetry(t *testing.T) {
	run := newRealRun(t)
	rcv := telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{MaxInFlight: 1})
	srv, err := rcv.ListenGRPC("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close(context.Background())
	_, err = grpcClient(t, srv.Addr()).Export(context.Background(), exportReq(attemptSpan("job-1", "vm-1", 1)))
	st := status.Convert(err)
	require.Equal(t, codes.ResourceExhausted, st.Code())
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	require.NotNil(t, retry, "busy is retryable")
	assert.Equal(t, time.Second, retry.RetryDelay.AsDuration())
}

// TestGRPCFromAStandardLoadGenerator: the OpenTelemetry Collector's
// telemetrygen sends traces over OTLP/gRPC, as a load test would; the
// receiver takes every span and reports them as without the conventions.
// make tools installs telemetrygen in bin/ (CI does); elsewhere the test
// is skipped without it.
func TestGRPCFromAStandardLoadGenerator(t *testing.T) {
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", "telemetrygen"))
	require.NoError(t, err)
	if _, err := os.Stat(bin); err != nil {
		bin = browsertest.RequireTool(t, "telemetrygen", "make tools")
	}
	run := newRealRun(t)
	rcv := telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{Token: "t0k"})
	srv, err := rcv.ListenGRPC("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "traces", "--otlp-endpoint", srv.Addr(), "--otlp-insecure",
		"--otlp-header", `authorization="Bearer t0k"`, "--traces", "50", "--workers", "2", "--rate", "0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	st := rcv.Stats()
	// telemetrygen sends a parent and a child span per trace.
	assert.Equal(t, int64(200), st.Spans, "%s", out)
	assert.Equal(t, int64(200), st.Unconventional)
	assert.Zero(t, st.Unauthorized+st.BadRequest+st.TooLarge+st.Busy)
}
