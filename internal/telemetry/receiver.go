package telemetry

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// TracesPath is where OTLP/HTTP clients send spans.
const TracesPath = "/v1/traces"

// Defaults of the receiver's limits. OTLP exporters send batches of 512
// spans, a few hundred kilobytes, from a handful of connections; the limits
// are far above that and keep a flood (or a gzip bomb) to a bounded memory.
const (
	// DefaultMaxBody bounds a request body, after decompression.
	DefaultMaxBody = 16 << 20
	// DefaultMaxConcurrent bounds requests being read and decoded at once;
	// more get 429 with Retry-After.
	DefaultMaxConcurrent = 16
	// DefaultMaxInFlight bounds the bytes of bodies held at once, after
	// decompression, across requests; a request that would pass it gets 429.
	DefaultMaxInFlight = 32 << 20
	// DefaultMaxSpans bounds the spans of one request; more get 413.
	DefaultMaxSpans = 100_000
)

// ReceiverOptions configure a Receiver.
type ReceiverOptions struct {
	// MaxBody bounds a request body after decompression; DefaultMaxBody
	// if zero. Larger requests get 413 and change nothing.
	MaxBody int64
	// Token, when set, is the bearer token every request must carry
	// (Authorization: Bearer TOKEN); others get 401.
	Token string
	// MaxConcurrent, MaxInFlight and MaxSpans: the defaults if zero.
	MaxConcurrent int
	MaxInFlight   int64
	MaxSpans      int
}

// Receiver is an OTLP/HTTP trace receiver (POST /v1/traces, protobuf or
// JSON, gzip or not) that feeds workload spans to a correlator. A request is
// decoded whole before the correlator sees any of it, so a malformed,
// oversized or unauthenticated request changes nothing.
type Receiver struct {
	corr     *Correlator
	max      int64
	maxSpans int
	token    []byte
	pool     sync.Pool // *batch
	stats    receiverCounters
	// slots holds a token per request being served; inFlight counts the
	// body bytes held, against maxInFlight.
	slots       chan struct{}
	inFlight    atomic.Int64
	maxInFlight int64
}

type receiverCounters struct {
	requests, spans, workload, unconventional       atomic.Int64
	badRequest, unauthorized, tooLarge, unsupported atomic.Int64
	busy                                            atomic.Int64
}

// ReceiverStats counts what the receiver took and refused.
type ReceiverStats struct {
	Requests int64 `json:"requests"`
	// Spans were decoded from accepted requests; Workload of them follow
	// the conventions, Unconventional do not (they are reported back to
	// the client as rejected in the partial success).
	Spans          int64 `json:"spans"`
	Workload       int64 `json:"workload"`
	Unconventional int64 `json:"unconventional"`
	// Refused requests, by status: 400, 401, 413, 415, 429.
	BadRequest   int64 `json:"badRequest,omitempty"`
	Unauthorized int64 `json:"unauthorized,omitempty"`
	TooLarge     int64 `json:"tooLarge,omitempty"`
	Unsupported  int64 `json:"unsupported,omitempty"`
	Busy         int64 `json:"busy,omitempty"`
}

// batch is one request's decoded spans, reused across requests.
type batch struct {
	st   decodeState
	sigs []signal
	body []byte
}

// NewReceiver feeds c.
func NewReceiver(c *Correlator, opts ReceiverOptions) *Receiver {
	r := &Receiver{corr: c, max: opts.MaxBody, maxSpans: opts.MaxSpans, maxInFlight: opts.MaxInFlight}
	if r.max <= 0 {
		r.max = DefaultMaxBody
	}
	if r.maxSpans <= 0 {
		r.maxSpans = DefaultMaxSpans
	}
	if r.maxInFlight <= 0 {
		r.maxInFlight = DefaultMaxInFlight
	}
	conc := opts.MaxConcurrent
	if conc <= 0 {
		conc = DefaultMaxConcurrent
	}
	r.slots = make(chan struct{}, conc)
	if opts.Token != "" {
		r.token = []byte("Bearer " + opts.Token)
	}
	r.pool.New = func() any { return &batch{} }
	return r
}

var _ http.Handler = (*Receiver)(nil)

