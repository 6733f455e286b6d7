// Command worker is an example of a batch worker instrumented with
// spotwork: it takes jobs from a queue, checkpoints them, watches the VM's
// Scheduled Events, and on a Preempt notice checkpoints and hands its job
// back (or drains, or ignores it). Every attempt is an OpenTelemetry span
// that spotdrill correlates with its evictions.
//
// The queue is a folder shared by the workers (on Azure: an Azure Files
// share); it stands in for a real queue service:
//
//	QUEUE/todo/JOB      a job waiting; it holds the work it needs ({"work":"10m"})
//	QUEUE/leased/JOB    a job a worker holds; its time is the lease's heartbeat
//	QUEUE/done/JOB      a finished job
//	QUEUE/state/JOB     the job's durable state: attempts, last checkpoint, the
//	                    span of the last attempt (so the next one links to it)
//
// Run it with the standard OpenTelemetry variables pointing at spotdrill's
// receiver during a game day:
//
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 worker -queue /mnt/queue
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

// config is the worker's flags.
type config struct {
	queue           string
	host            string
	imds            string
	onNotice        string
	checkpointEvery time.Duration
	checkpointCost  time.Duration
	lease           time.Duration
	step            time.Duration
	exitWhenEmpty   bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.queue, "queue", "", "the queue folder (required)")
	flag.StringVar(&cfg.host, "host", "", "this VM's name (default: IMDS compute name, else the host name)")
	flag.StringVar(&cfg.imds, "imds", spotwork.DefaultIMDS, "base URL of the Instance Metadata Service")
	flag.StringVar(&cfg.onNotice, "on-notice", "checkpoint", "on a Preempt notice: checkpoint, drain or ignore")
	flag.DurationVar(&cfg.checkpointEvery, "checkpoint-every", time.Minute, "compute between checkpoints")
	flag.DurationVar(&cfg.checkpointCost, "checkpoint-cost", time.Second, "time one checkpoint takes")
	flag.DurationVar(&cfg.lease, "lease", 30*time.Second, "visibility timeout: a lease not renewed for this long returns its job to the queue")
	flag.DurationVar(&cfg.step, "step", 100*time.Millisecond, "granularity of the simulated work")
	flag.BoolVar(&cfg.exitWhenEmpty, "exit-when-empty", false, "exit when the queue is empty instead of waiting for jobs")
	flag.Parse()
	if cfg.queue == "" {
		fmt.Fprintln(os.Stderr, "worker: -queue is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)); err != nil {
		log.Fatalf("worker: %v", err)
	}
}

func run(ctx context.Context, cfg config, logf *log.Logger) error {
	se := &spotwork.ScheduledEvents{Endpoint: cfg.imds, OnError: func(err error) { logf.Printf("scheduled events: %v", err) }}
	host, resourceID := cfg.host, ""
	if in, err := se.Instance(ctx); err == nil {
		resourceID = in.ResourceID
		if host == "" {
			host = in.Name
		}
	}
	if host == "" {
		host, _ = os.Hostname()
	}

	// The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT and the other standard
	// variables; OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends over OTLP/gRPC
	// (spotdrill run --otlp-listen-grpc) instead of HTTP. A short batch
	// timeout gets the markers out while the attempt runs: a worker killed
	// with its VM exports nothing more.
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch proto := os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); proto {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	default:
		return fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: expected grpc or http/protobuf", proto)
	}
	if err != nil {
		return fmt.Errorf("otlp exporter: %w", err)
	}
	name := os.Getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "example-worker"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name), attribute.String(spotwork.AttrHostName, host)}
	if resourceID != "" {
		attrs = append(attrs, attribute.String(spotwork.AttrResourceID, resourceID))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(500*time.Millisecond)),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)))
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(sctx)
	}()

	w := spotwork.NewWorker(tp, spotwork.Options{Host: host, ResourceID: resourceID})
	go func() { _ = w.WatchScheduledEvents(ctx, se) }()
	q := &queue{dir: cfg.queue, lease: cfg.lease}
	if err := q.init(); err != nil {
		return err
	}
	logf.Printf("worker on %s: queue %s, on notice %s", host, cfg.queue, cfg.onNotice)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.Noticed():
			// A VM about to go takes no more work; the eviction ends it.
			logf.Printf("preempt notice: taking no more jobs")
			<-ctx.Done()
			return nil
		default:
		}
		job, st, err := q.take(host)
		if errors.Is(err, errEmpty) {
			if cfg.exitWhenEmpty && q.idle() {
				return nil
			}
			sleep(ctx, cfg.step*5)
			continue
		}
		if err != nil {
			return err
		}
		if err := work(ctx, cfg, w, q, job, st, logf); err != nil {
			return err
		}
	}
}

