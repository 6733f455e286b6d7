package scenarios

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The committed schema lets editors check scenario files. With the YAML
// language server (VS Code's YAML extension, Neovim's yamlls), start a
// scenario with
//
//	# yaml-language-server: $schema=../spotdrill.schema.json
//
// giving the path from the scenario to scenarios/spotdrill.schema.json, as
// testdata/valid-full.yaml does. After changing the scenario types,
// regenerate the file with
//
//	go test ./scenarios -run TestSchema -update
var update = flag.Bool("update", false, "rewrite scenarios/spotdrill.schema.json from the Go types")

const schemaFile = "spotdrill.schema.json"

func TestSchemaIsUpToDate(t *testing.T) {
	got, err := JSONSchema()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(schemaFile, got, 0o644))
	}
	want, err := os.ReadFile(schemaFile)
	require.NoError(t, err, "regenerate it with: go test ./scenarios -run TestSchema -update")
	if string(want) != string(got) {
		t.Fatalf("scenarios/%s is stale: the scenario types changed since it was generated.\n"+
			"Regenerate it with: go test ./scenarios -run TestSchema -update", schemaFile)
	}
}

func TestSchemaIsDeterministic(t *testing.T) {
	first, err := JSONSchema()
	require.NoError(t, err)
	for range 5 {
		again, err := JSONSchema()
		require.NoError(t, err)
		require.Equal(t, string(first), string(again))
	}
	assert.True(t, json.Valid(first))
}

func TestSchemaPatterns(t *testing.T) {
	duration := regexp.MustCompile(durationPattern)
	for _, s := range []string{"0", "90s", "5m", "1h30m", "2d", "1.5h", "250ms", "1h0m0s"} {
		assert.True(t, duration.MatchString(s), s)
		_, err := ParseDuration(s)
		assert.NoError(t, err, s)
	}
	for _, s := range []string{"", "5", "-5m", "soon", "5 m", "1.5d"} {
		assert.False(t, duration.MatchString(s), s)
	}

	percent := regexp.MustCompile(percentPattern)
	for _, s := range []string{"0%", "25%", "2.5%", "100%"} {
		assert.True(t, percent.MatchString(s), s)
	}
	for _, s := range []string{"25", "-5%", "%", "a%"} {
		assert.False(t, percent.MatchString(s), s)
	}

	condition := regexp.MustCompile(conditionPattern())
	for _, m := range Metrics {
		assert.True(t, condition.MatchString(m.Name+" <= 1"), m.Name)
	}
	assert.True(t, condition.MatchString("cost.perJob<$0.05"))
	assert.False(t, condition.MatchString("ttr.p42 <= 1m"))
	assert.False(t, condition.MatchString("ttr.p95 2m"))
}

// TestSchemaAcceptsValidScenarios checks the committed schema against the
// valid fixtures and some invalid documents, with the small validator
// below: the schema must describe the format the parser reads.
func TestSchemaAcceptsValidScenarios(t *testing.T) {
	raw, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(raw, &schema))
	v := schemaValidator{root: schema}

	for _, file := range validFiles(t) {
		t.Run(file, func(t *testing.T) {
			doc := readYAMLAsJSON(t, file)
			assert.Empty(t, v.validate(schema, doc, ""))
		})
	}

	tests := []struct{ name, doc, want string }{
		{"unknown field", `{"apiVersion": "spotdrill.dev/v1", "kind": "GameDay", "metadata": {"name": "a"}, "duration": "1h", "target": {"provider": "sim"}, "bogus": 1}`, "/bogus: not allowed"},
		{"missing field", `{"apiVersion": "spotdrill.dev/v1", "kind": "GameDay", "metadata": {"name": "a"}, "target": {"provider": "sim"}}`, ": duration is required"},
		{"bad duration", `{"apiVersion": "spotdrill.dev/v1", "kind": "GameDay", "metadata": {"name": "a"}, "duration": "5", "target": {"provider": "sim"}}`, "/duration: does not match"},
		{"bad enum", `{"apiVersion": "spotdrill.dev/v1", "kind": "GameDay", "metadata": {"name": "a"}, "duration": "1h", "target": {"provider": "aws"}}`, "/target/provider: not one of"},
		{"bad dist", `{"apiVersion": "spotdrill.dev/v1", "kind": "GameDay", "metadata": {"name": "a"}, "duration": "1h", "target": {"provider": "sim"}, "fleet": {"noticeDelay": {"min": "1s"}, "pools": []}}`, "/fleet/noticeDelay: matches none of oneOf"},
		{"bad condition", `{"apiVersion": "spotdrill.dev/v1", "kind": "GameDay", "metadata": {"name": "a"}, "duration": "1h", "target": {"provider": "sim"}, "slos": [{"objective": "ttr.p42 < 1m"}]}`, "/slos/0/objective: does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			require.NoError(t, json.Unmarshal([]byte(tt.doc), &doc))
			errs := v.validate(schema, doc, "")
			assert.NotEmpty(t, errs)
			assert.True(t, slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tt.want) }), "%q not in %q", tt.want, errs)
		})
	}
}