// Stats returns the counters so far.
func (r *Receiver) Stats() ReceiverStats {
	c := &r.stats
	return ReceiverStats{
		Requests: c.requests.Load(), Spans: c.spans.Load(), Workload: c.workload.Load(),
		Unconventional: c.unconventional.Load(), BadRequest: c.badRequest.Load(),
		Unauthorized: c.unauthorized.Load(), TooLarge: c.tooLarge.Load(), Unsupported: c.unsupported.Load(),
		Busy: c.busy.Load(),
	}
}

const (
	ctProtobuf = "application/x-protobuf"
	ctJSON     = "application/json"
)

// ServeHTTP implements OTLP/HTTP for traces.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.stats.requests.Add(1)
	if req.URL.Path != TracesPath {
		http.NotFound(w, req)
		return
	}
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.fail(w, ct, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if r.token != nil {
		got := []byte(req.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, r.token) != 1 {
			r.stats.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer realm="spotdrill"`)
			r.fail(w, ct, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
	}
	if ct != ctProtobuf && ct != ctJSON {
		r.stats.unsupported.Add(1)
		r.fail(w, ct, http.StatusUnsupportedMediaType, "Content-Type must be "+ctProtobuf+" or "+ctJSON)
		return
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	default:
		r.busy(w, ct, "too many requests at once")
		return
	}
	b := r.pool.Get().(*batch)
	defer r.pool.Put(b)
	var held int64
	defer func() { r.inFlight.Add(-held) }()
	body, status, err := r.read(req, b.body[:0], &held)
	if err != nil {
		switch status {
		case http.StatusTooManyRequests:
			r.busy(w, ct, err.Error())
			return
		case http.StatusRequestEntityTooLarge:
			r.stats.tooLarge.Add(1)
		case http.StatusUnsupportedMediaType:
			r.stats.unsupported.Add(1)
		default:
			r.stats.badRequest.Add(1)
		}
		r.fail(w, ct, status, err.Error())
		return
	}
	if cap(body) <= 4<<20 {
		b.body = body
	}
	ignored, status, err := r.accept(b, body, ct == ctJSON)
	if err != nil {
		r.fail(w, ct, status, err.Error())
		return
	}
	r.succeed(w, ct, ignored)
}

// accept decodes a request's spans and, only when all of them decode within
// the limits, feeds them to the correlator. It is shared by OTLP/HTTP and
// OTLP/gRPC: the same spans get the same answer either way. It returns the
// spans that follow no convention, or an HTTP status and why.
func (r *Receiver) accept(b *batch, body []byte, isJSON bool) (int, int, error) {
	b.sigs = b.sigs[:0]
	collect := func(s *signal) { b.sigs = append(b.sigs, *s) }
	var (
		bs  batchStats
		err error
	)
	if isJSON {
		bs, err = decodeJSON(body, &b.st, collect)
	} else {
		bs, err = decodeProto(body, &b.st, collect)
	}
	if err != nil {
		r.stats.badRequest.Add(1)
		return 0, http.StatusBadRequest, err
	}
	if bs.spans > r.maxSpans {
		r.stats.tooLarge.Add(1)
		return 0, http.StatusRequestEntityTooLarge, fmt.Errorf("%d spans in one request, over the limit of %d: send smaller batches", bs.spans, r.maxSpans)
	}
	r.stats.spans.Add(int64(bs.spans))
	r.stats.workload.Add(int64(len(b.sigs)))
	r.stats.unconventional.Add(int64(bs.ignored))
	r.corr.observeBatch(b.sigs, bs.ignored)
	r.corr.Flush()
	return bs.ignored, http.StatusOK, nil
}

// partialMessage is what a partial success tells the client's exporter,
// which logs it: a worker that forgot spotdrill.job.id hears about it.
func partialMessage(ignored int) string {
	return strconv.Itoa(ignored) + " spans carry no spotdrill.job.id: spotdrill cannot correlate them (see docs/telemetry.md)"
}

// busy answers 429 with Retry-After, as OTLP/HTTP asks of a server that is
// overloaded: exporters retry after the delay.
func (r *Receiver) busy(w http.ResponseWriter, ct, why string) {
	r.stats.busy.Add(1)
	w.Header().Set("Retry-After", "1")
	r.fail(w, ct, http.StatusTooManyRequests, why+": retry later")
}

// read reads the body within the size limit, decompressing gzip. The bytes
// it holds count against the receiver's in-flight budget (held says how
// many, for the caller to give back); a body that would pass the budget is
// a 429, read no further.
func (r *Receiver) read(req *http.Request, buf []byte, held *int64) ([]byte, int, error) {
	if req.ContentLength > r.max {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes is over the limit of %d", req.ContentLength, r.max)
	}
	var src io.Reader = req.Body
	switch enc := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(req.Body, r.max+1))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q: use gzip or none", enc)
	}
	*held = int64(cap(buf))
	if r.inFlight.Add(*held) > r.maxInFlight {
		return nil, http.StatusTooManyRequests, errors.New("too many bytes in flight")
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
			grow := int64(cap(buf)) - *held
			*held += grow
			if r.inFlight.Add(grow) > r.maxInFlight {
				return nil, http.StatusTooManyRequests, errors.New("too many bytes in flight")
			}
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > r.max {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body is over the limit of %d bytes", r.max)
		}
		if errors.Is(err, io.EOF) {
			return buf, http.StatusOK, nil
		}
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
		}
	}
}

// succeed answers an ExportTraceServiceResponse, with a partial success
// naming the spans that followed no convention: the client's exporter logs
// it, so a worker that forgot spotdrill.job.id hears about it.
func (r *Receiver) succeed(w http.ResponseWriter, ct string, ignored int) {
	msg := ""
	if ignored > 0 {
		msg = partialMessage(ignored)
	}
	if ct == ctJSON {
		w.Header().Set("Content-Type", ctJSON)
		if ignored == 0 {
			_, _ = io.WriteString(w, "{}")
			return
		}
		_, _ = fmt.Fprintf(w, `{"partialSuccess":{"rejectedSpans":"%d","errorMessage":%s}}`, ignored, appendJSONString(nil, msg))
		return
	}
	w.Header().Set("Content-Type", ctProtobuf)
	if ignored == 0 {
		return
	}
	var ps []byte
	ps = protowire.AppendTag(ps, 1, protowire.VarintType)
	ps = protowire.AppendVarint(ps, uint64(ignored))
	ps = protowire.AppendTag(ps, 2, protowire.BytesType)
	ps = protowire.AppendString(ps, msg)
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendBytes(out, ps)
	_, _ = w.Write(out)
}

// fail answers an error with a google.rpc.Status, in the request's
// encoding, as OTLP/HTTP asks.
func (r *Receiver) fail(w http.ResponseWriter, ct string, status int, msg string) {
	if ct == ctJSON {
		w.Header().Set("Content-Type", ctJSON)
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"code":%d,"message":%s}`, rpcCode(status), appendJSONString(nil, msg))
		return
	}
	w.Header().Set("Content-Type", ctProtobuf)
	w.WriteHeader(status)
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(rpcCode(status)))
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendString(out, msg)
	_, _ = w.Write(out)
}

