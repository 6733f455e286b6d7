package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Export says where spotdrill's spans go: to an OTLP endpoint named by the
// standard OTEL_EXPORTER_OTLP_* variables, to a file of OTLP JSON lines, or
// both. With neither, telemetry is off and costs nothing.
type Export struct {
	// Getenv reads the environment (os.Getenv); nil reads nothing. The
	// variables read: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER,
	// OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
	// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. The OTLP exporters
	// read their own (headers, timeout, compression, certificates).
	Getenv func(string) string
	// TraceFile receives the spans as OTLP JSON lines; nil for none.
	TraceFile io.Writer
	// ServiceVersion is service.version.
	ServiceVersion string
	// Exporters are more exporters to send the spans to: an in-memory
	// exporter in tests, a console exporter.
	Exporters []sdktrace.SpanExporter
}

func (x Export) getenv(k string) string {
	if x.Getenv == nil {
		return ""
	}
	return strings.TrimSpace(x.Getenv(k))
}

// Protocols of OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolHTTPJSON     = "http/json"
	ProtocolGRPC         = "grpc"
)

// OTLP is the OTLP endpoint the environment asks for; empty when none.
type OTLP struct {
	// Endpoint is the URL spans are sent to.
	Endpoint string
	Protocol string
}

// otlp reads the OTLP endpoint from the environment. Unlike the SDK,
// spotdrill sends nothing unless an endpoint is named: a game-day tool
// must not dial localhost:4318 on its own.
func (x Export) otlp() (OTLP, error) {
	if strings.EqualFold(x.getenv("OTEL_SDK_DISABLED"), "true") {
		return OTLP{}, nil
	}
	if exp := x.getenv("OTEL_TRACES_EXPORTER"); exp != "" {
		kinds := strings.Split(exp, ",")
		for i := range kinds {
			kinds[i] = strings.TrimSpace(kinds[i])
		}
		switch {
		case contains(kinds, "none"):
			return OTLP{}, nil
		case !contains(kinds, "otlp"):
			return OTLP{}, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: spotdrill exports traces with otlp only (or none; --trace-file writes OTLP JSON lines)", exp)
		}
	}
	proto := x.getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = x.getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto == "" {
		proto = ProtocolHTTPProtobuf
	}
	switch proto {
	case ProtocolHTTPProtobuf, ProtocolHTTPJSON, ProtocolGRPC:
	default:
		return OTLP{}, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: want %s, %s or %s", proto, ProtocolHTTPProtobuf, ProtocolHTTPJSON, ProtocolGRPC)
	}
	endpoint := x.getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	signalSpecific := endpoint != ""
	if !signalSpecific {
		endpoint = x.getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if endpoint == "" {
		return OTLP{}, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return OTLP{}, fmt.Errorf("OTLP endpoint %q: want a URL such as http://localhost:4318", endpoint)
	}
	// The base endpoint of OTLP/HTTP gets the signal's path; a
	// signal-specific one is used as it is (the specification's rule).
	if !signalSpecific && proto != ProtocolGRPC {
		endpoint = strings.TrimRight(endpoint, "/") + "/v1/traces"
	}
	return OTLP{Endpoint: endpoint, Protocol: proto}, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// exporters builds the span exporters the configuration asks for.
func (x Export) exporters(ctx context.Context) ([]sdktrace.SpanExporter, error) {
	o, err := x.otlp()
	if err != nil {
		return nil, err
	}
	var out []sdktrace.SpanExporter
	switch o.Protocol {
	case ProtocolGRPC:
		e, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(o.Endpoint))
		if err != nil {
			return nil, fmt.Errorf("otlp grpc exporter for %s: %w", o.Endpoint, err)
		}
		out = append(out, e)
	case ProtocolHTTPProtobuf, ProtocolHTTPJSON:
		enc := otlptracehttp.EncodingProtobuf
		if o.Protocol == ProtocolHTTPJSON {
			enc = otlptracehttp.EncodingJSON
		}
		e, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(o.Endpoint), otlptracehttp.WithEncoding(enc))
		if err != nil {
			return nil, fmt.Errorf("otlp http exporter for %s: %w", o.Endpoint, err)
		}
		out = append(out, e)
	}
	if x.TraceFile != nil {
		out = append(out, NewFileExporter(x.TraceFile))
	}
	return append(out, x.Exporters...), nil
}

// resource describes spotdrill: service.name from OTEL_SERVICE_NAME
// (spotdrill by default), service.version, and OTEL_RESOURCE_ATTRIBUTES.
func (x Export) resource() (*resource.Resource, error) {
	var attrs []attribute.KeyValue
	if extra := x.getenv("OTEL_RESOURCE_ATTRIBUTES"); extra != "" {
		for _, pair := range strings.Split(extra, ",") {
			k, v, ok := strings.Cut(pair, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q is not key=value", pair)
			}
			dv, err := url.PathUnescape(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %s: %w", k, err)
			}
			attrs = append(attrs, attribute.String(strings.TrimSpace(k), dv))
		}
	}
	name := x.getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "spotdrill"
	}
	attrs = append(attrs, attribute.String("service.name", name))
	if x.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", x.ServiceVersion))
	}
	return resource.NewSchemaless(attrs...), nil
}

// newProvider builds a tracer provider that hands every span to the
// processors first (synchronously: the correlator) and then to the
// exporters in batches. It always samples: the correlation needs every
// attempt. The batcher blocks rather than drops when the exporter falls
// behind a simulated run that makes spans faster than it sends them: a
// trace with holes would lie.
func newProvider(res *resource.Resource, exporters []sdktrace.SpanExporter, processors ...sdktrace.SpanProcessor) *sdktrace.TracerProvider {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.AlwaysSample())}
	for _, p := range processors {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	for _, e := range exporters {
		opts = append(opts, sdktrace.WithBatcher(e, sdktrace.WithBlocking(), sdktrace.WithMaxQueueSize(8192),
			sdktrace.WithMaxExportBatchSize(512)))
	}
	return sdktrace.NewTracerProvider(opts...)
}

// FileExporter writes spans as OTLP JSON lines: each line one
// ExportTraceServiceRequest, as the OpenTelemetry Collector's file exporter
// writes them (its otlpjsonfile receiver reads them back).
type FileExporter struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	closed bool
}

var _ sdktrace.SpanExporter = (*FileExporter)(nil)

// NewFileExporter writes to w, one Write per batch. It does not close w.
func NewFileExporter(w io.Writer) *FileExporter { return &FileExporter{w: w} }

// ErrExporterClosed is returned by an exporter after Shutdown.
var ErrExporterClosed = errors.New("telemetry: exporter shut down")

// ExportSpans writes one line.
func (e *FileExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrExporterClosed
	}
	e.buf = append(appendRequest(e.buf[:0], spans), '\n')
	if _, err := e.w.Write(e.buf); err != nil {
		return fmt.Errorf("trace file: %w", err)
	}
	if cap(e.buf) > 4<<20 {
		e.buf = nil
	}
	return nil
}

// Shutdown stops the exporter.
func (e *FileExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}
