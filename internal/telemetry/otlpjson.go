package telemetry

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

// OTLP/JSON as the protocol specifies it: protobuf's JSON mapping with
// lowerCamelCase keys, except that trace and span IDs are hex strings (not
// base64) and enums are integers. 64-bit integers are written as strings
// and read from strings or numbers.

// appendRequest appends spans as one ExportTraceServiceRequest, grouped by
// resource and instrumentation scope in the order they come.
func appendRequest(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	type group struct {
		res   *resource.Resource
		scope instrumentation.Scope
		spans []sdktrace.ReadOnlySpan
	}
	var groups []*group
	for _, s := range spans {
		var g *group
		for _, x := range groups {
			if x.res == s.Resource() && x.scope == s.InstrumentationScope() {
				g = x
				break
			}
		}
		if g == nil {
			g = &group{res: s.Resource(), scope: s.InstrumentationScope()}
			groups = append(groups, g)
		}
		g.spans = append(g.spans, s)
	}
	b = append(b, `{"resourceSpans":[`...)
	for i := 0; i < len(groups); {
		res := groups[i].res
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"resource":{"attributes":`...)
		b = appendAttributes(b, res.Attributes())
		b = append(b, `},"scopeSpans":[`...)
		first := true
		for ; i < len(groups) && groups[i].res == res; i++ {
			g := groups[i]
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"scope":{"name":`...)
			b = appendJSONString(b, g.scope.Name)
			if g.scope.Version != "" {
				b = append(b, `,"version":`...)
				b = appendJSONString(b, g.scope.Version)
			}
			b = append(b, `},"spans":[`...)
			for j, s := range g.spans {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendSpan(b, s)
			}
			b = append(b, `]}`...)
		}
		if res != nil && res.SchemaURL() != "" {
			b = append(b, `],"schemaUrl":`...)
			b = appendJSONString(b, res.SchemaURL())
			b = append(b, '}')
		} else {
			b = append(b, `]}`...)
		}
	}
	return append(b, `]}`...)
}

func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	b = append(b, `{"traceId":"`...)
	b = appendTraceID(b, sc.TraceID())
	b = append(b, `","spanId":"`...)
	b = appendSpanID(b, sc.SpanID())
	b = append(b, '"')
	if ts := sc.TraceState().String(); ts != "" {
		b = append(b, `,"traceState":`...)
		b = appendJSONString(b, ts)
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		b = append(b, `,"parentSpanId":"`...)
		b = appendSpanID(b, p.SpanID())
		b = append(b, '"')
	}
	b = append(b, `,"name":`...)
	b = appendJSONString(b, s.Name())
	b = append(b, `,"kind":`...)
	b = strconv.AppendInt(b, int64(s.SpanKind()), 10)
	b = appendNanos(b, "startTimeUnixNano", s.StartTime().UnixNano())
	b = appendNanos(b, "endTimeUnixNano", s.EndTime().UnixNano())
	b = append(b, `,"attributes":`...)
	b = appendAttributes(b, s.Attributes())
	b = appendDropped(b, "droppedAttributesCount", s.DroppedAttributes())
	if evs := s.Events(); len(evs) > 0 {
		b = append(b, `,"events":[`...)
		for i, e := range evs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendNanos(b, "timeUnixNano", e.Time.UnixNano())
			b = append(b, `,"name":`...)
			b = appendJSONString(b, e.Name)
			b = append(b, `,"attributes":`...)
			b = appendAttributes(b, e.Attributes)
			b = appendDropped(b, "droppedAttributesCount", e.DroppedAttributeCount)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendDropped(b, "droppedEventsCount", s.DroppedEvents())
	if ls := s.Links(); len(ls) > 0 {
		b = append(b, `,"links":[`...)
		for i, l := range ls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"traceId":"`...)
			b = appendTraceID(b, l.SpanContext.TraceID())
			b = append(b, `","spanId":"`...)
			b = appendSpanID(b, l.SpanContext.SpanID())
			b = append(b, `","attributes":`...)
			b = appendAttributes(b, l.Attributes)
			b = appendDropped(b, "droppedAttributesCount", l.DroppedAttributeCount)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendDropped(b, "droppedLinksCount", s.DroppedLinks())
	if st := s.Status(); st.Code != codes.Unset {
		// OTLP numbers the codes differently from the Go API.
		code := 1 // STATUS_CODE_OK
		if st.Code == codes.Error {
			code = 2
		}
		b = append(b, `,"status":{"code":`...)
		b = strconv.AppendInt(b, int64(code), 10)
		if st.Description != "" {
			b = append(b, `,"message":`...)
			b = appendJSONString(b, st.Description)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendTraceID(b []byte, id trace.TraceID) []byte { return hex.AppendEncode(b, id[:]) }

func appendSpanID(b []byte, id trace.SpanID) []byte { return hex.AppendEncode(b, id[:]) }

// appendNanos writes a 64-bit time as a string, as protobuf's JSON mapping
// does, after a comma unless it opens an object.
func appendNanos(b []byte, key string, ns int64) []byte {
	if len(b) > 0 && b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = strconv.AppendUint(b, uint64(max(ns, 0)), 10)
	return append(b, '"')
}

func appendDropped(b []byte, key string, n int) []byte {
	if n <= 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, int64(n), 10)
}

func appendAttributes(b []byte, attrs []attribute.KeyValue) []byte {
	b = append(b, '[')
	for i, kv := range attrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = appendJSONString(b, string(kv.Key))
		b = append(b, `,"value":`...)
		b = appendValue(b, kv.Value)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return appendBool(b, v.AsBool())
	case attribute.INT64:
		return appendInt(b, v.AsInt64())
	case attribute.FLOAT64:
		return appendDouble(b, v.AsFloat64())
	case attribute.STRING:
		return appendStringValue(b, v.AsString())
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), appendBool)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), appendInt)
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), appendDouble)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), appendStringValue)
	}
	return appendStringValue(b, v.String())
}

