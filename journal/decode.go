package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeEvent decodes one journal line into e, as json.Unmarshal(b, e)
// would: the same events from the same bytes, an error for the same
// inputs, keys matched case-insensitively when no key matches exactly, and
// unknown fields skipped (but checked) so that a journal from a newer
// spotdrill still reads. It exists for speed: json.Unmarshal spends most of
// its time in reflection, and a large run's journal holds millions of
// events. The flat fields, the samples and the workload summary's long
// lists are decoded by hand; the rare run, plan and fault payloads go
// through encoding/json.
//
// Like json.Unmarshal, DecodeEvent decodes into e as it stands: a caller
// decoding many lines passes a zeroed Event for each.
func DecodeEvent(b []byte, e *Event) error {
	d := decoder{b: b}
	d.skipSpace()
	if d.peek() == 'n' {
		// A JSON null leaves the event as it was, as it does for
		// json.Unmarshal.
		if err := d.literal("null"); err != nil {
			return err
		}
	} else if err := d.event(e); err != nil {
		return err
	}
	d.skipSpace()
	if d.i < len(d.b) {
		return d.errorf("invalid character %s after top-level value", quoteChar(d.b[d.i]))
	}
	return nil
}

// maxDepth is encoding/json's limit on nested arrays and objects.
const maxDepth = 10000

// decoder reads one JSON value from b; i is the read position.
type decoder struct {
	b []byte
	i int
	// scratch holds a key that needed unescaping.
	scratch []byte
}

// syntaxError is a malformed line, with the byte offset where it went
// wrong, like encoding/json's SyntaxError.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s (at byte %d)", e.msg, e.offset) }

func (d *decoder) errorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), offset: d.i}
}

// fieldError is a well-formed value of the wrong type for its field.
func (d *decoder) fieldError(field, want string) error {
	return d.errorf("field %s: expected %s", field, want)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(c))
	return "'" + s[1:len(s)-1] + "'"
}

func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) skipSpace() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// unexpected reports the byte at the read position, or the end of input.
func (d *decoder) unexpected(context string) error {
	if d.i >= len(d.b) {
		return d.errorf("unexpected end of JSON input")
	}
	return d.errorf("invalid character %s %s", quoteChar(d.b[d.i]), context)
}

func (d *decoder) literal(lit string) error {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return nil
	}
	// Find the first byte that differs, for the message.
	for k := 0; k < len(lit); k++ {
		if d.i >= len(d.b) || d.b[d.i] != lit[k] {
			return d.unexpected("in literal " + lit)
		}
		d.i++
	}
	return nil
}

// isNull consumes a null if one comes next.
func (d *decoder) isNull() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	return true, d.literal("null")
}

// objectStart consumes '{' and reports whether the object is empty.
func (d *decoder) objectStart() (empty bool, err error) {
	if d.peek() != '{' {
		return false, d.unexpected("looking for beginning of object")
	}
	d.i++
	d.skipSpace()
	if d.peek() == '}' {
		d.i++
		return true, nil
	}
	return false, nil
}

// key reads `"name":` and returns the name, unescaped; it may point into
// the input or into the decoder's scratch space, valid until the next key.
func (d *decoder) key() ([]byte, error) {
	d.skipSpace()
	if d.peek() != '"' {
		return nil, d.unexpected("looking for beginning of object key string")
	}
	start := d.i + 1
	j := start
	for j < len(d.b) && d.b[j] != '"' && d.b[j] != '\\' && d.b[j] >= 0x20 && d.b[j] < utf8.RuneSelf {
		j++
	}
	var k []byte
	if j < len(d.b) && d.b[j] == '"' {
		k = d.b[start:j]
		d.i = j + 1
	} else {
		var err error
		d.scratch, err = d.appendString(d.scratch[:0])
		if err != nil {
			return nil, err
		}
		k = d.scratch
	}
	d.skipSpace()
	if d.peek() != ':' {
		return nil, d.unexpected("after object key")
	}
	d.i++
	d.skipSpace()
	return k, nil
}

// next moves past the value just read to the next key: true for another
// key, false at the end of the object.
func (d *decoder) next() (bool, error) {
	d.skipSpace()
	switch d.peek() {
	case ',':
		d.i++
		return true, nil
	case '}':
		d.i++
		return false, nil
	}
	return false, d.unexpected("after object key:value pair")
}

