package journal

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"time"
)

// Sink receives the events of a run. The runner, the simulated fleet and the
// injectors write to one; the journal file, live metrics and the console read
// from it. The event is the sink's only for the call: a sink that keeps it
// keeps a copy, so that emitters can reuse one value for millions of events.
type Sink interface {
	Emit(e *Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(e *Event)

// Emit calls f.
func (f SinkFunc) Emit(e *Event) { f(e) }

var _ Sink = SinkFunc(nil)

// FlushInterval bounds how much of a run a crash can lose.
const FlushInterval = time.Second

// Writer appends events as JSON lines. It buffers for speed and flushes at
// least every FlushInterval of wall time, so a killed run loses at most the
// last second; every complete line it leaves behind parses.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	buf     *bufio.Writer
	scratch []byte
	err     error
	done    chan struct{}
	wg      sync.WaitGroup
}

var _ Sink = (*Writer)(nil)

// NewWriter writes to w. Close stops the background flusher and flushes;
// it does not close w.
func NewWriter(w io.Writer) *Writer {
	buf := bufio.NewWriterSize(w, 256<<10)
	jw := &Writer{w: w, buf: buf, done: make(chan struct{})}
	jw.wg.Add(1)
	go jw.flushLoop()
	return jw
}

func (w *Writer) flushLoop() {
	defer w.wg.Done()
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
			_ = w.Flush()
		}
	}
}

// Emit appends one event. The first error sticks and is returned by Err,
// Flush and Close: a run must not go on believing its journal is written.
func (w *Writer) Emit(e *Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	b, err := e.AppendJSON(w.scratch[:0])
	if err == nil {
		b = append(b, '\n')
		_, err = w.buf.Write(b)
	}
	if err != nil {
		w.err = fmt.Errorf("journal: write %s: %w", e.Type, err)
	}
	if cap(b) <= 1<<20 {
		w.scratch = b
	}
}

// Err reports the first write error.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Flush writes buffered lines to the underlying writer, and syncs it when
// it can be synced (a file).
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.buf.Flush(); err != nil {
		w.err = fmt.Errorf("journal: flush: %w", err)
		return w.err
	}
	return nil
}

// Close stops the flusher and flushes what is left.
func (w *Writer) Close() error {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
	return w.Flush()
}