// validFiles lists the valid fixtures and the scenarios shipped with the
// tool.
func validFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"testdata/valid-*.yaml", "library/*.yaml", "bench/*.yaml"} {
		matches, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, matches...)
	}
	require.NotEmpty(t, files)
	return files
}

func readYAMLAsJSON(t *testing.T, file string) any {
	t.Helper()
	t.Setenv("SPOTDRILL_TEST_SUBSCRIPTION", "sub")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var doc any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	// Through JSON, so that numbers and maps have JSON's types.
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &doc))
	return doc
}

// schemaValidator checks the subset of JSON Schema that JSONSchema writes:
// $ref, type, properties, required, additionalProperties, items, enum,
// pattern and oneOf.
type schemaValidator struct{ root map[string]any }

func (v schemaValidator) validate(s map[string]any, doc any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		def := v.root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")]
		return v.validate(def.(map[string]any), doc, at)
	}
	if oneOf, ok := s["oneOf"].([]any); ok {
		matched := 0
		for _, alt := range oneOf {
			if len(v.validate(alt.(map[string]any), doc, at)) == 0 {
				matched++
			}
		}
		if matched != 1 {
			return []string{at + ": matches none of oneOf"}
		}
		return nil
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, doc) {
		return []string{fmt.Sprintf("%s: not one of %v", at, enum)}
	}
	switch s["type"] {
	case "object":
		return v.object(s, doc, at)
	case "array":
		items, ok := doc.([]any)
		if !ok {
			return []string{at + ": not an array"}
		}
		var errs []string
		for i, item := range items {
			errs = append(errs, v.validate(s["items"].(map[string]any), item, fmt.Sprintf("%s/%d", at, i))...)
		}
		return errs
	case "string":
		str, ok := doc.(string)
		if !ok {
			return []string{at + ": not a string"}
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return []string{fmt.Sprintf("%s: does not match %s", at, p)}
		}
	case "integer":
		if n, ok := doc.(float64); !ok || n != float64(int64(n)) {
			return []string{at + ": not an integer"}
		}
	case "number":
		if _, ok := doc.(float64); !ok {
			return []string{at + ": not a number"}
		}
	case "boolean":
		if _, ok := doc.(bool); !ok {
			return []string{at + ": not a boolean"}
		}
	}
	return nil
}

func (v schemaValidator) object(s map[string]any, doc any, at string) []string {
	obj, ok := doc.(map[string]any)
	if !ok {
		return []string{at + ": not an object"}
	}
	var errs []string
	required, _ := s["required"].([]any)
	for _, r := range required {
		if _, ok := obj[r.(string)]; !ok {
			errs = append(errs, fmt.Sprintf("%s: %s is required", at, r))
		}
	}
	props, _ := s["properties"].(map[string]any)
	for k, val := range obj {
		if p, ok := props[k]; ok {
			errs = append(errs, v.validate(p.(map[string]any), val, at+"/"+k)...)
			continue
		}
		switch extra := s["additionalProperties"].(type) {
		case bool:
			if !extra {
				errs = append(errs, at+"/"+k+": not allowed")
			}
		case map[string]any:
			errs = append(errs, v.validate(extra, val, at+"/"+k)...)
		}
	}
	return errs
}
