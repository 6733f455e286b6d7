package reports

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// JSONSchemaVersion is the schemaVersion of the JSON report. It changes
// when a field changes meaning or goes away; new fields do not change it.
const JSONSchemaVersion = 1

// JSONSchemaID is the $schema every JSON report names.
const JSONSchemaID = "https://spotdrill.dev/schemas/v1/report.schema.json"

// JSONSchema is the JSON Schema (draft 2020-12) of the JSON report,
// reports/report.schema.json: the documented contract for tools that read
// reports.
//
//go:embed report.schema.json
var JSONSchema []byte

// jsonReport is the JSON report. Its shape is the schema's: a change here
// is a change of report.schema.json, which the tests hold it to.
type jsonReport struct {
	Schema          string            `json:"$schema"`
	SchemaVersion   int               `json:"schemaVersion"`
	Run             jsonRun           `json:"run"`
	Verdict         Verdict           `json:"verdict"`
	Score           int               `json:"score"`
	SLOs            jsonSLOs          `json:"slos"`
	Summary         string            `json:"summary"`
	Metrics         []jsonMetric      `json:"metrics"`
	Interruptions   Interruptions     `json:"interruptions"`
	Unrecovered     []UnrecoveredJob  `json:"unrecovered"`
	Phases          []PhaseStat       `json:"phases"`
	Evictions       []Eviction        `json:"evictions"`
	Waves           []Wave            `json:"waves"`
	Faults          []Fault           `json:"faults"`
	Notes           []Note            `json:"notes"`
	Aborts          []Abort           `json:"aborts"`
	Blocked         []Blocked         `json:"blocked"`
	FailedEvictions []FailedEviction  `json:"failedEvictions"`
	AllocFailures   []CodeCount       `json:"allocationFailures"`
	BootstrapFails  int               `json:"bootstrapFailures"`
	Workload        *journal.Summary  `json:"workload"`
	Timeline        []TimelinePoint   `json:"timeline"`
	Evidence        Evidence          `json:"evidence"`
	FailureModes    []FailureMode     `json:"failureModes"`
	Recommendations []Recommendation  `json:"recommendations"`
	ActionItems     []string          `json:"actionItems"`
	JournalGaps     []string          `json:"journalGaps"`
	Baseline        *jsonComparison   `json:"baseline,omitempty"`
	AKS             *AKS              `json:"aks,omitempty"`
	TTR             jsonDistributions `json:"distributions"`
}

type jsonRun struct {
	Scenario       string         `json:"scenario"`
	File           string         `json:"file,omitempty"`
	ScenarioSHA256 string         `json:"scenarioSha256,omitempty"`
	Provider       string         `json:"provider"`
	Seed           int64          `json:"seed"`
	Start          string         `json:"start,omitempty"`
	Duration       float64        `json:"duration"`
	Tool           string         `json:"tool,omitempty"`
	TraceID        string         `json:"traceId,omitempty"`
	Journal        string         `json:"journal,omitempty"`
	JournalSchema  int            `json:"journalSchemaVersion"`
	End            float64        `json:"end"`
	Status         string         `json:"status"`
	Reason         string         `json:"reason,omitempty"`
	Events         int64          `json:"events"`
	CutShort       bool           `json:"cutShort"`
	Damage         []string       `json:"damage,omitempty"`
	Truncated      bool           `json:"truncated"`
	Aborted        bool           `json:"aborted"`
	Pools          []journal.Pool `json:"pools"`
	Plan           *jsonPlan      `json:"plan"`
}

// jsonPlan is the frozen plan: how many targets (every journal schema) and
// which (schema 2 on), with the digest the person confirmed.
type jsonPlan struct {
	Digest       string              `json:"digest,omitempty"`
	NewInstances string              `json:"newInstances,omitempty"`
	Targets      int                 `json:"targets"`
	TargetIDs    []string            `json:"targetIds,omitempty"`
	Excluded     []journal.Exclusion `json:"excluded,omitempty"`
	Waves        []journal.PlanWave  `json:"waves,omitempty"`
	PlannedCost  float64             `json:"plannedCost"`
}

