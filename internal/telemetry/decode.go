package telemetry

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

// The receiver decodes OTLP requests itself rather than through the
// generated types: it reads a handful of fields of each span and copies
// nothing else, which makes it several times faster than proto.Unmarshal and
// allocation-free but for the strings it keeps. The fuzz test checks it
// against proto.Unmarshal.

// Field numbers of the OTLP trace protocol (opentelemetry/proto/trace/v1).
const (
	fRequestResourceSpans = 1 // ExportTraceServiceRequest

	fResourceSpansResource = 1 // ResourceSpans
	fResourceSpansScope    = 2

	fResourceAttributes = 1 // Resource

	fScopeSpansSpans = 2 // ScopeSpans

	fSpanTraceID    = 1 // Span
	fSpanSpanID     = 2
	fSpanParentID   = 4
	fSpanName       = 5
	fSpanStart      = 7
	fSpanEnd        = 8
	fSpanAttributes = 9
	fSpanEvents     = 11
	fSpanLinks      = 13

	fEventTime       = 1 // Span.Event
	fEventName       = 2
	fEventAttributes = 3

	fLinkTraceID    = 1 // Span.Link
	fLinkSpanID     = 2
	fLinkAttributes = 4

	fKeyValueKey   = 1 // KeyValue
	fKeyValueValue = 2

	fAnyString = 1 // AnyValue
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
)

// errMalformed wraps every decoding error: the request is the client's
// fault (HTTP 400).
var errMalformed = errors.New("malformed OTLP request")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// decodeState is reused across requests by one decoder.
type decodeState struct {
	sig   signal
	hosts interner
}

// batchStats counts what a request held.
type batchStats struct {
	spans, ignored int
}

// decodeProto walks an ExportTraceServiceRequest and calls fn with each
// workload span; spans without the conventions are counted, not passed.
func decodeProto(b []byte, st *decodeState, fn func(*signal)) (batchStats, error) {
	var bs batchStats
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fRequestResourceSpans || typ != protowire.BytesType {
			return nil
		}
		return decodeResourceSpans(v, st, &bs, fn)
	})
	return bs, err
}

// eachField calls fn with each field of a message: v is the payload of a
// length-delimited field, u the value of a varint or fixed-size one. Fields
// of a type other than expected are skipped by the callers, as unknown
// fields, which is what proto.Unmarshal does with them.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed("%v", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var u uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			u, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var u32 uint32
			u32, n = protowire.ConsumeFixed32(b)
			u = uint64(u32)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return malformed("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, u); err != nil {
			return err
		}
	}
	return nil
}

