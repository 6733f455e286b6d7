package journal

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the event as one JSON object, the same bytes
// encoding/json would produce for it with HTML escaping off, without
// reflection: a large run writes millions of events. The rare, nested
// payloads still go through encoding/json.
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"t":`...)
	var err error
	if b, err = appendFloat(b, e.T); err != nil {
		return b, err
	}
	b = append(b, `,"type":`...)
	b = appendQuoted(b, string(e.Type))
	b = appendStr(b, "wave", e.Wave)
	b = appendStr(b, "vm", e.VM)
	b = appendStr(b, "pool", e.Pool)
	b = appendStr(b, "zone", e.Zone)
	b = appendStr(b, "job", e.Job)
	b = appendStr(b, "cause", e.Cause)
	b = appendStr(b, "reason", e.Reason)
	b = appendStr(b, "code", e.Code)
	b = appendStr(b, "policy", e.Policy)
	for _, f := range [...]struct {
		name string
		v    *float64
	}{{"at", e.At}, {"submitted", e.Submitted}} {
		if f.v != nil {
			b = append(b, `,"`...)
			b = append(b, f.name...)
			b = append(b, `":`...)
			if b, err = appendFloat(b, *f.v); err != nil {
				return b, err
			}
		}
	}
	b = appendInt(b, "attempt", e.Attempt)
	if b, err = appendNumber(b, "lost", e.Lost); err != nil {
		return b, err
	}
	b = appendBool(b, "checkpointLost", e.CheckpointLost)
	b = appendBool(b, "released", e.Released)
	b = appendBool(b, "drainLate", e.DrainLate)
	b = appendBool(b, "fallback", e.Fallback)
	b = appendBool(b, "duplicate", e.Duplicate)
	b = appendStr(b, "replaces", e.Replaces)
	b = appendStr(b, "priority", e.Priority)
	if b, err = appendNumber(b, "price", e.Price); err != nil {
		return b, err
	}
	b = appendInt(b, "count", e.Count)
	if b, err = appendNumber(b, "value", e.Value); err != nil {
		return b, err
	}
	b = appendStr(b, "status", e.Status)
	b = appendStr(b, "traceId", e.TraceID)
	b = appendStr(b, "spanId", e.SpanID)
	for _, p := range [...]struct {
		name string
		v    any
		set  bool
	}{
		{"run", e.Run, e.Run != nil}, {"plan", e.Plan, e.Plan != nil}, {"fault", e.Fault, e.Fault != nil},
		{"sample", e.Sample, e.Sample != nil},
	} {
		if !p.set {
			continue
		}
		raw, err := json.Marshal(p.v)
		if err != nil {
			return b, fmt.Errorf("journal: encode %s: %w", p.name, err)
		}
		b = append(b, `,"`...)
		b = append(b, p.name...)
		b = append(b, `":`...)
		b = append(b, raw...)
	}
	if e.Summary != nil {
		if b, err = e.Summary.appendJSON(append(b, `,"summary":`...)); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendJSON writes the summary without encoding/json, which would scan and
// copy its millions of values once more after Values.MarshalJSON.
func (s *Summary) appendJSON(b []byte) ([]byte, error) {
	// Most values print in under 12 bytes: grow once, not by doubling.
	b = slices.Grow(b, 256+12*(len(s.Turnaround)+len(s.Wait)))
	for i, f := range [...]struct {
		name string
		v    int
	}{
		{"submitted", s.Submitted}, {"completed", s.Completed}, {"completedOnSpot", s.CompletedOnSpot},
		{"failed", s.Failed}, {"duplicates", s.Duplicates}, {"unfinished", s.Unfinished},
	} {
		if i == 0 {
			b = append(b, `{"`...)
		} else {
			b = append(b, `,"`...)
		}
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, int64(f.v), 10)
	}
	b = append(b, `,"compute":`...)
	var err error
	if b, err = appendFloat(b, s.Compute); err != nil {
		return b, err
	}
	for _, f := range [...]struct {
		name string
		v    Values
	}{{"turnaround", s.Turnaround}, {"wait", s.Wait}} {
		if len(f.v) == 0 {
			continue
		}
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		if b, err = f.v.appendJSON(b); err != nil {
			return b, err
		}
	}
	if s.More {
		b = append(b, `,"more":true`...)
	}
	return append(b, '}'), nil
}

func appendFloat(b []byte, x float64) ([]byte, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return b, fmt.Errorf("journal: %v is not a number JSON can hold", x)
	}
	// encoding/json switches to exponent form outside [1e-6, 1e21).
	abs := math.Abs(x)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		raw, _ := json.Marshal(x)
		return append(b, raw...), nil
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64), nil
}

// appendNumber writes a non-zero float field, as omitempty does.
func appendNumber(b []byte, name string, v float64) ([]byte, error) {
	if v == 0 {
		return b, nil
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendFloat(b, v)
}

// appendInt writes a non-zero integer field, as omitempty does.
func appendInt(b []byte, name string, v int) []byte {
	if v == 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, int64(v), 10)
}

func appendBool(b []byte, name string, v bool) []byte {
	if !v {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	return append(b, `":true`...)
}

// appendStr writes a non-empty string field with JSON escaping.
func appendStr(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendQuoted(b, v)
}

const hexDigits = "0123456789abcdef"

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
