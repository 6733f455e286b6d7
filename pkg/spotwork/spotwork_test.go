package spotwork_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/spotdrill/spotdrill/pkg/spotwork"
	"github.com/spotdrill/spotdrill/pkg/spotwork/spotworktest"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time     { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) at(d time.Duration) { c.mu.Lock(); c.t = t0.Add(d); c.mu.Unlock() }

func newWorker(opts spotwork.Options) (*spotwork.Worker, *tracetest.SpanRecorder, *clock) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c := &clock{t: t0}
	opts.Now = c.now
	if opts.Host == "" {
		opts.Host = "vm-1"
	}
	return spotwork.NewWorker(tp, opts), rec, c
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func TestAttemptSpanFollowsTheConventions(t *testing.T) {
	w, rec, c := newWorker(spotwork.Options{ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm-1"})
	prev := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})

	_, a := w.Start(context.Background(), "job-42", 3, spotwork.Resumes(prev), spotwork.FromCheckpoint(90*time.Second, t0.Add(-time.Minute)),
		spotwork.Storage(spotwork.StorageLocal))
	c.at(60 * time.Second)
	a.Checkpoint(150 * time.Second)
	c.at(100 * time.Second)
	w.RecordNotice(context.Background(), spotwork.Notice{EventID: "E1", Type: "Preempt", NotBefore: t0.Add(130 * time.Second)})
	c.at(101 * time.Second)
	a.DrainStart()
	c.at(110 * time.Second)
	a.DrainEnd()
	a.Release()
	a.Checkpoint(time.Hour) // after the end: ignored
	a.Complete()            // ended already: ignored

	spans := rec.Ended()
	var attempt sdktrace.ReadOnlySpan
	var marks []sdktrace.ReadOnlySpan
	for _, s := range spans {
		switch s.Name() {
		case spotwork.SpanAttempt:
			attempt = s
		case spotwork.SpanMark:
			marks = append(marks, s)
		}
	}
	require.NotNil(t, attempt)
	a1 := attrs(attempt.Attributes())
	require.Equal(t, "job-42", a1[spotwork.AttrJobID])
	require.Equal(t, int64(3), a1[spotwork.AttrAttempt])
	require.Equal(t, "vm-1", a1[spotwork.AttrHostName])
	require.Contains(t, a1[spotwork.AttrResourceID], "/virtualMachines/vm-1")
	require.Equal(t, "released", a1[spotwork.AttrOutcome])
	require.Equal(t, 90.0, a1[spotwork.AttrProgress])
	require.Equal(t, "2026-03-02T09:59:00Z", a1[spotwork.AttrRestoredAt])
	require.Equal(t, "local", a1[spotwork.AttrStorage])
	require.Equal(t, t0, attempt.StartTime())
	require.Equal(t, t0.Add(110*time.Second), attempt.EndTime())

	var names []string
	for _, e := range attempt.Events() {
		names = append(names, e.Name)
	}
	require.Equal(t, []string{"checkpoint", "preempt.notice", "drain.start", "drain.end"}, names)
	ev := attempt.Events()
	require.Equal(t, 150.0, attrs(ev[0].Attributes)[spotwork.AttrCheckpointProgress])
	require.Equal(t, t0.Add(60*time.Second), ev[0].Time)
	require.Equal(t, "E1", attrs(ev[1].Attributes)[spotwork.AttrNoticeEventID])
	require.Equal(t, "2026-03-02T10:02:10Z", attrs(ev[1].Attributes)[spotwork.AttrNoticeNotBefore])

	require.Len(t, attempt.Links(), 1)
	require.Equal(t, prev.SpanID(), attempt.Links()[0].SpanContext.SpanID())
	require.Equal(t, spotwork.LinkPreviousAttempt, attrs(attempt.Links()[0].Attributes)[spotwork.AttrLink])

	// Markers: exported at once, children of the attempt, zero length.
	var what []string
	for _, m := range marks {
		require.Equal(t, attempt.SpanContext().SpanID(), m.Parent().SpanID())
		require.Equal(t, m.StartTime(), m.EndTime())
		ma := attrs(m.Attributes())
		require.Equal(t, "job-42", ma[spotwork.AttrJobID])
		require.Equal(t, int64(3), ma[spotwork.AttrAttempt])
		what = append(what, ma[spotwork.AttrMark].(string))
	}
	require.Equal(t, []string{"start", "checkpoint", "preempt.notice", "drain.start"}, what)

	n, ok := w.Notice()
	require.True(t, ok)
	require.Equal(t, "E1", n.EventID)
	select {
	case <-w.Noticed():
	default:
		t.Fatal("Noticed is not closed after a notice")
	}
}

