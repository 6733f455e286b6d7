package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// stdDecode is the reference DecodeEvent must agree with.
func stdDecode(b []byte) (Event, error) {
	var e Event
	err := json.Unmarshal(b, &e)
	return e, err
}

// agree checks that DecodeEvent and encoding/json accept the same input
// and read the same event from it.
func agree(t require.TestingT, b []byte) {
	want, werr := stdDecode(b)
	var got Event
	gerr := DecodeEvent(b, &got)
	if werr != nil {
		require.Error(t, gerr, "encoding/json refuses %q (%v); DecodeEvent accepted it", b, werr)
		return
	}
	require.NoError(t, gerr, "encoding/json accepts %q", b)
	require.Equal(t, want, got, "%q", b)
}

func TestDecodeEventAgreesWithEncodingJSON(t *testing.T) {
	lines := []string{
		`{"seq":1,"t":0,"type":"run.started","run":{"schemaVersion":1,"scenario":"x","seed":3,"start":"2026-01-05T09:00:00Z","pools":[{"name":"p","priority":"Spot","capacity":2}]}}`,
		`{"seq":2,"t":1234.567,"type":"job.interrupted","job":"job-1","vm":"spot-00001","at":0,"submitted":12.5,"attempt":2,"lost":30.25,"released":true}`,
		`{"seq":3,"t":1e-7,"type":"note","reason":"quote \" backslash \\ slash \/ \b\f\n\r\t \u00e9 \ud83d\ude00 lone \ud800 x \udc00 \u2028 ünï"}`,
		`{"seq":4,"t":3e21,"type":"sample","sample":{"spot":3,"regular":0,"fallback":1,"provisioning":2,"noticed":0,"backlog":5,"running":2,"backlogMax":6,"backlogArea":1.5,"submitted":9,"completed":4,"failed":1,"compute":12.25}}`,
		`{"seq":5,"type":"workload.summary","summary":{"submitted":1,"completed":1,"completedOnSpot":1,"failed":0,"duplicates":0,"unfinished":0,"compute":2,"turnaround":[1,2.5,0.001,-0,1E3,null],"wait":[]}}`,
		`{"seq":6,"type":"eviction.blocked","price":-0.5,"count":-3,"value":1e-6,"fallback":true,"duplicate":true,"checkpointLost":true,"drainLate":true}`,
		`{"seq":7,"type":"fault.started","fault":{"type":"capacityShortage","zones":["1"],"capacity":0,"notice":5}}`,
		`{"seq":8,"type":"plan","plan":{"targets":2,"excluded":[{"vm":"a","reason":"b"}],"waves":[{"name":"w","at":60,"what":"x"}],"plannedCost":1.5}}`,
		// Forward compatibility: fields of a newer schema, of every kind.
		`{"seq":9,"type":"vm.running","future":{"a":[1,{"b":null}],"c":"\u0041"},"list":[true,false,null,-1.5e+3],"vm":"v"}`,
		`{"seq":10,"type":"sample","sample":{"spot":1,"gpu":{"x":1}},"summary":{"turnaround":[1],"p99":[2]}}`,
		// Keys matched as encoding/json matches them.
		`{"SEQ":11,"T":2,"Type":"note","VM":"v","checkpointlost":true,"s\u0065q":12,"ſeq":13}`,
		`{"seq":14,"sample":{"SPOT":2,"backlogmax":3},"summary":{"COMPUTE":4,"Turnaround":[5]}}`,
		// Nulls keep what was there; repeated keys take the last value.
		`{"seq":null,"t":null,"type":null,"at":null,"released":null,"run":null,"sample":null,"summary":null}`,
		`{"seq":15,"seq":16,"vm":"a","vm":"b","at":1,"at":2,"sample":{"spot":1},"sample":{"backlog":2}}`,
		`{"summary":{"turnaround":[1,2,3],"turnaround":[4]}}`,
		` { "seq" : 17 , "t" : 1.5 , "type" : "note" } `,
		`{}`, `null`, `  null  `,
		// Numbers at the edges of the fast path.
		`{"t":123456789012345,"lost":1234567890123456,"price":0.000123456789012345,"value":9007199254740993}`,
		`{"t":-0.0,"lost":1.7976931348623157e308,"price":5e-324,"value":123.456e-2}`,
		// Refused by both.
		`{"seq":1.5}`, `{"seq":1e2}`, `{"seq":"1"}`, `{"seq":99999999999999999999}`, `{"attempt":true}`,
		`{"t":1e400}`, `{"t":"1"}`, `{"t":01}`, `{"t":-}`, `{"t":1.}`, `{"t":.5}`, `{"t":+1}`, `{"t":1e}`,
		`{"vm":1}`, `{"vm":"a\x01"}`, `{"vm":"\x"}`, `{"vm":"\'"}`, `{"vm":"\u12"}`, `{"vm":"a}`,
		`{"released":1}`, `{"released":tru}`, `{"at":"x"}`, `{"run":"x"}`, `{"run":{"seed":"x"}}`,
		`{"sample":[]}`, `{"sample":{"spot":1.5}}`, `{"summary":{"turnaround":{}}}`, `{"summary":{"turnaround":[1,"a"]}}`,
		`{"summary":{"turnaround":[1,]}}`, `{"summary":{"turnaround":[1 2]}}`,
		`{"seq":1,}`, `{"seq":1 "t":2}`, `{"seq" 1}`, `{seq:1}`, `{"seq":1}x`, `{"seq":1}{}`, `[]`, `"x"`, `1`, ``, ` `,
		`{"x":[1,]}`, `{"x":{"a":1,}}`, `{"x":{"a"}}`, `{"x":nul}`,
		"{\"vm\":\"\xff\xfe ok \xc3\"}", "{\"\xff\":1}",
	}
	for _, l := range lines {
		agree(t, []byte(l))
		agree(t, []byte(l+"\n"))
	}
}