// fold finds the field a key names when no field matches it exactly:
// encoding/json then accepts a case-insensitive match (bytes.EqualFold).
func fold(k []byte, names []string) string {
	for _, n := range names {
		if bytes.EqualFold(k, []byte(n)) {
			return n
		}
	}
	return ""
}

var eventFields = []string{
	"seq", "t", "type", "wave", "vm", "pool", "zone", "job", "cause", "reason", "code", "policy",
	"at", "submitted", "attempt", "lost", "checkpointLost", "released", "drainLate", "fallback",
	"duplicate", "replaces", "priority", "price", "count", "value", "status", "traceId", "spanId",
	"run", "plan", "fault", "sample", "summary",
}

func (d *decoder) event(e *Event) error {
	empty, err := d.objectStart()
	if err != nil || empty {
		return err
	}
	for {
		k, err := d.key()
		if err != nil {
			return err
		}
		if err := d.eventField(e, k); err != nil {
			return err
		}
		more, err := d.next()
		if err != nil || !more {
			return err
		}
	}
}

func (d *decoder) eventField(e *Event, k []byte) error {
	var err error
	switch string(k) { // compared without allocating
	case "seq":
		err = d.int64Field("seq", &e.Seq)
	case "t":
		err = d.floatField("t", &e.T)
	case "type":
		var s string
		if s, err = d.stringOr("type", string(e.Type)); err == nil {
			e.Type = Type(s)
		}
	case "wave":
		e.Wave, err = d.stringOr("wave", e.Wave)
	case "vm":
		e.VM, err = d.stringOr("vm", e.VM)
	case "pool":
		e.Pool, err = d.stringOr("pool", e.Pool)
	case "zone":
		e.Zone, err = d.stringOr("zone", e.Zone)
	case "job":
		e.Job, err = d.stringOr("job", e.Job)
	case "cause":
		e.Cause, err = d.stringOr("cause", e.Cause)
	case "reason":
		e.Reason, err = d.stringOr("reason", e.Reason)
	case "code":
		e.Code, err = d.stringOr("code", e.Code)
	case "policy":
		e.Policy, err = d.stringOr("policy", e.Policy)
	case "at":
		err = d.floatPtrField("at", &e.At)
	case "submitted":
		err = d.floatPtrField("submitted", &e.Submitted)
	case "attempt":
		err = d.intField("attempt", &e.Attempt)
	case "lost":
		err = d.floatField("lost", &e.Lost)
	case "checkpointLost":
		err = d.boolField("checkpointLost", &e.CheckpointLost)
	case "released":
		err = d.boolField("released", &e.Released)
	case "drainLate":
		err = d.boolField("drainLate", &e.DrainLate)
	case "fallback":
		err = d.boolField("fallback", &e.Fallback)
	case "duplicate":
		err = d.boolField("duplicate", &e.Duplicate)
	case "replaces":
		e.Replaces, err = d.stringOr("replaces", e.Replaces)
	case "priority":
		e.Priority, err = d.stringOr("priority", e.Priority)
	case "price":
		err = d.floatField("price", &e.Price)
	case "count":
		err = d.intField("count", &e.Count)
	case "value":
		err = d.floatField("value", &e.Value)
	case "status":
		e.Status, err = d.stringOr("status", e.Status)
	case "traceId":
		e.TraceID, err = d.stringOr("traceId", e.TraceID)
	case "spanId":
		e.SpanID, err = d.stringOr("spanId", e.SpanID)
	case "run":
		err = d.viaJSON("run", &e.Run)
	case "plan":
		err = d.viaJSON("plan", &e.Plan)
	case "fault":
		err = d.viaJSON("fault", &e.Fault)
	case "sample":
		err = d.sample(&e.Sample)
	case "summary":
		err = d.summary(&e.Summary)
	default:
		if n := fold(k, eventFields); n != "" {
			return d.eventField(e, []byte(n))
		}
		// A field of a newer schema: skip it, but only if it is JSON.
		err = d.skip(1)
	}
	return err
}

// viaJSON hands a rare nested payload to encoding/json.
func (d *decoder) viaJSON(name string, dst any) error {
	start := d.i
	if err := d.skip(1); err != nil {
		return err
	}
	if err := json.Unmarshal(d.b[start:d.i], dst); err != nil {
		return fmt.Errorf("field %s: %w", name, err)
	}
	return nil
}