func TestFailAndNoMarkers(t *testing.T) {
	w, rec, _ := newWorker(spotwork.Options{NoMarkers: true})
	_, a := w.Start(context.Background(), "job-1", 1)
	a.Fail(errors.New("bad input"))
	spans := rec.Ended()
	require.Len(t, spans, 1, "no markers")
	require.Equal(t, codes.Error, spans[0].Status().Code)
	require.Equal(t, "failed", attrs(spans[0].Attributes())[spotwork.AttrOutcome])
}

func TestNoticeOnlyOnceAndOnlyOnRunningAttempts(t *testing.T) {
	w, rec, _ := newWorker(spotwork.Options{NoMarkers: true})
	_, done := w.Start(context.Background(), "job-1", 1)
	done.Complete()
	_, running := w.Start(context.Background(), "job-2", 1)
	w.RecordNotice(context.Background(), spotwork.Notice{EventID: "E"})
	w.RecordNotice(context.Background(), spotwork.Notice{EventID: "E"})
	running.Release()
	for _, s := range rec.Ended() {
		job := attrs(s.Attributes())[spotwork.AttrJobID]
		switch job {
		case "job-1":
			require.Empty(t, s.Events())
		case "job-2":
			require.Len(t, s.Events(), 1)
		}
	}
}

func TestScheduledEvents(t *testing.T) {
	imds := spotworktest.NewIMDS(spotwork.Instance{Name: "vm-1", ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm-1", Zone: "2"})
	defer imds.Close()
	se := &spotwork.ScheduledEvents{Endpoint: imds.URL(), Interval: 10 * time.Millisecond}

	// IMDS refuses requests without the Metadata header.
	resp, err := http.Get(imds.URL() + "/metadata/scheduledevents?api-version=2020-07-01")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	in, err := se.Instance(context.Background())
	require.NoError(t, err)
	require.Equal(t, "vm-1", in.Name)
	require.Equal(t, "2", in.Zone)

	d, err := se.Get(context.Background())
	require.NoError(t, err)
	require.Empty(t, d.Events)
	other := imds.Preempt(30*time.Second, "vm-2")
	mine := imds.Preempt(30*time.Second, "VM-1")
	d, err = se.Get(context.Background())
	require.NoError(t, err)
	require.Len(t, d.Events, 2)
	require.Equal(t, other, d.Events[0].EventID)
	nb := d.Events[1].NotBeforeTime()
	require.WithinDuration(t, time.Now().Add(30*time.Second), nb, 2*time.Second)

	// The worker hears its own Preempt once, however often it polls.
	w, rec, _ := newWorker(spotwork.Options{Host: "vm-1", NoMarkers: true})
	_, a := w.Start(context.Background(), "job-1", 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.WatchScheduledEvents(ctx, se) }()
	select {
	case <-w.Noticed():
	case <-time.After(5 * time.Second):
		t.Fatal("no notice")
	}
	require.Eventually(t, func() bool { return imds.Polls() >= 4 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	n, _ := w.Notice()
	require.Equal(t, mine, n.EventID)
	a.Release()
	require.Len(t, rec.Ended()[0].Events(), 1)
}

func TestScheduledEventsErrors(t *testing.T) {
	se := &spotwork.ScheduledEvents{Endpoint: "http://127.0.0.1:1", Interval: time.Millisecond}
	_, err := se.Get(context.Background())
	require.Error(t, err)
	var errs []error
	se.OnError = func(err error) { errs = append(errs, err) }
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, se.Watch(ctx, "vm-1", func(spotwork.Event) {}), context.DeadlineExceeded)
	require.NotEmpty(t, errs, "failed polls are reported and the watch goes on")
}
