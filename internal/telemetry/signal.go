package telemetry

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

// signalKind says what a workload span tells the correlator.
type signalKind uint8

const (
	// kindAttempt is a whole attempt span, ended.
	kindAttempt signalKind = iota
	// kindStarted is an attempt known to have started: a start marker, or
	// an in-process span as it starts.
	kindStarted
	// kindMark is a marker of a running attempt: checkpoint, notice, drain.
	kindMark
)

// signal is one workload span reduced to what correlation needs. The
// receiver and the in-process span processor both produce it, so that real
// and simulated workers go through the same correlation code. Times are Unix
// nanoseconds; zero means absent.
type signal struct {
	kind    signalKind
	trace   trace.TraceID
	span    trace.SpanID // the attempt's span (a marker's parent)
	job     string
	attempt int
	// host is host.name; resource cloud.resource_id. The correlator
	// resolves them to the VM as the journal names it.
	host     string
	resource string

	start, end int64
	outcome    spotwork.Outcome
	mark       string // for kindMark

	notice, drainStart, drainEnd int64
	// lastCkpt is the latest checkpoint; ckptProgress its progress.
	lastCkpt     int64
	ckptProgress float64
	hasCkptProg  bool
	// progress is the work restored when the attempt started, and
	// restoredAt when that checkpoint was taken.
	progress   float64
	restoredAt int64
	local      bool

	prevTrace trace.TraceID
	prevSpan  trace.SpanID
}

func (s *signal) reset() { *s = signal{} }

// attrKey is an attribute key the correlation reads.
type attrKey uint8

const (
	keyNone attrKey = iota
	keyJob
	keyAttempt
	keyHost
	keyResourceID
	keyOutcome
	keyProgress
	keyStorage
	keyMark
	keyCkptProgress
	keyLink
	keyRestoredAt
)

// keyOf names an attribute key. A switch on string(b) does not allocate, so
// the protobuf decoder calls it with its raw bytes.
func keyOf(k string) attrKey {
	switch k {
	case spotwork.AttrJobID:
		return keyJob
	case spotwork.AttrAttempt:
		return keyAttempt
	case spotwork.AttrHostName:
		return keyHost
	case spotwork.AttrResourceID:
		return keyResourceID
	case spotwork.AttrOutcome:
		return keyOutcome
	case spotwork.AttrProgress:
		return keyProgress
	case spotwork.AttrStorage:
		return keyStorage
	case spotwork.AttrMark:
		return keyMark
	case spotwork.AttrCheckpointProgress:
		return keyCkptProgress
	case spotwork.AttrLink:
		return keyLink
	case spotwork.AttrRestoredAt:
		return keyRestoredAt
	}
	return keyNone
}

// attr applies one span attribute.
func (s *signal) attr(k attrKey, v attrValue, hosts *interner) {
	switch k {
	case keyJob:
		s.job = v.str()
	case keyAttempt:
		s.attempt = int(v.integer())
	case keyHost:
		s.host = hosts.intern(v)
	case keyResourceID:
		s.resource = hosts.intern(v)
	case keyOutcome:
		s.outcome = outcomeOf(v.raw())
	case keyProgress:
		s.progress = v.float()
	case keyStorage:
		s.local = string(v.raw()) == spotwork.StorageLocal
	case keyMark:
		s.mark = markOf(v.raw())
	case keyCkptProgress:
		s.ckptProgress, s.hasCkptProg = v.float(), true
	case keyRestoredAt:
		if t, err := time.Parse(time.RFC3339Nano, string(v.raw())); err == nil {
			s.restoredAt = t.UnixNano()
		}
	}
}

// outcomeOf and markOf return the package's constants, so that decoding
// them allocates nothing.
func outcomeOf(b []byte) spotwork.Outcome {
	switch o := spotwork.Outcome(b); o {
	case spotwork.OutcomeCompleted, spotwork.OutcomeReleased, spotwork.OutcomeFailed, spotwork.OutcomeKilled:
		return o
	case "":
		return ""
	}
	return "other"
}

func markOf(b []byte) string {
	switch string(b) {
	case spotwork.MarkStart:
		return spotwork.MarkStart
	case spotwork.EventCheckpoint:
		return spotwork.EventCheckpoint
	case spotwork.EventPreemptNotice:
		return spotwork.EventPreemptNotice
	case spotwork.EventDrainStart:
		return spotwork.EventDrainStart
	case "":
		return ""
	}
	return "other"
}

// interner shares the strings of hosts, which repeat in every span of a
// batch. A nil interner allocates every time.
type interner struct{ m map[string]string }