func appendArray[T any](b []byte, xs []T, fn func([]byte, T) []byte) []byte {
	b = append(b, `{"arrayValue":{"values":[`...)
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = fn(b, x)
	}
	return append(b, `]}}`...)
}

func appendBool(b []byte, v bool) []byte {
	b = append(b, `{"boolValue":`...)
	b = strconv.AppendBool(b, v)
	return append(b, '}')
}

func appendInt(b []byte, v int64) []byte {
	b = append(b, `{"intValue":"`...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, `"}`...)
}

func appendDouble(b []byte, v float64) []byte {
	b = append(b, `{"doubleValue":`...)
	switch {
	case math.IsNaN(v):
		b = append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		b = append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		b = append(b, `"-Infinity"`...)
	default:
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '}')
}

func appendStringValue(b []byte, v string) []byte {
	b = append(b, `{"stringValue":`...)
	b = appendJSONString(b, v)
	return append(b, '}')
}

// appendJSONString quotes s as JSON, replacing invalid UTF-8 with U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// The JSON decoder reads only what the correlation needs; unknown fields
// are skipped, as the protocol requires.

type jsonRequest struct {
	ResourceSpans []jsonResourceSpans `json:"resourceSpans"`
}

type jsonResourceSpans struct {
	Resource struct {
		Attributes []jsonKeyValue `json:"attributes"`
	} `json:"resource"`
	ScopeSpans []struct {
		Spans []jsonSpan `json:"spans"`
	} `json:"scopeSpans"`
}

type jsonSpan struct {
	TraceID           string         `json:"traceId"`
	SpanID            string         `json:"spanId"`
	ParentSpanID      string         `json:"parentSpanId"`
	Name              string         `json:"name"`
	StartTimeUnixNano jsonUint64     `json:"startTimeUnixNano"`
	EndTimeUnixNano   jsonUint64     `json:"endTimeUnixNano"`
	Attributes        []jsonKeyValue `json:"attributes"`
	Events            []struct {
		TimeUnixNano jsonUint64     `json:"timeUnixNano"`
		Name         string         `json:"name"`
		Attributes   []jsonKeyValue `json:"attributes"`
	} `json:"events"`
	Links []struct {
		TraceID    string         `json:"traceId"`
		SpanID     string         `json:"spanId"`
		Attributes []jsonKeyValue `json:"attributes"`
	} `json:"links"`
}

type jsonKeyValue struct {
	Key   string       `json:"key"`
	Value jsonAnyValue `json:"value"`
}

type jsonAnyValue struct {
	StringValue *string     `json:"stringValue"`
	BoolValue   *bool       `json:"boolValue"`
	IntValue    *jsonInt64  `json:"intValue"`
	DoubleValue *jsonDouble `json:"doubleValue"`
}

func (v jsonAnyValue) value() attrValue {
	switch {
	case v.StringValue != nil:
		return attrValue{s: *v.StringValue}
	case v.IntValue != nil:
		return attrValue{i: int64(*v.IntValue), isInt: true}
	case v.DoubleValue != nil:
		return attrValue{f: float64(*v.DoubleValue), isF: true}
	case v.BoolValue != nil && *v.BoolValue:
		return attrValue{i: 1, isInt: true}
	case v.BoolValue != nil:
		return attrValue{isInt: true}
	}
	return attrValue{}
}

// jsonUint64 reads a 64-bit unsigned integer from a string or a number.
type jsonUint64 uint64

