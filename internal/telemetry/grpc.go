package telemetry

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP exporters may compress with gzip
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// GRPCService is the OTLP/gRPC trace service (the service definition of
// go.opentelemetry.io/proto/otlp) over the same Receiver as OTLP/HTTP: the
// same limits, the same bearer token, the same partial successes. Many
// exporters send OTLP over gRPC to port 4317 by default.
type GRPCService struct {
	collectortrace.UnimplementedTraceServiceServer
	r *Receiver
}

// GRPC returns the receiver's OTLP/gRPC trace service.
func (r *Receiver) GRPC() *GRPCService { return &GRPCService{r: r} }

var _ collectortrace.TraceServiceServer = (*GRPCService)(nil)

// Export implements the OTLP TraceService. The request arrives decoded by
// gRPC (within the size limit, gzip undone); its spans go through the same
// reading of conventions as an OTLP/HTTP body. Errors follow OTLP/gRPC:
// UNAUTHENTICATED, INVALID_ARGUMENT (not retryable), RESOURCE_EXHAUSTED
// with RetryInfo when the receiver is busy (retryable after the delay), and
// without it for a batch over the span limit (not retryable).
func (g *GRPCService) Export(ctx context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r := g.r
	r.stats.requests.Add(1)
	if r.token != nil {
		md, _ := metadata.FromIncomingContext(ctx)
		var got []byte
		if v := md.Get("authorization"); len(v) == 1 {
			got = []byte(v[0])
		}
		if subtle.ConstantTimeCompare(got, r.token) != 1 {
			r.stats.unauthorized.Add(1)
			return nil, status.Error(codes.Unauthenticated, "missing or wrong bearer token (authorization: Bearer TOKEN)")
		}
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	default:
		return nil, g.busy("too many requests at once")
	}
	b := r.pool.Get().(*batch)
	defer r.pool.Put(b)
	size := int64(proto.Size(req))
	if size > r.max {
		r.stats.tooLarge.Add(1)
		return nil, status.Errorf(codes.ResourceExhausted, "request of %d bytes is over the limit of %d", size, r.max)
	}
	held := size
	defer func() { r.inFlight.Add(-held) }()
	if r.inFlight.Add(held) > r.maxInFlight {
		return nil, g.busy("too many bytes in flight")
	}
	// The spans are read by the same decoder as OTLP/HTTP bodies, so that
	// both transports agree on every convention and limit.
	body, err := proto.MarshalOptions{}.MarshalAppend(b.body[:0], req)
	if err != nil {
		r.stats.badRequest.Add(1)
		return nil, status.Errorf(codes.InvalidArgument, "encode request: %v", err)
	}
	if cap(body) <= 4<<20 {
		b.body = body
	}
	ignored, st, err := r.accept(b, body, false)
	if err != nil {
		code := codes.InvalidArgument
		if st == http.StatusRequestEntityTooLarge {
			code = codes.ResourceExhausted
		}
		return nil, status.Error(code, err.Error())
	}
	resp := &collectortrace.ExportTraceServiceResponse{}
	if ignored > 0 {
		resp.PartialSuccess = &collectortrace.ExportTracePartialSuccess{RejectedSpans: int64(ignored), ErrorMessage: partialMessage(ignored)}
	}
	return resp, nil
}

// busy is RESOURCE_EXHAUSTED with a RetryInfo of one second: OTLP/gRPC
// exporters retry after it.
func (g *GRPCService) busy(why string) error {
	g.r.stats.busy.Add(1)
	st := status.New(codes.ResourceExhausted, why+": retry later")
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}); err == nil {
		st = d
	}
	return st.Err()
}

// GRPCServer serves the receiver over OTLP/gRPC.
type GRPCServer struct {
	srv  *grpc.Server
	ln   net.Listener
	done chan error
}

// ListenGRPC serves r's OTLP/gRPC trace service on addr (check it with
// ListenAddr first).
func (r *Receiver) ListenGRPC(addr string) (*GRPCServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("otlp grpc receiver: %w", err)
	}
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(r.max)),
		grpc.MaxConcurrentStreams(uint32(cap(r.slots))*4),
		grpc.ConnectionTimeout(10*time.Second),
		grpc.MaxHeaderListSize(64<<10),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 2 * time.Minute}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	collectortrace.RegisterTraceServiceServer(srv, r.GRPC())
	s := &GRPCServer{srv: srv, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *GRPCServer) Addr() string { return s.ln.Addr().String() }

// Close stops accepting calls and waits for those in flight, until ctx
// ends; then it stops them.
func (s *GRPCServer) Close(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.srv.Stop()
		<-stopped
	}
	if err := <-s.done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("otlp grpc receiver: %w", err)
	}
	return nil
}