func (in *interner) intern(v attrValue) string {
	if v.b == nil || in == nil {
		return v.str()
	}
	if s, ok := in.m[string(v.b)]; ok {
		return s
	}
	s := string(v.b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < 4096 {
		in.m[s] = s
	}
	return s
}

// event applies one span event.
func (s *signal) event(name string, t int64, progress float64, hasProgress bool) {
	switch name {
	case spotwork.EventCheckpoint:
		if t >= s.lastCkpt {
			s.lastCkpt = t
			if hasProgress {
				s.ckptProgress, s.hasCkptProg = progress, true
			}
		}
	case spotwork.EventPreemptNotice:
		if s.notice == 0 || t < s.notice {
			s.notice = t
		}
	case spotwork.EventDrainStart:
		if s.drainStart == 0 || t < s.drainStart {
			s.drainStart = t
		}
	case spotwork.EventDrainEnd:
		s.drainEnd = max(s.drainEnd, t)
	}
}

// finish turns a span whose attributes are all read into its kind; false
// when it follows no convention (no job ID).
func (s *signal) finish(isMarkSpan bool) bool {
	if s.job == "" {
		return false
	}
	switch {
	case s.mark == spotwork.MarkStart:
		s.kind = kindStarted
	case s.mark != "" || isMarkSpan:
		s.kind = kindMark
		s.applyMark()
	default:
		s.kind = kindAttempt
	}
	return true
}

// applyMark moves a marker's instant into the field it stands for.
func (s *signal) applyMark() {
	switch s.mark {
	case spotwork.EventCheckpoint:
		s.lastCkpt = s.start
	case spotwork.EventPreemptNotice:
		s.notice = s.start
	case spotwork.EventDrainStart:
		s.drainStart = s.start
	}
}

// attrValue is an attribute value from either source, read as the
// conventions need it: a string (SDK) or the raw bytes of one (protobuf),
// an integer or a float.
type attrValue struct {
	s     string
	b     []byte
	i     int64
	f     float64
	isInt bool
	isF   bool
}

// raw is the value's text without converting bytes to a string.
func (v attrValue) raw() []byte {
	if v.b != nil {
		return v.b
	}
	return []byte(v.s)
}

func (v attrValue) str() string {
	switch {
	case v.isInt:
		return strconv.FormatInt(v.i, 10)
	case v.isF:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case v.b != nil:
		return string(v.b)
	}
	return v.s
}

func (v attrValue) integer() int64 {
	switch {
	case v.isInt:
		return v.i
	case v.isF:
		return int64(v.f)
	}
	n, _ := strconv.ParseInt(string(v.raw()), 10, 64)
	return n
}

func (v attrValue) float() float64 {
	switch {
	case v.isF:
		return v.f
	case v.isInt:
		return float64(v.i)
	}
	f, _ := strconv.ParseFloat(string(v.raw()), 64)
	return f
}

func valueOf(v attribute.Value) attrValue {
	switch v.Type() {
	case attribute.INT64:
		return attrValue{i: v.AsInt64(), isInt: true}
	case attribute.FLOAT64:
		return attrValue{f: v.AsFloat64(), isF: true}
	case attribute.STRING:
		return attrValue{s: v.AsString()}
	}
	return attrValue{s: v.String()}
}

// fromSDK reads an SDK span into s; false when it is not a workload span.
func fromSDK(sp sdktrace.ReadOnlySpan, s *signal, started bool) bool {
	s.reset()
	if set := sp.Resource().Set(); set.Len() > 0 {
		// Look the two keys up rather than copy every attribute.
		if v, ok := set.Value(spotwork.AttrResourceID); ok {
			s.attr(keyResourceID, valueOf(v), nil)
		}
		if v, ok := set.Value(spotwork.AttrHostName); ok {
			s.attr(keyHost, valueOf(v), nil)
		}
	}
	for _, kv := range sp.Attributes() {
		if k := keyOf(string(kv.Key)); k != keyNone {
			s.attr(k, valueOf(kv.Value), nil)
		}
	}
	if s.job == "" {
		return false
	}
	sc := sp.SpanContext()
	s.trace, s.span = sc.TraceID(), sc.SpanID()
	s.start = sp.StartTime().UnixNano()
	isMark := sp.Name() == spotwork.SpanMark
	if isMark || s.mark != "" {
		s.span = sp.Parent().SpanID()
	}
	for _, l := range sp.Links() {
		if linkIsPrevious(l.Attributes) || !s.prevSpan.IsValid() {
			s.prevTrace, s.prevSpan = l.SpanContext.TraceID(), l.SpanContext.SpanID()
		}
	}
	if started {
		s.kind = kindStarted
		return true
	}
	s.end = sp.EndTime().UnixNano()
	for _, e := range sp.Events() {
		p, has := 0.0, false
		for _, kv := range e.Attributes {
			if kv.Key == spotwork.AttrCheckpointProgress {
				p, has = valueOf(kv.Value).float(), true
			}
		}
		s.event(e.Name, e.Time.UnixNano(), p, has)
	}
	return s.finish(isMark)
}

func linkIsPrevious(attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if kv.Key == spotwork.AttrLink {
			return kv.Value.AsString() == spotwork.LinkPreviousAttempt
		}
	}
	return false
}

// processor feeds in-process workload spans to a correlator: the simulated
// workers' spans take the same road as real workers' spans.
type processor struct{ c *Correlator }

var _ sdktrace.SpanProcessor = processor{}

func (p processor) OnStart(_ context.Context, sp sdktrace.ReadWriteSpan) {
	if sp.Name() != spotwork.SpanAttempt {
		return
	}
	var s signal
	if fromSDK(sp, &s, true) {
		p.c.observe(&s)
	}
}

func (p processor) OnEnd(sp sdktrace.ReadOnlySpan) {
	var s signal
	if fromSDK(sp, &s, false) {
		p.c.observe(&s)
	}
}

func (processor) Shutdown(context.Context) error   { return nil }
func (processor) ForceFlush(context.Context) error { return nil }