func (u *jsonUint64) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseUint(string(unquote(b)), 10, 64)
	if err != nil {
		return malformed("integer %s: %v", b, err)
	}
	*u = jsonUint64(v)
	return nil
}

// jsonInt64 reads a 64-bit integer from a string or a number.
type jsonInt64 int64

func (i *jsonInt64) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(string(unquote(b)), 10, 64)
	if err != nil {
		return malformed("integer %s: %v", b, err)
	}
	*i = jsonInt64(v)
	return nil
}

// jsonDouble reads a double from a number or from "NaN", "Infinity",
// "-Infinity" or a number in a string.
type jsonDouble float64

func (d *jsonDouble) UnmarshalJSON(b []byte) error {
	s := string(unquote(b))
	switch s {
	case "NaN":
		*d = jsonDouble(math.NaN())
		return nil
	case "Infinity":
		*d = jsonDouble(math.Inf(1))
		return nil
	case "-Infinity":
		*d = jsonDouble(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return malformed("number %s: %v", b, err)
	}
	*d = jsonDouble(v)
	return nil
}

func unquote(b []byte) []byte {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
}

// decodeJSON reads an OTLP/JSON ExportTraceServiceRequest and calls fn
// with each workload span.
func decodeJSON(body []byte, st *decodeState, fn func(*signal)) (batchStats, error) {
	var bs batchStats
	var req jsonRequest
	// encoding/json would turn bad bytes into U+FFFD without a word.
	if !utf8.Valid(body) {
		return bs, malformed("the request is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return bs, malformed("%v", err)
	}
	if dec.More() {
		return bs, malformed("data after the request")
	}
	for _, rs := range req.ResourceSpans {
		var res signal
		for _, kv := range rs.Resource.Attributes {
			if k := keyOf(kv.Key); k == keyHost || k == keyResourceID {
				res.attr(k, kv.Value.value(), &st.hosts)
			}
		}
		for _, ss := range rs.ScopeSpans {
			for i := range ss.Spans {
				bs.spans++
				s := &st.sig
				s.reset()
				s.host, s.resource = res.host, res.resource
				isMark, err := jsonSpanSignal(&ss.Spans[i], s, &st.hosts)
				if err != nil {
					return bs, err
				}
				if !s.finish(isMark) {
					bs.ignored++
					continue
				}
				fn(s)
			}
		}
	}
	return bs, nil
}

func jsonSpanSignal(sp *jsonSpan, s *signal, hosts *interner) (bool, error) {
	if err := hexID(s.trace[:], sp.TraceID, "traceId"); err != nil {
		return false, err
	}
	if err := hexID(s.span[:], sp.SpanID, "spanId"); err != nil {
		return false, err
	}
	var parent trace.SpanID
	if err := hexID(parent[:], sp.ParentSpanID, "parentSpanId"); err != nil {
		return false, err
	}
	for _, kv := range sp.Attributes {
		if k := keyOf(kv.Key); k != keyNone {
			s.attr(k, kv.Value.value(), hosts)
		}
	}
	s.start, s.end = clampNano(uint64(sp.StartTimeUnixNano)), clampNano(uint64(sp.EndTimeUnixNano))
	for _, e := range sp.Events {
		p, has := 0.0, false
		for _, kv := range e.Attributes {
			if keyOf(kv.Key) == keyCkptProgress {
				p, has = kv.Value.value().float(), true
			}
		}
		s.event(e.Name, clampNano(uint64(e.TimeUnixNano)), p, has)
	}
	prevSet := false
	for _, l := range sp.Links {
		var tid trace.TraceID
		var sid trace.SpanID
		if err := hexID(tid[:], l.TraceID, "link traceId"); err != nil {
			return false, err
		}
		if err := hexID(sid[:], l.SpanID, "link spanId"); err != nil {
			return false, err
		}
		previous := false
		for _, kv := range l.Attributes {
			if keyOf(kv.Key) == keyLink {
				previous = kv.Value.value().str() == spotwork.LinkPreviousAttempt
			}
		}
		if previous || !prevSet {
			s.prevTrace, s.prevSpan, prevSet = tid, sid, previous
		}
	}
	isMark := sp.Name == spotwork.SpanMark
	if isMark || s.mark != "" {
		s.span = parent
	}
	return isMark, nil
}

// hexID decodes a hex ID of the exact size; empty leaves it zero.
func hexID(dst []byte, s, what string) error {
	if s == "" {
		return nil
	}
	if len(s) != 2*len(dst) {
		return malformed("%s %q is not %d hex digits", what, s, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return malformed("%s %q: %v", what, s, err)
	}
	return nil
}