func planJSON(p *journal.Plan) *jsonPlan {
	if p == nil {
		return nil
	}
	return &jsonPlan{Digest: p.Digest, NewInstances: p.NewInstances, Targets: p.Size(), TargetIDs: p.Targets,
		Excluded: p.Excluded, Waves: p.Waves, PlannedCost: p.PlannedCost}
}

type jsonSLOs struct {
	Met    int         `json:"met"`
	Failed int         `json:"failed"`
	Grades []jsonGrade `json:"grades"`
}

type jsonGrade struct {
	Name      string   `json:"name,omitempty"`
	Objective string   `json:"objective"`
	Metric    string   `json:"metric,omitempty"`
	Unit      string   `json:"unit,omitempty"`
	Value     *float64 `json:"value"`
	Margin    *float64 `json:"margin"`
	Pass      bool     `json:"pass"`
	Note      string   `json:"note,omitempty"`
}

type jsonMetric struct {
	Name    string   `json:"name"`
	Unit    string   `json:"unit"`
	Value   *float64 `json:"value"`
	Note    string   `json:"note,omitempty"`
	Vacuous bool     `json:"vacuous,omitempty"`
}

type jsonComparison struct {
	*Comparison
	Metrics []jsonMetricChange `json:"metrics"`
}

type jsonMetricChange struct {
	MetricChange
	UnitName string `json:"unit"`
}

// jsonDistributions sums up the TTR distributions for charts drawn
// elsewhere: a few percentiles instead of every value.
type jsonDistributions struct {
	TTR         jsonDistribution `json:"ttr"`
	CapacityTTR jsonDistribution `json:"capacityTtr"`
}

type jsonDistribution struct {
	Count int `json:"count"`
	// Percentiles maps "p0" (the least) ... "p100" (the most) to seconds,
	// nearest-rank, for p in 0, 10, ..., 90, 95, 99, 100.
	Percentiles map[string]float64 `json:"percentiles"`
}

func distribution(sorted []float64) jsonDistribution {
	d := jsonDistribution{Count: len(sorted), Percentiles: map[string]float64{}}
	if len(sorted) == 0 {
		return d
	}
	for _, p := range []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 100} {
		i := 0
		if p > 0 {
			i = rank(len(sorted), float64(p)/100)
		}
		d.Percentiles[fmt.Sprintf("p%d", p)] = sorted[i]
	}
	return d
}

func optFloat(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

func unitName(u scenarios.Unit) string { return u.String() }

// orEmpty makes a nil list an empty one: readers get [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// WriteJSON writes the report as one JSON document with a stable,
// documented schema (report.schema.json, schemaVersion 1): the run, the
// verdict and grades, every metric (null when not measured, with a note),
// every eviction with its phases, the timeline, the evidence, failure
// modes, recommendations and action items, and the baseline comparison.
//
// The layout is one top-level field per line and one list element per
// line: diffable, greppable, and fast for a run with tens of thousands of
// evictions, where indenting every nested field would double the output
// and the time to write it.
func WriteJSON(w io.Writer, b *Bundle) error {
	s := &jsonWriter{stickyWriter: stickyWriter{w: w}}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false) // objectives hold < and >: keep them legible
	doc := buildJSON(b)
	v := reflect.ValueOf(doc).Elem()
	t := v.Type()
	s.printf("{")
	first := true
	for i := range t.NumField() {
		name, omitEmpty := jsonName(t.Field(i))
		f := v.Field(i)
		if omitEmpty && f.IsZero() {
			continue
		}
		if !first {
			s.printf(",")
		}
		first = false
		s.printf("\n%q: ", name)
		if err := writeJSONValue(s, f); err != nil {
			return fmt.Errorf("write JSON report: %s: %w", name, err)
		}
	}
	s.printf("\n}\n")
	if s.err != nil {
		return fmt.Errorf("write JSON report: %w", s.err)
	}
	return nil
}

// jsonName reads a field's JSON name and whether it is left out when empty.
func jsonName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	return name, opts == "omitempty"
}

// jsonWriter encodes values compact, one after the other.
type jsonWriter struct {
	stickyWriter
	buf bytes.Buffer
	enc *json.Encoder
}