var sampleFields = []string{
	"spot", "regular", "fallback", "provisioning", "noticed", "backlog", "running", "backlogMax",
	"backlogArea", "submitted", "completed", "failed", "compute",
}

// sample decodes a sample by hand: a long run writes one every few seconds.
func (d *decoder) sample(dst **Sample) error { return decodeObject(d, dst, d.sampleField) }

// decodeObject decodes null or an object into *dst, field by field.
func decodeObject[T any](d *decoder, dst **T, field func(*T, []byte) error) error {
	if null, err := d.isNull(); null || err != nil {
		if null {
			*dst = nil
		}
		return err
	}
	if *dst == nil {
		*dst = new(T)
	}
	empty, err := d.objectStart()
	if err != nil || empty {
		return err
	}
	for {
		k, err := d.key()
		if err != nil {
			return err
		}
		if err := field(*dst, k); err != nil {
			return err
		}
		more, err := d.next()
		if err != nil || !more {
			return err
		}
	}
}

func (d *decoder) sampleField(s *Sample, k []byte) error {
	switch string(k) {
	case "spot":
		return d.intField("spot", &s.Spot)
	case "regular":
		return d.intField("regular", &s.Regular)
	case "fallback":
		return d.intField("fallback", &s.Fallback)
	case "provisioning":
		return d.intField("provisioning", &s.Provisioning)
	case "noticed":
		return d.intField("noticed", &s.Noticed)
	case "backlog":
		return d.intField("backlog", &s.Backlog)
	case "running":
		return d.intField("running", &s.Running)
	case "backlogMax":
		return d.intField("backlogMax", &s.BacklogMax)
	case "backlogArea":
		return d.floatField("backlogArea", &s.BacklogArea)
	case "submitted":
		return d.intField("submitted", &s.Submitted)
	case "completed":
		return d.intField("completed", &s.Completed)
	case "failed":
		return d.intField("failed", &s.Failed)
	case "compute":
		return d.floatField("compute", &s.Compute)
	}
	if n := fold(k, sampleFields); n != "" {
		return d.sampleField(s, []byte(n))
	}
	return d.skip(2)
}

var summaryFields = []string{
	"submitted", "completed", "completedOnSpot", "failed", "duplicates", "unfinished", "compute", "turnaround", "wait", "more",
}

// summary decodes the workload summary by hand: its lists hold a value per
// job, millions in a large run.
func (d *decoder) summary(dst **Summary) error { return decodeObject(d, dst, d.summaryField) }

func (d *decoder) summaryField(s *Summary, k []byte) error {
	switch string(k) {
	case "submitted":
		return d.intField("submitted", &s.Submitted)
	case "completed":
		return d.intField("completed", &s.Completed)
	case "completedOnSpot":
		return d.intField("completedOnSpot", &s.CompletedOnSpot)
	case "failed":
		return d.intField("failed", &s.Failed)
	case "duplicates":
		return d.intField("duplicates", &s.Duplicates)
	case "unfinished":
		return d.intField("unfinished", &s.Unfinished)
	case "compute":
		return d.floatField("compute", &s.Compute)
	case "turnaround":
		return d.values("turnaround", &s.Turnaround)
	case "wait":
		return d.values("wait", &s.Wait)
	case "more":
		return d.boolField("more", &s.More)
	}
	if n := fold(k, summaryFields); n != "" {
		return d.summaryField(s, []byte(n))
	}
	return d.skip(2)
}

// values decodes a list of numbers. Like encoding/json it makes null a nil
// list and [] an empty one, and reuses the list a repeated key filled.
func (d *decoder) values(name string, dst *Values) error {
	if null, err := d.isNull(); null || err != nil {
		if null {
			*dst = nil
		}
		return err
	}
	if d.peek() != '[' {
		if err := d.skip(2); err != nil {
			return err
		}
		return d.fieldError(name, "a list of numbers")
	}
	d.i++
	v := *dst
	if v == nil {
		// A list of plain numbers ends at the first ']': size it from the
		// commas instead of growing it a million times over.
		n := 0
		if end := bytes.IndexByte(d.b[d.i:], ']'); end >= 0 {
			n = bytes.Count(d.b[d.i:d.i+end], []byte{','}) + 1
		}
		v = make(Values, 0, n)
	}
	v = v[:0]
	d.skipSpace()
	if d.peek() == ']' {
		d.i++
		*dst = v
		return nil
	}
	for {
		d.skipSpace()
		var x float64
		if err := d.floatField(name, &x); err != nil {
			return err
		}
		v = append(v, x)
		d.skipSpace()
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			*dst = v
			return nil
		default:
			return d.unexpected("after array element")
		}
	}
}

