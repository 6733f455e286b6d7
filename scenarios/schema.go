package scenarios

import (
	"embed"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"
)

// SchemaID is the $id of the scenario JSON Schema.
const SchemaID = "https://spotdrill.dev/schemas/v1/gameday.schema.json"

// The Go sources of the scenario types, embedded so that the schema's
// descriptions come from their doc comments: one text for readers of the
// code and for editors showing hints.
//
//go:embed types.go values.go conditions.go
var typeSources embed.FS

// Patterns of the value types. They accept a subset of what the parser
// reads (no negative durations, no exponents) that covers every valid
// value, and use only syntax common to Go's and ECMA-262's regexps.
const (
	durationPattern = `^([0-9]+d|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+|0)$`
	percentPattern  = `^[0-9]+(\.[0-9]+)?%$`
)

// JSONSchema returns the JSON Schema (draft 2020-12) of scenario files,
// generated from the Go types and their json tags, indented and the same
// on every call. Editors use it to complete and check scenario YAML; the
// committed copy is scenarios/spotdrill.schema.json, which a scenario names
// on its first line for the YAML language server:
//
//	# yaml-language-server: $schema=../spotdrill.schema.json
func JSONSchema() ([]byte, error) {
	comments, err := typeComments()
	if err != nil {
		return nil, fmt.Errorf("reading the scenario types' comments: %w", err)
	}
	r := &jsonschema.Reflector{
		ExpandedStruct: true,
		Mapper:         valueTypeRef,
		CommentMap:     comments,
	}
	s := r.Reflect(&Scenario{})
	s.ID = SchemaID
	s.Title = "spotdrill game day scenario"
	for name, def := range valueTypeSchemas(comments) {
		s.Definitions[name] = def
	}
	if err := constrain(s); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the JSON Schema: %w", err)
	}
	return append(out, '\n'), nil
}

// valueTypeRef points the value types that YAML writes as strings at their
// definitions, instead of the Go structure behind them.
func valueTypeRef(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[Duration](), reflect.TypeFor[Percent](), reflect.TypeFor[Condition](), reflect.TypeFor[Dist]():
		return &jsonschema.Schema{Ref: "#/$defs/" + t.Name()}
	}
	return nil
}

func valueTypeSchemas(comments map[string]string) jsonschema.Definitions {
	doc := func(t reflect.Type) string { return comments[t.PkgPath()+"."+t.Name()] }
	durationRef := func() *jsonschema.Schema { return &jsonschema.Schema{Ref: "#/$defs/Duration"} }
	dist := jsonschema.NewProperties()
	dist.Set("dist", &jsonschema.Schema{Type: "string", Enum: []any{DistFixed, DistUniform, DistExponential, DistLogNormal}})
	for _, name := range []string{"value", "min", "max", "mean", "stddev"} {
		dist.Set(name, durationRef())
	}
	return jsonschema.Definitions{
		"Duration": {
			Type:        "string",
			Pattern:     durationPattern,
			Description: doc(reflect.TypeFor[Duration]()),
			Examples:    []any{"90s", "5m", "1h30m", "2d"},
		},
		"Percent": {
			Type:        "string",
			Pattern:     percentPattern,
			Description: doc(reflect.TypeFor[Percent]()),
			Examples:    []any{"25%", "2.5%"},
		},
		"Condition": {
			Type:    "string",
			Pattern: conditionPattern(),
			Description: doc(reflect.TypeFor[Condition]()) + " Metrics: " +
				strings.Join(MetricNames(), ", ") + ".",
			Examples: []any{"ttr.p95 <= 2m", "jobs.successRate >= 99%", "cost.perJob < $0.05"},
		},
		"Dist": {
			Description: doc(reflect.TypeFor[Dist]()),
			OneOf: []*jsonschema.Schema{
				durationRef(),
				{
					Type:                 "object",
					Properties:           dist,
					Required:             []string{"dist"},
					AdditionalProperties: jsonschema.FalseSchema,
				},
			},
		},
	}
}

// conditionPattern matches "metric op value" with a metric of the
// vocabulary, so that editors flag unknown metrics.
func conditionPattern() string {
	names := MetricNames()
	for i, n := range names {
		names[i] = regexp.QuoteMeta(n)
	}
	return `^\s*(` + strings.Join(names, "|") + `)\s*(<=|>=|<|>)\s*\S+\s*$`
}

