package scenarios

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "2d", want: 48 * time.Hour},
		{in: `"5m"`, want: 5 * time.Minute},
		{in: "0", want: 0},
		{in: "-5m", want: -5 * time.Minute},
		{in: "5", err: "5 has no unit (expected a duration like 90s, 5m, 1h30m)"},
		{in: "soon", err: `invalid duration "soon" (expected a duration like 90s, 5m, 1h30m)`},
		{in: "[1]", err: `got a mapping or a list (expected a single value)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := yaml.UnmarshalWithOptions([]byte(tt.in), &d, yaml.DisallowUnknownField())
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.D())
		})
	}
}

func TestDistYAML(t *testing.T) {
	tests := []struct {
		in   string
		want Dist
		err  string
	}{
		{in: "20m", want: Dist{Dist: DistFixed, Value: dur("20m")}},
		{in: "{dist: uniform, min: 1m, max: 2m}", want: Dist{Dist: DistUniform, Min: dur("1m"), Max: dur("2m")}},
		{in: "dist: exponential\nmean: 3m", want: Dist{Dist: DistExponential, Mean: dur("3m")}},
		// The fragment's own place would mislead, so the message has none.
		{in: "{dist: uniform, mni: 1m}", err: `unknown field "mni"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Dist
			err := yaml.UnmarshalWithOptions([]byte(tt.in), &d, yaml.DisallowUnknownField())
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d)
		})
	}
}

func TestValuesJSON(t *testing.T) {
	type values struct {
		D Duration  `json:"d"`
		P Percent   `json:"p"`
		C Condition `json:"c"`
		F Dist      `json:"f"`
		U Dist      `json:"u"`
	}
	in := values{
		D: dur("1h30m"),
		P: 0.25,
		C: Condition{Raw: "ttr.p95 <= 2m"},
		F: Dist{Dist: DistFixed, Value: dur("20m")},
		U: Dist{Dist: DistUniform, Min: dur("1m"), Max: dur("2m")},
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"d":"1h30m","p":"25%","c":"ttr.p95 <= 2m","f":{"dist":"fixed","value":"20m"},"u":{"dist":"uniform","min":"1m","max":"2m"}}`, string(b))

	var out values
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)

	var short values
	require.NoError(t, json.Unmarshal([]byte(`{"f":"20m"}`), &short), "a bare duration is a fixed distribution")
	assert.Equal(t, Dist{Dist: DistFixed, Value: dur("20m")}, short.F)

	for _, bad := range []string{`{"d":5}`, `{"d":"5"}`, `{"p":0.5}`, `{"p":"50"}`, `{"c":1}`, `{"f":{"dist":"fixed","bogus":"1m"}}`, `{"f":"x"}`} {
		assert.Error(t, json.Unmarshal([]byte(bad), &out), bad)
	}
}

// TestScenarioJSONRoundTrip checks that a scenario written as JSON, in the
// form the JSON Schema describes, reads back the same.
func TestScenarioJSONRoundTrip(t *testing.T) {
	s, err := Load("testdata/valid-full.yaml")
	require.NoError(t, err)
	b, err := json.Marshal(s)
	require.NoError(t, err)

	var back Scenario
	require.NoError(t, json.Unmarshal(b, &back))
	back.File = s.File
	back.ApplyDefaults()
	require.Empty(t, back.Validate())
	assert.Equal(t, s, &back)

	// JSON is YAML too: the same text parses.
	fromJSON, err := Parse(b, s.File)
	require.NoError(t, err)
	assert.Equal(t, s, fromJSON)
}

func TestScenarioYAMLRoundTrip(t *testing.T) {
	s, err := Load("testdata/valid-full.yaml")
	require.NoError(t, err)
	b, err := yaml.Marshal(s)
	require.NoError(t, err)
	back, err := Parse(b, s.File)
	require.NoError(t, err, "%s", b)
	assert.Equal(t, s, back)
}