// stringOr reads a string; null keeps the field as it was.
func (d *decoder) stringOr(name, old string) (string, error) {
	switch d.peek() {
	case '"':
	case 'n':
		return old, d.literal("null")
	default:
		if err := d.skip(1); err != nil {
			return old, err
		}
		return old, d.fieldError(name, "a string")
	}
	start := d.i + 1
	j := start
	for j < len(d.b) && d.b[j] != '"' && d.b[j] != '\\' && d.b[j] >= 0x20 && d.b[j] < utf8.RuneSelf {
		j++
	}
	if j < len(d.b) && d.b[j] == '"' {
		d.i = j + 1
		return intern(d.b[start:j]), nil
	}
	b, err := d.appendString(nil)
	return string(b), err
}

// intern returns the words that recur on every line (event types, causes,
// statuses, priorities, policies) as constants instead of allocating a
// string for each occurrence.
func intern(b []byte) string {
	switch string(b) {
	case string(RunStarted):
		return string(RunStarted)
	case string(Planned):
		return string(Planned)
	case string(WaveStarted):
		return string(WaveStarted)
	case string(EvictionRequested):
		return string(EvictionRequested)
	case string(EvictionAccepted):
		return string(EvictionAccepted)
	case string(EvictionBlocked):
		return string(EvictionBlocked)
	case string(EvictionFailed):
		return string(EvictionFailed)
	case string(EvictionNoticed):
		return string(EvictionNoticed)
	case string(EvictionDrained):
		return string(EvictionDrained)
	case string(EvictionEvicted):
		return string(EvictionEvicted)
	case string(JobInterrupted):
		return string(JobInterrupted)
	case string(JobResumed):
		return string(JobResumed)
	case string(JobCompleted):
		return string(JobCompleted)
	case string(JobFailed):
		return string(JobFailed)
	case string(VMRequested):
		return string(VMRequested)
	case string(VMRunning):
		return string(VMRunning)
	case string(VMAllocationFailed):
		return string(VMAllocationFailed)
	case string(VMBootstrapFailed):
		return string(VMBootstrapFailed)
	case string(VMDeleted):
		return string(VMDeleted)
	case string(FaultStarted):
		return string(FaultStarted)
	case string(FaultEnded):
		return string(FaultEnded)
	case string(PriceChanged):
		return string(PriceChanged)
	case string(Sampled):
		return string(Sampled)
	case string(Note):
		return string(Note)
	case string(Aborted):
		return string(Aborted)
	case string(WorkloadSummarized):
		return string(WorkloadSummarized)
	case string(RunEnded):
		return string(RunEnded)
	case CauseInjected:
		return CauseInjected
	case CauseNatural:
		return CauseNatural
	case CauseCapacity:
		return CauseCapacity
	case CausePrice:
		return CausePrice
	case CauseOutage:
		return CauseOutage
	case StatusCompleted:
		return StatusCompleted
	case StatusAborted:
		return StatusAborted
	case StatusFailed:
		return StatusFailed
	case "Spot":
		return "Spot"
	case "Regular":
		return "Regular"
	case "Deallocate":
		return "Deallocate"
	case "Delete":
		return "Delete"
	}
	return string(b)
}

// appendString reads a string at the read position, unescaping it the way
// encoding/json does: invalid UTF-8 and lone surrogates become U+FFFD.
func (d *decoder) appendString(out []byte) ([]byte, error) {
	d.i++ // the opening quote
	for {
		if d.i >= len(d.b) {
			return out, d.errorf("unexpected end of JSON input")
		}
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return out, nil
		case c == '\\':
			var err error
			if out, err = d.appendEscape(out); err != nil {
				return out, err
			}
		case c < 0x20:
			return out, d.errorf("invalid character %s in string literal", quoteChar(c))
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			out = utf8.AppendRune(out, r)
			d.i += size
		}
	}
}