// rpcCode maps an HTTP status to a gRPC status code.
func rpcCode(status int) int {
	switch status {
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusNotFound:
		return 5 // NOT_FOUND
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return 12 // UNIMPLEMENTED
	}
	return 3 // INVALID_ARGUMENT
}

// observeBatch feeds a request's signals under one lock.
func (c *Correlator) observeBatch(sigs []signal, unconventional int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Unconventional += unconventional
	for i := range sigs {
		c.observeLocked(&sigs[i])
	}
}

// ListenAddr checks and completes the address the receiver listens on. A
// bare port (":4318") or an empty host means loopback. Any other host
// exposes the receiver beyond this machine, which needs a bearer token:
// otherwise anyone who can reach it could forge the recovery of a game day.
func ListenAddr(addr, token string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("otlp listen address %q: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("otlp listen address %q: bad port", addr)
	}
	if host == "" || host == "localhost" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return addr, nil
	}
	if token == "" {
		return "", fmt.Errorf("otlp listen address %q is not loopback: set a bearer token so that only your workers can send spans", addr)
	}
	return addr, nil
}

// Server serves a receiver on a listener.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen serves r on addr (check it with ListenAddr first).
func (r *Receiver) Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("otlp receiver: %w", err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           r,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting requests and waits for those in flight.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("otlp receiver: %w", err)
	}
	return nil
}
