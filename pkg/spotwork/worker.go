// Package spotwork instruments workers that run on Azure Spot VMs so that
// spotdrill can tie an eviction to the work it interrupted and measure how
// long that work took to run again (TTR) and how much of it was lost.
//
// A worker records each job attempt as an OpenTelemetry span (Worker.Start),
// its checkpoints (Attempt.Checkpoint) and its drain (Attempt.DrainStart,
// Attempt.DrainEnd), and watches the VM's Scheduled Events
// (Worker.WatchScheduledEvents) so that the Preempt notice lands on every
// running attempt. A resumed attempt links to the one it continues
// (Resumes). The worker exports its spans with any OpenTelemetry exporter;
// during a game day it points OTEL_EXPORTER_OTLP_ENDPOINT at spotdrill's
// receiver (spotdrill run --otlp-listen).
//
// The package depends only on the OpenTelemetry API: the worker chooses its
// SDK and exporter. examples/worker is a complete worker.
package spotwork

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans this package makes.
const ScopeName = "github.com/spotdrill/spotdrill/pkg/spotwork"

// Options configure a Worker.
type Options struct {
	// Host is the VM's name as Azure knows it, recorded as host.name: the
	// name in its Scheduled Events' Resources and in spotdrill's journal.
	// ScheduledEvents.Instance reads it from IMDS; empty means the OS host
	// name.
	Host string
	// ResourceID is the VM's ARM resource ID (cloud.resource_id), when known.
	ResourceID string
	// NoMarkers turns off the marker spans (SpanMark). Without them an
	// attempt that dies with its VM leaves no trace, and spotdrill can
	// only count the eviction as uncorrelated.
	NoMarkers bool
	// FlushTimeout bounds the flush of the tracer provider after a Preempt
	// notice, so that the notice leaves the VM before the VM goes; 5 s if
	// zero.
	FlushTimeout time.Duration
	// Now is the clock; time.Now if nil. Tests set it.
	Now func() time.Time
}

// Worker instruments the attempts of one worker process. It is safe for
// concurrent use: a process may run several attempts at once.
type Worker struct {
	tracer   trace.Tracer
	flusher  flusher
	host     string
	resource string
	markers  bool
	timeout  time.Duration
	now      func() time.Time

	flushing atomic.Bool

	mu      sync.Mutex
	active  map[*Attempt]struct{}
	notices map[string]Notice
	first   *Notice
	noticed chan struct{}
}

// flusher is what an SDK tracer provider offers to export what it holds.
type flusher interface {
	ForceFlush(ctx context.Context) error
}