// writeJSONValue writes a list one element a line, anything else compact.
func writeJSONValue(s *jsonWriter, v reflect.Value) error {
	if v.Kind() != reflect.Slice || v.Len() == 0 {
		return writeCompact(s, v.Interface())
	}
	s.printf("[")
	for i := range v.Len() {
		if i > 0 {
			s.printf(",")
		}
		s.printf("\n  ")
		if err := writeCompact(s, v.Index(i).Interface()); err != nil {
			return err
		}
	}
	s.printf("\n]")
	return nil
}

func writeCompact(s *jsonWriter, v any) error {
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	_, _ = s.Write(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
	return nil
}

func buildJSON(b *Bundle) *jsonReport {
	r, g, an := b.Report, b.Grading, b.Analysis
	doc := &jsonReport{
		Schema: JSONSchemaID, SchemaVersion: JSONSchemaVersion,
		Run: jsonRun{
			Scenario: r.Run.Scenario, File: r.Run.File, ScenarioSHA256: r.Run.ScenarioSHA256, Provider: r.Run.Provider,
			Seed: r.Run.Seed, Start: r.Run.Start, Duration: r.Run.Duration, Tool: r.Run.Tool, TraceID: r.TraceID, Journal: b.Source,
			JournalSchema: r.Run.SchemaVersion, End: r.End, Status: withDefault(r.Status, "cut short"), Reason: r.Reason,
			Events: r.Tail.Events, CutShort: r.CutShort(), Damage: r.Tail.Damage, Truncated: r.Tail.Truncated, Aborted: r.Aborted(),
			Pools: orEmpty(r.Run.Pools), Plan: planJSON(r.Plan),
		},
		Verdict: g.Verdict, Score: g.Score,
		SLOs:    jsonSLOs{Met: g.Met, Failed: g.Failed, Grades: []jsonGrade{}},
		Summary: an.Summary, Interruptions: r.Interruptions,
		Unrecovered: orEmpty(r.Unrecovered), Phases: orEmpty(r.Phases), Evictions: orEmpty(r.Evictions),
		Waves: orEmpty(r.Waves), Faults: orEmpty(r.Faults), Notes: orEmpty(r.Notes), Aborts: orEmpty(r.Aborts),
		Blocked: orEmpty(r.Blocked), FailedEvictions: orEmpty(r.FailedEvictions),
		AllocFailures: orEmpty(r.AllocationFailures), BootstrapFails: r.BootstrapFailures, Workload: r.Workload,
		Timeline: orEmpty(r.Timeline), Evidence: r.Evidence, FailureModes: orEmpty(an.FailureModes),
		Recommendations: orEmpty(an.Recommendations), ActionItems: orEmpty(an.ActionItems), JournalGaps: orEmpty(an.JournalGaps),
		TTR: jsonDistributions{TTR: distribution(r.TTRs), CapacityTTR: distribution(r.CapacityTTRs)},
	}
	for _, gr := range g.Grades {
		jg := jsonGrade{Name: gr.Name, Objective: gr.Objective, Metric: gr.Metric, Pass: gr.Pass, Note: gr.Note,
			Value: optFloat(gr.Value, gr.Measured), Margin: optFloat(gr.Margin, gr.Measured)}
		if gr.Metric != "" {
			jg.Unit = unitName(gr.Unit)
		}
		doc.SLOs.Grades = append(doc.SLOs.Grades, jg)
	}
	doc.Metrics = make([]jsonMetric, 0, len(r.Metrics))
	for _, m := range r.Metrics {
		doc.Metrics = append(doc.Metrics, jsonMetric{Name: m.Name, Unit: unitName(m.Unit), Value: optFloat(m.Value, m.Measured), Note: m.Note, Vacuous: m.Vacuous})
	}
	if c := b.Baseline; c != nil {
		cc := *c
		cc.SLOs = orEmpty(cc.SLOs)
		jc := &jsonComparison{Comparison: &cc, Metrics: make([]jsonMetricChange, 0, len(c.Metrics))}
		for _, m := range c.Metrics {
			jc.Metrics = append(jc.Metrics, jsonMetricChange{MetricChange: m, UnitName: unitName(m.Unit)})
		}
		doc.Baseline = jc
	}
	doc.AKS = r.AKS
	return doc
}