func (d *decoder) appendEscape(out []byte) ([]byte, error) {
	d.i++
	if d.i >= len(d.b) {
		return out, d.errorf("unexpected end of JSON input")
	}
	c := d.b[d.i]
	switch c {
	case '"', '\\', '/':
		d.i++
		return append(out, c), nil
	case 'b':
		d.i++
		return append(out, '\b'), nil
	case 'f':
		d.i++
		return append(out, '\f'), nil
	case 'n':
		d.i++
		return append(out, '\n'), nil
	case 'r':
		d.i++
		return append(out, '\r'), nil
	case 't':
		d.i++
		return append(out, '\t'), nil
	case 'u':
		d.i++
		r, err := d.hex4()
		if err != nil {
			return out, err
		}
		if utf16.IsSurrogate(r) {
			// A valid pair is consumed whole; anything else makes the
			// first half a replacement character and is read on its own.
			if d.i+6 <= len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
				if r2, ok := parseHex4(d.b[d.i+2 : d.i+6]); ok {
					if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
						d.i += 6
						return utf8.AppendRune(out, pair), nil
					}
				}
			}
			r = unicode.ReplacementChar
		}
		return utf8.AppendRune(out, r), nil
	}
	return out, d.errorf("invalid character %s in string escape code", quoteChar(c))
}

func (d *decoder) hex4() (rune, error) {
	for k := 0; k < 4; k++ {
		if d.i+k >= len(d.b) {
			d.i += k
			return 0, d.errorf("unexpected end of JSON input")
		}
		if _, ok := hexVal(d.b[d.i+k]); !ok {
			d.i += k
			return 0, d.errorf("invalid character %s in \\u hexadecimal character escape", quoteChar(d.b[d.i]))
		}
	}
	r, _ := parseHex4(d.b[d.i : d.i+4])
	d.i += 4
	return r, nil
}

func parseHex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		v, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// number returns the next number literal, checked against JSON's grammar,
// and whether it is an integer (no fraction, no exponent).
func (d *decoder) number() (lit []byte, integer bool, err error) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
	default:
		return nil, false, d.unexpected("in numeric literal")
	}
	integer = true
	if d.peek() == '.' {
		integer = false
		d.i++
		if !isDigit(d.peek()) {
			return nil, false, d.unexpected("after decimal point in numeric literal")
		}
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		integer = false
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !isDigit(d.peek()) {
			return nil, false, d.unexpected("in exponent of numeric literal")
		}
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
	}
	return d.b[start:d.i], integer, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// wrongType skips a value of the wrong kind for a field and says so.
func (d *decoder) wrongType(name, want string) error {
	if err := d.skip(1); err != nil {
		return err
	}
	return d.fieldError(name, want)
}

func (d *decoder) startsNumber() bool {
	c := d.peek()
	return c == '-' || isDigit(c)
}

func (d *decoder) floatField(name string, dst *float64) error {
	if null, err := d.isNull(); null || err != nil {
		return err
	}
	if !d.startsNumber() {
		return d.wrongType(name, "a number")
	}
	lit, integer, err := d.number()
	if err != nil {
		return err
	}
	v, ok := fastFloat(lit, integer)
	if !ok {
		if v, err = strconv.ParseFloat(string(lit), 64); err != nil {
			return d.fieldError(name, "a number that fits in 64 bits, not "+string(lit))
		}
	}
	*dst = v
	return nil
}

func (d *decoder) floatPtrField(name string, dst **float64) error {
	if null, err := d.isNull(); null || err != nil {
		if null {
			*dst = nil
		}
		return err
	}
	var v float64
	if err := d.floatField(name, &v); err != nil {
		return err
	}
	if *dst == nil {
		*dst = new(float64)
	}
	**dst = v
	return nil
}