// NewWorker instruments a worker with the spans of tp, which should export
// promptly (a batch timeout of a second or two) so that markers reach
// spotdrill while the attempt runs.
func NewWorker(tp trace.TracerProvider, opts Options) *Worker {
	w := &Worker{
		tracer:   tp.Tracer(ScopeName),
		host:     opts.Host,
		resource: opts.ResourceID,
		markers:  !opts.NoMarkers,
		timeout:  opts.FlushTimeout,
		now:      opts.Now,
		active:   make(map[*Attempt]struct{}),
		notices:  make(map[string]Notice),
		noticed:  make(chan struct{}),
	}
	if f, ok := tp.(flusher); ok {
		w.flusher = f
	}
	if w.host == "" {
		w.host, _ = os.Hostname()
	}
	if w.timeout <= 0 {
		w.timeout = 5 * time.Second
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w
}

// Host is the host.name the worker records.
func (w *Worker) Host() string { return w.host }

// attemptConfig gathers the AttemptOptions.
type attemptConfig struct {
	prev     trace.SpanContext
	progress time.Duration
	restored time.Time
	storage  string
}

// AttemptOption configures an attempt.
type AttemptOption func(*attemptConfig)

// Resumes links the attempt to the attempt it continues: the span context of
// the interrupted attempt, which the worker kept with the job (in its
// checkpoint, or in the queue message). spotdrill needs no link to measure
// TTR, but a trace backend shows the chain with it.
func Resumes(prev trace.SpanContext) AttemptOption {
	return func(c *attemptConfig) { c.prev = prev }
}

// FromCheckpoint records the checkpoint the attempt restored: the work it
// saved, and when it was taken (zero if unknown). The time lets spotdrill
// measure the work lost by the attempt it continues, even when that
// attempt's last checkpoint never left its VM.
func FromCheckpoint(saved time.Duration, taken time.Time) AttemptOption {
	return func(c *attemptConfig) { c.progress, c.restored = saved, taken }
}

// Storage says where the attempt's checkpoints go: StorageDurable (the
// default) or StorageLocal, which a Delete eviction destroys.
func Storage(kind string) AttemptOption {
	return func(c *attemptConfig) { c.storage = kind }
}

// Start begins an attempt of job (attempt counts from 1). The returned
// context carries the attempt span, for the spans of the work inside it. The
// attempt must be ended with Complete, Release or Fail.
func (w *Worker) Start(ctx context.Context, job string, attempt int, opts ...AttemptOption) (context.Context, *Attempt) {
	var cfg attemptConfig
	for _, o := range opts {
		o(&cfg)
	}
	ids := []attribute.KeyValue{
		attribute.String(AttrJobID, job),
		attribute.Int(AttrAttempt, attempt),
		attribute.String(AttrHostName, w.host),
	}
	if w.resource != "" {
		ids = append(ids, attribute.String(AttrResourceID, w.resource))
	}
	attrs := append([]attribute.KeyValue(nil), ids...)
	if cfg.progress > 0 {
		attrs = append(attrs, attribute.Float64(AttrProgress, cfg.progress.Seconds()))
	}
	if !cfg.restored.IsZero() {
		attrs = append(attrs, attribute.String(AttrRestoredAt, cfg.restored.UTC().Format(time.RFC3339Nano)))
	}
	if cfg.storage != "" {
		attrs = append(attrs, attribute.String(AttrStorage, cfg.storage))
	}
	start := w.now()
	so := []trace.SpanStartOption{trace.WithTimestamp(start), trace.WithAttributes(attrs...)}
	if cfg.prev.IsValid() {
		so = append(so, trace.WithLinks(trace.Link{
			SpanContext: cfg.prev,
			Attributes:  []attribute.KeyValue{attribute.String(AttrLink, LinkPreviousAttempt)},
		}))
	}
	ctx, span := w.tracer.Start(ctx, SpanAttempt, so...)
	a := &Attempt{w: w, span: span, ctx: ctx, ids: ids}
	w.mu.Lock()
	w.active[a] = struct{}{}
	w.mu.Unlock()
	// The start marker carries the whole start: spotdrill settles the
	// attempt this one continues when it hears of it.
	a.mark(start, MarkStart, attrs[len(ids):]...)
	return ctx, a
}

// Notice is a Preempt (or other) Scheduled Event seen by the worker.
type Notice struct {
	EventID string
	Type    string
	// NotBefore is when the event may start; zero when IMDS did not say.
	NotBefore time.Time
	// Seen is when the worker saw it.
	Seen time.Time
}

// RecordNotice records a notice on every running attempt (preempt.notice)
// and flushes the spans, so that the notice reaches spotdrill before the VM
// goes. A notice already recorded is ignored. WatchScheduledEvents calls it;
// a worker with its own watcher calls it directly.
func (w *Worker) RecordNotice(ctx context.Context, n Notice) {
	if n.Seen.IsZero() {
		n.Seen = w.now()
	}
	w.mu.Lock()
	if _, dup := w.notices[n.EventID]; dup {
		w.mu.Unlock()
		return
	}
	w.notices[n.EventID] = n
	if w.first == nil {
		first := n
		w.first = &first
		close(w.noticed)
	}
	running := make([]*Attempt, 0, len(w.active))
	for a := range w.active {
		running = append(running, a)
	}
	w.mu.Unlock()
	for _, a := range running {
		a.notice(n)
	}
	w.flush(ctx)
}

// Noticed is closed when the first notice arrives: a worker selects on it to
// stop taking jobs and to drain or checkpoint the ones it runs.
func (w *Worker) Noticed() <-chan struct{} { return w.noticed }

// Notice returns the first notice, if one came.
func (w *Worker) Notice() (Notice, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.first == nil {
		return Notice{}, false
	}
	return *w.first, true
}

// flushAsync flushes in the background, once at a time, so that a slow
// collector never slows the work.
func (w *Worker) flushAsync() {
	if w.flusher == nil || !w.flushing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer w.flushing.Store(false)
		w.flush(context.Background())
	}()
}