func TestDecodeEventDepthLimit(t *testing.T) {
	for _, depth := range []int{maxDepth - 2, maxDepth - 1, maxDepth, maxDepth + 1} {
		// The event object is one level; the unknown field adds the rest.
		b := `{"x":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
		agree(t, []byte(b))
		b = `{"sample":{"x":` + strings.Repeat("[", depth-2) + strings.Repeat("]", depth-2) + `}}`
		agree(t, []byte(b))
	}
}

// Every prefix of a line is what a crash leaves behind: both decoders must
// refuse each, or Scan would take a torn line for an event.
func TestDecodeEventRefusesEveryPrefix(t *testing.T) {
	line, err := (&Event{Seq: 7, T: 12.5, Type: JobInterrupted, Job: "j", VM: "v", At: Ptr(1), Lost: 3, Released: true,
		Sample: &Sample{Spot: 1}, Summary: &Summary{Turnaround: Values{1, 2}}}).AppendJSON(nil)
	require.NoError(t, err)
	for i := range len(line) {
		agree(t, line[:i])
		var e Event
		require.Error(t, DecodeEvent(line[:i], &e), "prefix %q", line[:i])
	}
}

// The journals in the repository, line by line: what real runs write.
func TestDecodeEventJournals(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "reports", "testdata", "*.journal"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			agree(t, sc.Bytes())
		}
	}
}

// genString draws the strings AppendJSON writes back unchanged: valid
// UTF-8 (it writes invalid bytes as U+FFFD, as encoding/json does).
func genString(t *rapid.T, label string) string {
	s := rapid.String().Draw(t, label)
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "?")
	}
	return s
}

func genFloat(t *rapid.T, label string) float64 {
	return rapid.OneOf(
		rapid.Float64Range(-1e25, 1e25),
		rapid.SampledFrom([]float64{0, 1, -1, 0.1, 1e-7, 5e-324, 1.7976931348623157e308, 1e21, 123456.789}),
		rapid.Map(rapid.Int64Range(-1e12, 1e12), func(i int64) float64 { return float64(i) / 1000 }),
	).Draw(t, label)
}

func genOptFloat(t *rapid.T, label string) *float64 {
	if rapid.Bool().Draw(t, label+"?") {
		return Ptr(genFloat(t, label))
	}
	return nil
}

func genValues(t *rapid.T, label string) Values {
	// AppendJSON leaves out an empty list, which reads back as nil.
	v := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) float64 { return genFloat(t, "v") }), 0, 20).Draw(t, label)
	if len(v) == 0 {
		return nil
	}
	return v
}

func genStrings(t *rapid.T, label string) []string {
	s := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) string { return genString(t, "s") }), 0, 3).Draw(t, label)
	if len(s) == 0 {
		return nil
	}
	return s
}

func genEvent(t *rapid.T) *Event {
	str := func(label string) string {
		if rapid.Bool().Draw(t, label+"?") {
			return genString(t, label)
		}
		return ""
	}
	e := &Event{
		Seq: rapid.Int64().Draw(t, "seq"), T: genFloat(t, "t"), Type: Type(str("type")),
		Wave: str("wave"), VM: str("vm"), Pool: str("pool"), Zone: str("zone"), Job: str("job"), Cause: str("cause"),
		Reason: str("reason"), Code: str("code"), Policy: str("policy"),
		At: genOptFloat(t, "at"), Submitted: genOptFloat(t, "submitted"), Attempt: rapid.Int().Draw(t, "attempt"),
		Lost: genFloat(t, "lost"), CheckpointLost: rapid.Bool().Draw(t, "ckLost"), Released: rapid.Bool().Draw(t, "released"),
		DrainLate: rapid.Bool().Draw(t, "late"), Fallback: rapid.Bool().Draw(t, "fb"), Duplicate: rapid.Bool().Draw(t, "dup"),
		Replaces: str("replaces"), Priority: str("priority"), Price: genFloat(t, "price"), Count: rapid.Int().Draw(t, "count"),
		Value: genFloat(t, "value"), Status: str("status"), TraceID: str("trace"), SpanID: str("span"),
	}
	if rapid.Bool().Draw(t, "run?") {
		e.Run = &Run{SchemaVersion: rapid.Int().Draw(t, "sv"), Scenario: genString(t, "scenario"), Seed: rapid.Int64().Draw(t, "seed"),
			Duration: genFloat(t, "duration"), Aborts: genStrings(t, "aborts"),
			Pools: []Pool{{Name: genString(t, "pool"), Zones: genStrings(t, "zones"), SpotPrice: genFloat(t, "sp")}},
			SLOs:  []SLO{{Name: genString(t, "slo"), Objective: genString(t, "obj")}}}
	}
	if rapid.Bool().Draw(t, "plan?") {
		e.Plan = &Plan{Digest: genString(t, "digest"), Targets: genStrings(t, "targets"), PlannedCost: genFloat(t, "planned"),
			Waves: []PlanWave{{Name: genString(t, "pwave"), Targets: []int{rapid.Int().Draw(t, "pwt")}}}}
	}
	if rapid.Bool().Draw(t, "fault?") {
		e.Fault = &Fault{Type: genString(t, "ftype"), Notice: genOptFloat(t, "notice"), Zones: genStrings(t, "fzones")}
		if rapid.Bool().Draw(t, "cap?") {
			c := rapid.Int().Draw(t, "cap")
			e.Fault.Capacity = &c
		}
	}
	if rapid.Bool().Draw(t, "sample?") {
		n := func(label string) int { return rapid.IntRange(-1e6, 1e6).Draw(t, label) }
		e.Sample = &Sample{Spot: n("spot"), Regular: n("regular"), Fallback: n("fallback"), Provisioning: n("prov"),
			Noticed: n("noticed"), Backlog: n("backlog"), Running: n("running"), BacklogMax: n("bmax"),
			BacklogArea: genFloat(t, "area"), Submitted: n("sub"), Completed: n("comp"), Failed: n("failed"), Compute: genFloat(t, "compute")}
	}
	if rapid.Bool().Draw(t, "summary?") {
		e.Summary = &Summary{Submitted: rapid.Int().Draw(t, "ssub"), Completed: rapid.Int().Draw(t, "scomp"),
			CompletedOnSpot: rapid.Int().Draw(t, "sspot"), Failed: rapid.Int().Draw(t, "sfail"), Duplicates: rapid.Int().Draw(t, "sdup"),
			Unfinished: rapid.Int().Draw(t, "sunf"), Compute: genFloat(t, "scompute"),
			Turnaround: genValues(t, "turnaround"), Wait: genValues(t, "wait")}
	}
	return e
}

// decode(AppendJSON(e)) == e for every event AppendJSON can write.
func TestDecodeEventRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genEvent(t)
		line, err := e.AppendJSON(nil)
		require.NoError(t, err)
		var got Event
		require.NoError(t, DecodeEvent(line, &got), "%s", line)
		require.Equal(t, *e, got, "%s", line)
		agree(t, line)
	})
}

// The decoder reads any line encoding/json reads, the same way, and
// refuses the rest; run with go test ./journal -fuzz FuzzDecodeEvent.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"seq":1,"t":0,"type":"run.started","run":{"schemaVersion":1}}`,
		`{"seq":2,"t":1.5,"type":"job.interrupted","job":"j","at":0,"lost":3,"released":true}`,
		`{"type":"sample","sample":{"spot":1,"backlogArea":2.5}}`,
		`{"summary":{"turnaround":[1,2,3],"wait":[]}}`,
		`{"x":[{"y":"\u00e9\ud800"}],"VM":"a"}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		agree(t, b)
	})
}

func TestScanReadsUnknownFields(t *testing.T) {
	in := `{"seq":1,"t":0,"type":"run.started","run":{"schemaVersion":1,"future":true},"traceFlags":"01"}` + "\n" +
		`{"seq":2,"t":5,"type":"hologram.projected","vm":"v","depth":[1,2]}` + "\n"
	var got []Event
	tail, err := Scan(strings.NewReader(in), func(e *Event) error {
		got = append(got, *e)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(2), tail.Events)
	require.Len(t, got, 2)
	assert.Equal(t, Type("hologram.projected"), got[1].Type)
	assert.Equal(t, "v", got[1].VM)
}

func BenchmarkDecodeEvent(b *testing.B) {
	lines := [][]byte{
		[]byte(`{"seq":123456,"t":86400.5,"type":"job.interrupted","job":"job-0012345","vm":"spot-00042","attempt":2,"at":86000,"submitted":120.25,"lost":400.5,"released":true}`),
		[]byte(`{"seq":123457,"t":86401,"type":"eviction.evicted","vm":"spot-00042","pool":"batch","zone":"2","cause":"natural","policy":"Delete","count":4}`),
		[]byte(`{"seq":123458,"t":86410,"type":"sample","sample":{"spot":200,"regular":0,"fallback":0,"provisioning":1,"noticed":0,"backlog":12,"running":180,"backlogMax":16,"backlogArea":50,"submitted":90000,"completed":80000,"failed":0,"compute":5.4e7}}`),
	}
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.SetBytes(n / int64(len(lines)))
	b.ReportAllocs()
	b.Run("DecodeEvent", func(b *testing.B) {
		i := 0
		for b.Loop() {
			var e Event
			if err := DecodeEvent(lines[i%len(lines)], &e); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		i := 0
		for b.Loop() {
			var e Event
			if err := json.Unmarshal(lines[i%len(lines)], &e); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func TestScanTellsAJournalFromAnythingElse(t *testing.T) {
	first := `{"seq":1,"t":0,"type":"run.started","run":{"schemaVersion":2}}` + "\n"
	tests := []struct {
		name, data string
		err        string
		truncated  bool
	}{
		{"zeros", string(make([]byte, 4096)), "journal line 1: not a spotdrill journal", false},
		{"a partial first line", `{"seq":1,"t":0,"ty`, "journal line 1: not a spotdrill journal", false},
		{"a crash's tail of zeros", first + string(make([]byte, 64)), "", true},
		{"a line cut mid-write", first + `{"seq":2,"t":1,"ty`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tail, err := Scan(strings.NewReader(tc.data), func(*Event) error { return nil })
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.truncated, tail.Truncated)
			require.True(t, tail.CutShort())
		})
	}
}

