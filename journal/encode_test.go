package journal

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// stdJSON is what encoding/json writes for an event, the reference that
// AppendJSON must match byte for byte.
func stdJSON(t require.TestingT, e *Event) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(e))
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	cases := []*Event{
		{Seq: 1, Type: RunStarted, Run: &Run{SchemaVersion: 1, Scenario: "x", Seed: 3, Start: "2026-01-05T09:00:00Z"}},
		{Seq: 2, T: 1234.567, Type: JobInterrupted, Job: "job-1", VM: "spot-00001", At: Ptr(0), Submitted: Ptr(12.5), Lost: 30.25, Released: true, Attempt: 2},
		{Seq: 3, T: 1e-7, Type: Note, Reason: "quote \" backslash \\ newline \n tab \t ctl \x01 <html> & \u2028 ünï \xff"},
		{Seq: 4, T: 3e21, Type: Sampled, Sample: &Sample{Spot: 3, BacklogArea: 1.5}},
		{Seq: 5, Type: WorkloadSummarized, Summary: &Summary{Turnaround: Values{1, 2.5, 0.001}, Wait: Values{}}},
		{Seq: 6, Type: EvictionBlocked, Price: -0.5, Count: -3, Value: 1e-6, Fallback: true, Duplicate: true, CheckpointLost: true, DrainLate: true},
	}
	for _, e := range cases {
		got, err := e.AppendJSON(nil)
		require.NoError(t, err)
		require.Equal(t, string(stdJSON(t, e)), string(got))
	}
}

func TestAppendJSONProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := func() float64 { return rapid.Float64Range(-1e25, 1e25).Draw(t, "f") }
		e := &Event{
			Seq: rapid.Int64().Draw(t, "seq"), T: f(), Type: Type(rapid.String().Draw(t, "type")),
			VM: rapid.String().Draw(t, "vm"), Reason: rapid.String().Draw(t, "reason"),
			Lost: f(), Price: f(), Value: f(), Count: rapid.Int().Draw(t, "count"),
			Released: rapid.Bool().Draw(t, "released"),
		}
		if rapid.Bool().Draw(t, "hasAt") {
			e.At = Ptr(f())
		}
		got, err := e.AppendJSON(nil)
		require.NoError(t, err)
		require.Equal(t, string(stdJSON(t, e)), string(got))
	})
}

func TestAppendJSONRefusesNaN(t *testing.T) {
	nan := 0.0
	nan /= nan
	_, err := (&Event{T: nan}).AppendJSON(nil)
	require.Error(t, err)
}
