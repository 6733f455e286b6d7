package journal

import (
	"github.com/spotdrill/spotdrill/internal/inputfile"

	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Bus numbers events and hands each to every sink, in order. It is safe for
// concurrent use, so injectors may emit from their own goroutines.
type Bus struct {
	mu    sync.Mutex
	seq   int64
	sinks []Sink
}

var _ Sink = (*Bus)(nil)

// NewBus fans out to sinks.
func NewBus(sinks ...Sink) *Bus { return &Bus{sinks: sinks} }

// Subscribe adds a sink for the events that follow.
func (b *Bus) Subscribe(s Sink) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sinks = append(b.sinks, s)
}

// Emit stamps the sequence number and forwards the event.
func (b *Bus) Emit(e *Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	e.Seq = b.seq
	for _, s := range b.sinks {
		s.Emit(e)
	}
}

// Tail says how a journal ended.
type Tail struct {
	// Events is how many events were read.
	Events int64
	// Ended is true when the journal has its run.ended event.
	Ended bool
	// Truncated is true when the last line was cut off mid-write (a crash).
	Truncated bool
	// Damage lists lines whose seq does not follow the line before (a gap,
	// a repeat, a reorder: a spliced or edited journal), at most
	// MaxDamage of them; Damaged counts them all.
	Damage  []string
	Damaged int
}

// MaxDamage bounds how many damaged lines a Tail names.
const MaxDamage = 10

// IsDamaged reports whether the journal is not the whole, ordered record
// of one run, so that nothing should be graded from it as if it were.
func (t Tail) IsDamaged() bool { return t.Damaged > 0 }

// checkSeq records a line whose seq does not rise by one.
func (t *Tail) checkSeq(line int, seq, prev int64) {
	if seq == prev+1 {
		return
	}
	t.Damaged++
	if len(t.Damage) >= MaxDamage {
		return
	}
	var what string
	switch {
	case seq == prev:
		what = fmt.Sprintf("seq %d repeats the line before", seq)
	case seq < prev:
		what = fmt.Sprintf("seq %d after %d: out of order", seq, prev)
	default:
		n := seq - prev - 1
		what = fmt.Sprintf("seq %d after %d: %d event%s missing", seq, prev, n, map[bool]string{true: "s"}[n != 1])
	}
	t.Damage = append(t.Damage, fmt.Sprintf("line %d: %s (expected seq %d)", line, what, prev+1))
}

// CutShort reports whether the run stopped before it could close its
// journal: a crash, a SIGKILL, a full disk.
func (t Tail) CutShort() bool { return !t.Ended || t.Truncated }

// MaxLine bounds one journal line. The longest spotdrill writes is a part
// of a workload summary (SummaryChunk values of each of its two lists);
// a longer line is no journal of spotdrill's, and reading it stops there.
const MaxLine = 64 << 20

// Scan reads a journal and calls fn for each event, in order. A last line
// without its newline that does not parse is a crash's leftover: Scan stops
// there and reports it in Tail instead of failing. Any other bad line is an
// error naming the line.
func Scan(r io.Reader, fn func(*Event) error) (Tail, error) {
	var tail Tail
	br := bufio.NewReaderSize(r, 1<<20)
	line := 0
	// One event value serves every line: sinks copy what they keep.
	var e Event
	var prevSeq int64
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			full := append([]byte(nil), b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				full = append(full, b...)
				if len(full) > MaxLine {
					return tail, fmt.Errorf("journal line %d: longer than %d bytes (the most a journal line holds)", line+1, MaxLine)
				}
			}
			b = full
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return tail, fmt.Errorf("journal: read: %w", err)
		}
		eof := errors.Is(err, io.EOF)
		if len(bytes.TrimSpace(b)) > 0 {
			line++
			e = Event{}
			if jerr := DecodeEvent(b, &e); jerr != nil {
				// A crash leaves a last line cut mid-write (or a tail of
				// zeros) after whole lines; a file whose very first line
				// does not parse is no journal at all.
				if eof && !bytes.HasSuffix(b, []byte("\n")) && line > 1 {
					tail.Truncated = true
					return tail, nil
				}
				if line == 1 {
					return tail, fmt.Errorf("journal line 1: not a spotdrill journal (expected a JSON line with type %q): %w", RunStarted, jerr)
				}
				return tail, fmt.Errorf("journal line %d: %w", line, jerr)
			}
			if line == 1 && e.Type != RunStarted {
				return tail, fmt.Errorf("journal line 1: not a spotdrill journal (first event is %q, expected %q)", e.Type, RunStarted)
			}
			if e.Type == RunStarted && e.Run != nil && e.Run.SchemaVersion > SchemaVersion {
				return tail, fmt.Errorf("journal schema version %d is newer than this spotdrill reads (%d): upgrade spotdrill", e.Run.SchemaVersion, SchemaVersion)
			}
			tail.Events++
			tail.checkSeq(line, e.Seq, prevSeq)
			prevSeq = e.Seq
			if e.Type == RunEnded {
				tail.Ended = true
			}
			if ferr := fn(&e); ferr != nil {
				return tail, ferr
			}
		}
		if eof {
			if line == 0 {
				return tail, errors.New("journal is empty")
			}
			return tail, nil
		}
	}
}

// ScanFile is Scan over a file by name.
func ScanFile(path string, fn func(*Event) error) (Tail, error) {
	f, err := inputfile.Open(path)
	if err != nil {
		return Tail{}, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return Tail{}, fmt.Errorf("journal %s: is a directory (expected a journal file)", path)
	}
	t, err := Scan(f, fn)
	if err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