func (w *Worker) flush(ctx context.Context) {
	if w.flusher == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	// A failed flush is the exporter's to report (through the OpenTelemetry
	// error handler); the notice is recorded on the spans either way.
	_ = w.flusher.ForceFlush(ctx)
}

// Attempt is one job attempt in progress. Its methods are safe for
// concurrent use and do nothing once it has ended.
type Attempt struct {
	w    *Worker
	span trace.Span
	ctx  context.Context
	ids  []attribute.KeyValue

	mu    sync.Mutex
	ended bool
}

// SpanContext identifies the attempt's span: keep it with the job (in the
// checkpoint) so that the next attempt can link to it with Resumes.
func (a *Attempt) SpanContext() trace.SpanContext { return a.span.SpanContext() }

// Context is the context of the attempt's span.
func (a *Attempt) Context() context.Context { return a.ctx }

// Checkpoint records a durable checkpoint that saved progress seconds of the
// job's work in all, and sends it off at once: the checkpoint just before an
// eviction is the one that says how much work the eviction cost.
func (a *Attempt) Checkpoint(progress time.Duration) {
	a.event(EventCheckpoint, attribute.Float64(AttrCheckpointProgress, progress.Seconds()))
	a.w.flushAsync()
}

// DrainStart records that the worker stopped working to hand the job back
// (or to checkpoint it) because of a notice.
func (a *Attempt) DrainStart() { a.event(EventDrainStart) }

// DrainEnd records that the drain finished; Release usually follows.
func (a *Attempt) DrainEnd() { a.event(EventDrainEnd) }

// Complete ends the attempt: the job is done.
func (a *Attempt) Complete() { a.end(OutcomeCompleted, nil) }

// Release ends the attempt: the job goes back to the queue unfinished, for
// another worker to resume.
func (a *Attempt) Release() { a.end(OutcomeReleased, nil) }

// Fail ends the attempt: the job failed for reasons of its own.
func (a *Attempt) Fail(err error) { a.end(OutcomeFailed, err) }

func (a *Attempt) event(name string, attrs ...attribute.KeyValue) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ended {
		return
	}
	t := a.w.now()
	a.span.AddEvent(name, trace.WithTimestamp(t), trace.WithAttributes(attrs...))
	if name != EventDrainEnd {
		a.mark(t, name, attrs...)
	}
}

func (a *Attempt) notice(n Notice) {
	attrs := []attribute.KeyValue{attribute.String(AttrNoticeEventID, n.EventID)}
	if !n.NotBefore.IsZero() {
		attrs = append(attrs, attribute.String(AttrNoticeNotBefore, n.NotBefore.UTC().Format(time.RFC3339)))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ended {
		return
	}
	a.span.AddEvent(EventPreemptNotice, trace.WithTimestamp(n.Seen), trace.WithAttributes(attrs...))
	a.mark(n.Seen, EventPreemptNotice, attrs...)
}

// mark exports a marker span at t; a.mu is held or the attempt is new.
func (a *Attempt) mark(t time.Time, what string, extra ...attribute.KeyValue) {
	if !a.w.markers {
		return
	}
	attrs := make([]attribute.KeyValue, 0, len(a.ids)+1+len(extra))
	attrs = append(attrs, a.ids...)
	attrs = append(attrs, attribute.String(AttrMark, what))
	attrs = append(attrs, extra...)
	_, m := a.w.tracer.Start(a.ctx, SpanMark, trace.WithTimestamp(t), trace.WithAttributes(attrs...))
	m.End(trace.WithTimestamp(t))
}

func (a *Attempt) end(o Outcome, err error) {
	a.mu.Lock()
	if a.ended {
		a.mu.Unlock()
		return
	}
	a.ended = true
	a.span.SetAttributes(attribute.String(AttrOutcome, string(o)))
	if err != nil {
		a.span.RecordError(err)
		a.span.SetStatus(codes.Error, err.Error())
	}
	a.span.End(trace.WithTimestamp(a.w.now()))
	a.mu.Unlock()
	a.w.mu.Lock()
	delete(a.w.active, a)
	a.w.mu.Unlock()
}