func TestSummaryPartsKeepEveryValue(t *testing.T) {
	turn := make(Values, 2*SummaryChunk+5)
	for i := range turn {
		turn[i] = float64(i)
	}
	s := &Summary{Submitted: 9, Completed: 7, Turnaround: turn, Wait: Values{1, 2}}
	parts := SummaryParts(s)
	require.Len(t, parts, 3)
	var got Values
	for i, p := range parts {
		require.Equal(t, i < 2, p.More)
		require.LessOrEqual(t, len(p.Turnaround), SummaryChunk)
		got = append(got, p.Turnaround...)
		// Every part encodes and decodes, and stays under MaxLine.
		b, err := (&Event{Seq: 1, Type: WorkloadSummarized, Summary: p}).AppendJSON(nil)
		require.NoError(t, err)
		require.Less(t, len(b), MaxLine)
		var e Event
		require.NoError(t, DecodeEvent(b, &e))
		require.Equal(t, p.More, e.Summary.More)
	}
	require.Equal(t, turn, got)
	require.Equal(t, 9, parts[2].Submitted)
	require.Zero(t, parts[0].Submitted)
	require.Equal(t, Values{1, 2}, parts[0].Wait)
	require.Len(t, SummaryParts(&Summary{Turnaround: Values{1}}), 1, "a small summary is one event")
}

func TestScanRefusesALineLongerThanAnyJournalHolds(t *testing.T) {
	first := `{"seq":1,"t":0,"type":"run.started","run":{"schemaVersion":2}}` + "\n"
	long := first + `{"seq":2,"t":0,"type":"note","reason":"` + strings.Repeat("x", MaxLine) + "\"}\n"
	_, err := Scan(strings.NewReader(long), func(*Event) error { return nil })
	require.ErrorContains(t, err, "journal line 2: longer than 67108864 bytes")
}
