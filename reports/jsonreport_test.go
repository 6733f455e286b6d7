package reports

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func compileReportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource(JSONSchemaID, doc))
	s, err := c.Compile(JSONSchemaID)
	require.NoError(t, err, "report.schema.json is not a valid JSON Schema")
	return s
}

// Every JSON report validates against the committed schema; its
// additionalProperties: false everywhere means a field added to the Go
// types without documenting it in the schema fails here.
func TestJSONReportValidatesAgainstSchema(t *testing.T) {
	schema := compileReportSchema(t)
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			out := render(t, fx.bundle(t), FormatJSON)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
			require.NoError(t, err)
			require.NoError(t, schema.Validate(doc))
		})
	}
	t.Run("empty run", func(t *testing.T) {
		r := fold(started(), ended(0)).Report()
		var buf bytes.Buffer
		require.NoError(t, WriteJSON(&buf, NewBundle(r, r.Grading, AnalysisOptions{})))
		doc, err := jsonschema.UnmarshalJSON(&buf)
		require.NoError(t, err)
		require.NoError(t, schema.Validate(doc))
	})
}

func TestJSONSchemaRejectsWhatItShould(t *testing.T) {
	schema := compileReportSchema(t)
	out := render(t, fixtures()[0].bundle(t), FormatJSON)
	for name, mutate := range map[string]func(m map[string]any){
		"unknown field":         func(m map[string]any) { m["surprise"] = 1 },
		"wrong schema version":  func(m map[string]any) { m["schemaVersion"] = 2 },
		"verdict out of set":    func(m map[string]any) { m["verdict"] = "meh" },
		"missing metrics":       func(m map[string]any) { delete(m, "metrics") },
		"score above 100":       func(m map[string]any) { m["score"] = 101 },
		"metric value a string": func(m map[string]any) { m["metrics"].([]any)[0].(map[string]any)["value"] = "3" },
	} {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(out, &m))
			mutate(m)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			require.NoError(t, err)
			assert.Error(t, schema.Validate(doc))
		})
	}
}

func TestJSONReportValues(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal(render(t, fixtures()[0].bundle(t), FormatJSON), &doc))
	assert.Equal(t, JSONSchemaID, doc["$schema"])
	assert.EqualValues(t, 1, doc["schemaVersion"])
	assert.Equal(t, "fail", doc["verdict"])
	assert.EqualValues(t, 58, doc["score"])
	metrics := doc["metrics"].([]any)
	byName := map[string]map[string]any{}
	for _, m := range metrics {
		byName[m.(map[string]any)["name"].(string)] = m.(map[string]any)
	}
	assert.EqualValues(t, 220, byName["ttr.p95"]["value"])
	assert.Equal(t, "seconds", byName["ttr.p95"]["unit"])
	assert.EqualValues(t, 3, byName["evictions.count"]["value"])
	dist := doc["distributions"].(map[string]any)["ttr"].(map[string]any)
	assert.EqualValues(t, 3, dist["count"])
	assert.EqualValues(t, map[string]any{
		"p0": 0.0, "p10": 0.0, "p20": 0.0, "p30": 0.0, "p40": 180.0, "p50": 180.0, "p60": 180.0,
		"p70": 220.0, "p80": 220.0, "p90": 220.0, "p95": 220.0, "p99": 220.0, "p100": 220.0,
	}, dist["percentiles"])
}