// constrain adds what the Go types cannot say: the fixed header values and
// the enumerations.
func constrain(s *jsonschema.Schema) error {
	enums := []struct {
		def, prop string
		values    []any
	}{
		{"", "apiVersion", []any{APIVersion}},
		{"", "kind", []any{Kind}},
		{"Target", "provider", []any{ProviderSim, ProviderAzure}},
		{"Target", "newInstances", []any{NewInstancesExclude, NewInstancesInclude}},
		{"Pool", "priority", []any{PrioritySpot, PriorityRegular}},
		{"Pool", "evictionPolicy", []any{EvictionDeallocate, EvictionDelete}},
		{"Workload", "onNotice", []any{OnNoticeIgnore, OnNoticeDrain, OnNoticeCheckpoint}},
		{"Queue", "requeue", []any{RequeueFront, RequeueBack}},
		{"Checkpoint", "storage", []any{StorageDurable, StorageLocal}},
		{"Fault", "type", []any{FaultCapacityShortage, FaultPriceSpike, FaultShortNotice, FaultZoneOutage}},
	}
	if err := bound(s); err != nil {
		return err
	}
	for _, e := range enums {
		owner := s
		if e.def != "" {
			owner = s.Definitions[e.def]
		}
		if owner == nil || owner.Properties == nil {
			return fmt.Errorf("JSON Schema: no definition %q", e.def)
		}
		prop, ok := owner.Properties.Get(e.prop)
		if !ok {
			return fmt.Errorf("JSON Schema: %s has no property %q", e.def, e.prop)
		}
		prop.Enum = e.values
	}
	return nil
}

// bound puts the validator's limits into the schema, so that editors show
// them: each count's maximum, the waves' number, the name's pattern.
func bound(s *jsonschema.Schema) error {
	maxima := []struct {
		def, prop string
		max       int
	}{
		{"Pool", "capacity", MaxPoolCapacity},
		{"Pool", "slots", MaxSlots},
		{"Zone", "spotCapacity", MaxCount},
		{"Fallback", "maxInstances", MaxPoolCapacity},
		{"Jobs", "count", MaxJobs},
		{"Jobs", "ratePerHour", MaxRatePerHour},
		{"Workload", "maxAttempts", MaxCount},
		{"Fault", "capacity", MaxCount},
		{"BlastRadius", "maxEvictions", MaxCount},
		{"BlastRadius", "maxInFlight", MaxCount},
		{"BlastRadius", "maxPerMinute", MaxCount},
	}
	prop := func(def, name string) (*jsonschema.Schema, error) {
		owner := s
		if def != "" {
			owner = s.Definitions[def]
		}
		if owner == nil || owner.Properties == nil {
			return nil, fmt.Errorf("JSON Schema: no definition %q", def)
		}
		p, ok := owner.Properties.Get(name)
		if !ok {
			return nil, fmt.Errorf("JSON Schema: %s has no property %q", def, name)
		}
		return p, nil
	}
	for _, m := range maxima {
		p, err := prop(m.def, m.prop)
		if err != nil {
			return err
		}
		p.Maximum = json.Number(strconv.Itoa(m.max))
	}
	waves, err := prop("", "waves")
	if err != nil {
		return err
	}
	n := uint64(MaxWaves)
	waves.MaxItems = &n
	name, err := prop("Metadata", "name")
	if err != nil {
		return err
	}
	l := uint64(MaxNameLen)
	name.MaxLength = &l
	name.Pattern = `^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`
	return nil
}

// typeComments maps "package path.Type" and "package path.Type.Field" to
// their doc comments, the keys jsonschema.Reflector.CommentMap expects.
func typeComments() (map[string]string, error) {
	pkg := reflect.TypeFor[Scenario]().PkgPath()
	comments := map[string]string{}
	files, err := typeSources.ReadDir(".")
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := typeSources.ReadFile(f.Name())
		if err != nil {
			return nil, err
		}
		file, err := parser.ParseFile(fset, f.Name(), src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		collectComments(file, pkg, comments)
	}
	return comments, nil
}

func collectComments(file *ast.File, pkg string, comments map[string]string) {
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.TYPE {
			continue
		}
		for _, spec := range gen.Specs {
			ts := spec.(*ast.TypeSpec)
			if !ts.Name.IsExported() {
				continue
			}
			doc := ts.Doc
			if doc == nil && len(gen.Specs) == 1 {
				doc = gen.Doc
			}
			typ := pkg + "." + ts.Name.Name
			if text := commentText(doc); text != "" {
				comments[typ] = text
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, field := range st.Fields.List {
				text := commentText(field.Doc)
				if text == "" {
					text = commentText(field.Comment)
				}
				for _, name := range field.Names {
					if text != "" && name.IsExported() {
						comments[typ+"."+name.Name] = text
					}
				}
			}
		}
	}
}

// commentText joins a comment's lines into one paragraph.
func commentText(g *ast.CommentGroup) string {
	return strings.Join(strings.Fields(g.Text()), " ")
}