// pow10 holds the powers of ten that a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat converts the common literals ("1234", "12.375") exactly: with
// at most 15 significant digits the mantissa is exact, and dividing by an
// exact power of ten rounds correctly (Clinger's fast path). Anything else
// goes to strconv.
func fastFloat(lit []byte, integer bool) (float64, bool) {
	neg := false
	if len(lit) > 0 && lit[0] == '-' {
		neg, lit = true, lit[1:]
	}
	var m uint64
	frac, digits := -1, 0
	for _, c := range lit {
		if c == '.' {
			frac = 0
			continue
		}
		if !isDigit(c) {
			return 0, false // an exponent
		}
		if digits++; digits > 15 {
			return 0, false
		}
		m = m*10 + uint64(c-'0')
		if frac >= 0 {
			frac++
		}
	}
	if !integer && frac < 0 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

func (d *decoder) int64Field(name string, dst *int64) error {
	v, set, err := d.integer(name, 64)
	if set {
		*dst = v
	}
	return err
}

func (d *decoder) intField(name string, dst *int) error {
	v, set, err := d.integer(name, strconv.IntSize)
	if set {
		*dst = int(v)
	}
	return err
}

// integer reads an integer of the given size; set is false for a null,
// which leaves the field as it was, and on error.
func (d *decoder) integer(name string, bits int) (v int64, set bool, err error) {
	if null, err := d.isNull(); null || err != nil {
		return 0, false, err
	}
	if !d.startsNumber() {
		return 0, false, d.wrongType(name, "an integer")
	}
	lit, integer, err := d.number()
	if err != nil {
		return 0, false, err
	}
	if !integer {
		return 0, false, d.fieldError(name, "an integer, not "+string(lit))
	}
	if v, ok := fastInt(lit); ok {
		return v, true, nil
	}
	if v, err = strconv.ParseInt(string(lit), 10, bits); err != nil {
		return 0, false, d.fieldError(name, "an integer that fits in "+strconv.Itoa(bits)+" bits, not "+string(lit))
	}
	return v, true, nil
}

// fastInt converts an integer literal of up to 18 digits, which cannot
// overflow an int64 (nor a 64-bit int); strconv takes the longer ones.
func fastInt(lit []byte) (int64, bool) {
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) > 18 || strconv.IntSize < 64 {
		return 0, false
	}
	var v int64
	for _, c := range lit {
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

func (d *decoder) boolField(name string, dst *bool) error {
	switch d.peek() {
	case 't':
		if err := d.literal("true"); err != nil {
			return err
		}
		*dst = true
		return nil
	case 'f':
		if err := d.literal("false"); err != nil {
			return err
		}
		*dst = false
		return nil
	case 'n':
		return d.literal("null")
	}
	return d.wrongType(name, "true or false")
}

// skip checks and passes over one value of any kind; depth is how many
// arrays and objects enclose it, bounded as encoding/json bounds them.
func (d *decoder) skip(depth int) error {
	d.skipSpace()
	switch c := d.peek(); {
	case c == '{':
		return d.skipObject(depth + 1)
	case c == '[':
		return d.skipArray(depth + 1)
	case c == '"':
		return d.skipString()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || isDigit(c):
		_, _, err := d.number()
		return err
	}
	return d.unexpected("looking for beginning of value")
}

func (d *decoder) skipObject(depth int) error {
	if depth > maxDepth {
		return d.errorf("exceeded max depth")
	}
	empty, err := d.objectStart()
	if err != nil || empty {
		return err
	}
	for {
		d.skipSpace()
		if d.peek() != '"' {
			return d.unexpected("looking for beginning of object key string")
		}
		if err := d.skipString(); err != nil {
			return err
		}
		d.skipSpace()
		if d.peek() != ':' {
			return d.unexpected("after object key")
		}
		d.i++
		if err := d.skip(depth); err != nil {
			return err
		}
		more, err := d.next()
		if err != nil || !more {
			return err
		}
	}
}

func (d *decoder) skipArray(depth int) error {
	if depth > maxDepth {
		return d.errorf("exceeded max depth")
	}
	d.i++ // '['
	d.skipSpace()
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if err := d.skip(depth); err != nil {
			return err
		}
		d.skipSpace()
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.unexpected("after array element")
		}
	}
}

// skipString passes over a string, checking its escapes; like encoding/json
// it lets invalid UTF-8 through (decoding would replace it).
func (d *decoder) skipString() error {
	d.i++
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return nil
		case c == '\\':
			d.i++
			switch d.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				d.i++
				if _, err := d.hex4(); err != nil {
					return err
				}
			default:
				if d.i >= len(d.b) {
					return d.errorf("unexpected end of JSON input")
				}
				return d.errorf("invalid character %s in string escape code", quoteChar(d.b[d.i]))
			}
		case c < 0x20:
			return d.errorf("invalid character %s in string literal", quoteChar(c))
		default:
			d.i++
		}
	}
	return d.errorf("unexpected end of JSON input")
}