// work runs one attempt of a job.
func work(ctx context.Context, cfg config, w *spotwork.Worker, q *queue, job string, st jobState, logf *log.Logger) error {
	opts := []spotwork.AttemptOption{spotwork.FromCheckpoint(st.Progress.D(), st.Checkpointed), spotwork.Storage(spotwork.StorageDurable)}
	if prev, err := st.previous(); err == nil {
		opts = append(opts, spotwork.Resumes(prev))
	}
	st.Attempts++
	_, a := w.Start(ctx, job, st.Attempts, opts...)
	st.Span, st.Started = a.SpanContext().TraceID().String()+"-"+a.SpanContext().SpanID().String(), time.Now().UTC()
	if err := q.save(job, st); err != nil {
		a.Fail(err)
		return err
	}
	logf.Printf("%s attempt %d: from %s of %s", job, st.Attempts, st.Progress.D(), st.Work.D())
	progress, saved := st.Progress.D(), st.Progress.D()
	checkpoint := func() error {
		sleep(ctx, cfg.checkpointCost)
		st.Progress, st.Checkpointed = duration(progress), time.Now().UTC()
		if err := q.save(job, st); err != nil {
			return err
		}
		saved = progress
		a.Checkpoint(progress)
		return nil
	}
	tick := time.NewTicker(cfg.step)
	defer tick.Stop()
	noticed := w.Noticed()
	for progress < st.Work.D() {
		select {
		case <-ctx.Done():
			// Stopped by the operator: hand the job back for another
			// worker, without losing the checkpoint.
			a.Release()
			return q.release(job)
		case <-noticed:
			noticed = nil
			switch cfg.onNotice {
			case "checkpoint", "drain":
				a.DrainStart()
				if cfg.onNotice == "checkpoint" {
					if err := checkpoint(); err != nil {
						a.Fail(err)
						return err
					}
				}
				if err := q.release(job); err != nil {
					a.Fail(err)
					return err
				}
				a.DrainEnd()
				a.Release()
				logf.Printf("%s attempt %d: handed back at %s (saved %s)", job, st.Attempts, progress, saved)
				return nil
			}
			logf.Printf("%s attempt %d: ignoring the notice", job, st.Attempts)
		case <-tick.C:
			progress += cfg.step
			if err := q.renew(job); err != nil {
				a.Fail(err)
				return err
			}
			if progress-saved >= cfg.checkpointEvery && progress < st.Work.D() {
				if err := checkpoint(); err != nil {
					a.Fail(err)
					return err
				}
			}
		}
	}
	if err := q.finish(job); err != nil {
		a.Fail(err)
		return err
	}
	a.Complete()
	logf.Printf("%s attempt %d: done", job, st.Attempts)
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// duration is a time.Duration written as "1m30s" in JSON.
type duration time.Duration

func (d duration) D() time.Duration { return time.Duration(d) }

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = duration(v)
	return err
}

// jobState is what survives an attempt: the durable checkpoint.
type jobState struct {
	Work         duration  `json:"work"`
	Progress     duration  `json:"progress"`
	Attempts     int       `json:"attempts"`
	Started      time.Time `json:"started"`
	Checkpointed time.Time `json:"checkpointed,omitzero"`
	// Span is the last attempt's trace and span IDs.
	Span string `json:"span,omitempty"`
}

func (s jobState) previous() (trace.SpanContext, error) {
	t, sp, _ := strings.Cut(s.Span, "-")
	tid, err := trace.TraceIDFromHex(t)
	if err != nil {
		return trace.SpanContext{}, fmt.Errorf("no previous attempt: %w", err)
	}
	sid, err := trace.SpanIDFromHex(sp)
	if err != nil {
		return trace.SpanContext{}, fmt.Errorf("no previous attempt: %w", err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true}), nil
}

var errEmpty = errors.New("queue empty")

// queue is the folder queue: renames are atomic, so two workers never hold
// the same lease.
type queue struct {
	dir   string
	lease time.Duration
}

func (q *queue) path(parts ...string) string {
	return filepath.Join(append([]string{q.dir}, parts...)...)
}

func (q *queue) init() error {
	for _, d := range []string{"todo", "leased", "done", "state"} {
		if err := os.MkdirAll(q.path(d), 0o755); err != nil {
			return fmt.Errorf("queue: %w", err)
		}
	}
	return nil
}

// take leases the oldest waiting job, after returning expired leases.
func (q *queue) take(host string) (string, jobState, error) {
	q.expire()
	entries, err := os.ReadDir(q.path("todo"))
	if err != nil {
		return "", jobState{}, fmt.Errorf("queue: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		job := e.Name()
		if err := os.Rename(q.path("todo", job), q.path("leased", job)); err != nil {
			continue // another worker took it
		}
		_ = q.renew(job)
		st, err := q.state(job)
		if err != nil {
			return "", jobState{}, err
		}
		return job, st, nil
	}
	return "", jobState{}, errEmpty
}

// expire returns to the queue the jobs whose worker stopped renewing.
func (q *queue) expire() {
	entries, _ := os.ReadDir(q.path("leased"))
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > q.lease {
			_ = os.Rename(q.path("leased", e.Name()), q.path("todo", e.Name()))
		}
	}
}

func (q *queue) idle() bool {
	todo, _ := os.ReadDir(q.path("todo"))
	leased, _ := os.ReadDir(q.path("leased"))
	return len(todo) == 0 && len(leased) == 0
}

func (q *queue) renew(job string) error {
	now := time.Now()
	if err := os.Chtimes(q.path("leased", job), now, now); err != nil {
		return fmt.Errorf("queue: lease of %s lost: %w", job, err)
	}
	return nil
}

func (q *queue) release(job string) error {
	if err := os.Rename(q.path("leased", job), q.path("todo", job)); err != nil {
		return fmt.Errorf("queue: release %s: %w", job, err)
	}
	return nil
}

func (q *queue) finish(job string) error {
	if err := os.Rename(q.path("leased", job), q.path("done", job)); err != nil {
		return fmt.Errorf("queue: finish %s: %w", job, err)
	}
	return nil
}

// state reads the job's durable state, or its definition the first time.
func (q *queue) state(job string) (jobState, error) {
	var st jobState
	b, err := os.ReadFile(q.path("state", job))
	if errors.Is(err, os.ErrNotExist) {
		b, err = os.ReadFile(q.path("leased", job))
	}
	if err != nil {
		return st, fmt.Errorf("queue: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("queue: job %s: %w", job, err)
	}
	return st, nil
}

// save writes the state atomically, as a durable checkpoint must.
func (q *queue) save(job string, st jobState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(q.path("state"), job+".*")
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("queue: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if err := os.Rename(tmp.Name(), q.path("state", job)); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}
