package journal

import (
	"bufio"
	"fmt"
	"io"
	"os"
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
	// sync makes the file durable; nil when w is not a regular file
	// (a pipe, /dev/null), which cannot be synced and need not be.
	sync    func() error
	durable bool
}

// syncer is a file that can be made durable.
type syncer interface {
	Sync() error
	Stat() (os.FileInfo, error)
}

var _ Sink = (*Writer)(nil)

// NewWriter writes to w. Close stops the background flusher and flushes;
// it does not close w.
func NewWriter(w io.Writer) *Writer {
	buf := bufio.NewWriterSize(w, 256<<10)
	jw := &Writer{w: w, buf: buf, done: make(chan struct{})}
	if f, ok := w.(syncer); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			jw.sync = f.Sync
		}
	}
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
			// An error sticks; the runner sees it through Err on its next
			// step and stops injecting.
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

// SetDurable makes Commit sync the file to its disk too, not only write it:
// on a real fleet, a line that describes a call must survive a crash of
// the machine, not only of the process.
func (w *Writer) SetDurable(d bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.durable = d
}

// Commit writes every event emitted so far to the file (and syncs it when
// durable) before the caller acts on them. An error is final: the writer
// refuses every later event, and the run must stop acting.
func (w *Writer) Commit() error { return w.flush(syncIfDurable) }

// Sync writes what is buffered and syncs the file when it is a regular
// file, whether or not the writer is durable: the end of a run.
func (w *Writer) Sync() error { return w.flush(syncAlways) }

// Flush writes buffered lines to the underlying writer.
func (w *Writer) Flush() error { return w.flush(syncNever) }

// When flush syncs the file after writing.
type syncMode uint8

const (
	syncNever syncMode = iota
	syncIfDurable
	syncAlways
)

// flush writes what is buffered, then syncs as mode says. The first error
// sticks.
func (w *Writer) flush(mode syncMode) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.buf.Flush(); err != nil {
		w.err = fmt.Errorf("journal: write: %w", err)
		return w.err
	}
	if (mode == syncAlways || mode == syncIfDurable && w.durable) && w.sync != nil {
		if err := w.sync(); err != nil {
			w.err = fmt.Errorf("journal: sync: %w", err)
			return w.err
		}
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