func decodeResourceSpans(b []byte, st *decodeState, bs *batchStats, fn func(*signal)) error {
	// The resource may come after its spans on the wire: read it first.
	var res signal
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fResourceSpansResource || typ != protowire.BytesType {
			return nil
		}
		return eachField(v, func(num protowire.Number, typ protowire.Type, kv []byte, _ uint64) error {
			if num != fResourceAttributes || typ != protowire.BytesType {
				return nil
			}
			k, val, err := decodeKeyValue(kv)
			if err != nil {
				return err
			}
			if k == keyHost || k == keyResourceID {
				if !utf8.Valid(val.raw()) {
					return malformed("resource attribute %d is not UTF-8", k)
				}
				res.attr(k, val, &st.hosts)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fResourceSpansScope || typ != protowire.BytesType {
			return nil
		}
		return eachField(v, func(num protowire.Number, typ protowire.Type, sp []byte, _ uint64) error {
			if num != fScopeSpansSpans || typ != protowire.BytesType {
				return nil
			}
			bs.spans++
			s := &st.sig
			s.reset()
			s.host, s.resource = res.host, res.resource
			isMark, err := decodeSpan(sp, s, &st.hosts)
			if err != nil {
				return err
			}
			if !s.finish(isMark) {
				bs.ignored++
				return nil
			}
			fn(s)
			return nil
		})
	})
}

// decodeSpan reads one span into s; it reports whether the span is a marker.
func decodeSpan(b []byte, s *signal, hosts *interner) (bool, error) {
	var isMark, prevSet bool
	var parent trace.SpanID
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch {
		case typ == protowire.Fixed64Type:
			switch num {
			case fSpanStart:
				s.start = clampNano(u)
			case fSpanEnd:
				s.end = clampNano(u)
			}
		case typ != protowire.BytesType:
		case num == fSpanTraceID:
			return readID(s.trace[:], v, "trace_id")
		case num == fSpanSpanID:
			return readID(s.span[:], v, "span_id")
		case num == fSpanParentID:
			return readID(parent[:], v, "parent_span_id")
		case num == fSpanName:
			if !utf8.Valid(v) {
				return malformed("span name is not UTF-8")
			}
			isMark = string(v) == spotwork.SpanMark
		case num == fSpanAttributes:
			k, val, err := decodeKeyValue(v)
			if err != nil || k == keyNone {
				return err
			}
			if (k == keyJob || k == keyHost || k == keyResourceID) && !utf8.Valid(val.raw()) {
				return malformed("span attribute %d is not UTF-8", k)
			}
			s.attr(k, val, hosts)
		case num == fSpanEvents:
			return decodeEvent(v, s)
		case num == fSpanLinks:
			return decodeLink(v, s, &prevSet)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if isMark || s.mark != "" {
		s.span = parent
	}
	return isMark, nil
}

// clampNano keeps a Unix nanosecond time in int64.
func clampNano(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// readID copies an ID of the exact size, or leaves it zero when empty.
func readID(dst, v []byte, what string) error {
	switch len(v) {
	case 0:
		clear(dst) // the last occurrence wins, even an empty one
		return nil
	case len(dst):
		copy(dst, v)
		return nil
	}
	return malformed("%s has %d bytes, not %d", what, len(v), len(dst))
}

func decodeEvent(b []byte, s *signal) error {
	var t int64
	var name []byte
	var progress float64
	var hasProgress bool
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch {
		case num == fEventTime && typ == protowire.Fixed64Type:
			t = clampNano(u)
		case num == fEventName && typ == protowire.BytesType:
			name = v
		case num == fEventAttributes && typ == protowire.BytesType:
			k, val, err := decodeKeyValue(v)
			if err == nil && k == keyCkptProgress {
				progress, hasProgress = val.float(), true
			}
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.event(eventName(name), t, progress, hasProgress)
	return nil
}

// eventName returns the conventions' event names without allocating.
func eventName(b []byte) string {
	switch string(b) {
	case spotwork.EventCheckpoint:
		return spotwork.EventCheckpoint
	case spotwork.EventPreemptNotice:
		return spotwork.EventPreemptNotice
	case spotwork.EventDrainStart:
		return spotwork.EventDrainStart
	case spotwork.EventDrainEnd:
		return spotwork.EventDrainEnd
	}
	return ""
}

func decodeLink(b []byte, s *signal, prevSet *bool) error {
	var tid trace.TraceID
	var sid trace.SpanID
	previous := false
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == fLinkTraceID && typ == protowire.BytesType:
			return readID(tid[:], v, "link trace_id")
		case num == fLinkSpanID && typ == protowire.BytesType:
			return readID(sid[:], v, "link span_id")
		case num == fLinkAttributes && typ == protowire.BytesType:
			k, val, err := decodeKeyValue(v)
			if err == nil && k == keyLink {
				previous = string(val.raw()) == spotwork.LinkPreviousAttempt
			}
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if previous || !*prevSet {
		s.prevTrace, s.prevSpan = tid, sid
		*prevSet = previous
	}
	return nil
}

// decodeKeyValue reads a KeyValue; the value is decoded only when the key
// is one the correlation reads.
func decodeKeyValue(b []byte) (attrKey, attrValue, error) {
	var k attrKey
	var raw []byte
	hasValue := false
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == fKeyValueKey && typ == protowire.BytesType:
			k = keyOf(string(v))
		case num == fKeyValueValue && typ == protowire.BytesType:
			raw, hasValue = v, true
		}
		return nil
	})
	if err != nil || k == keyNone || !hasValue {
		return k, attrValue{}, err
	}
	v, err := decodeAnyValue(raw)
	return k, v, err
}

// decodeAnyValue reads the scalar kinds of an AnyValue; arrays, maps and
// bytes read as empty, since no convention uses them. Of several values the
// last wins, as in protobuf.
func decodeAnyValue(b []byte) (attrValue, error) {
	var out attrValue
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch {
		case num == fAnyString && typ == protowire.BytesType:
			if v == nil {
				v = []byte{}
			}
			out = attrValue{b: v}
		case (num == fAnyInt || num == fAnyBool) && typ == protowire.VarintType:
			out = attrValue{i: int64(u), isInt: true}
		case num == fAnyDouble && typ == protowire.Fixed64Type:
			out = attrValue{f: math.Float64frombits(u), isF: true}
		case num >= 5 && num <= 8:
			// An array, a map, bytes or a dictionary index: the oneof's
			// other members, none of which a convention uses.
			out = attrValue{}
		}
		return nil
	})
	return out, err
}
