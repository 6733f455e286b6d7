package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Unit says how a metric's values are written and compared.
type Unit int

const (
	// UnitSeconds values are written as durations ("2m") and held in seconds.
	UnitSeconds Unit = iota
	// UnitFraction values are written as percentages ("5%") and held as 0-1.
	UnitFraction
	// UnitCount values are plain numbers of things.
	UnitCount
	// UnitUSD values are US dollars.
	UnitUSD
	// UnitRate values are per hour.
	UnitRate
)

func (u Unit) String() string {
	return [...]string{"seconds", "fraction", "count", "USD", "per hour"}[u]
}

// Metric is one entry of the vocabulary that SLOs, abort conditions and
// reports share.
type Metric struct {
	Name  string
	Unit  Unit
	About string
	// HigherIsBetter orders margins and regressions.
	HigherIsBetter bool
}

// Metrics is the vocabulary, in report order.
var Metrics = []Metric{
	{"evictions.count", UnitCount, "evictions in the run (injected and natural)", false},
	{"evictions.ratePerHour", UnitRate, "evictions per Spot VM-hour", false},
	{"evictions.uncorrelated", UnitCount, "evictions with no workload signal (observability gap)", false},
	{"jobs.successRate", UnitFraction, "completed / submitted", true},
	{"jobs.spotSuccessRate", UnitFraction, "completed on Spot without fallback / submitted", true},
	{"jobs.duplicates", UnitCount, "jobs completed more than once", false},
	{"jobs.turnaround.mean", UnitSeconds, "submit to done, mean", false},
	{"jobs.turnaround.p50", UnitSeconds, "submit to done, median", false},
	{"jobs.turnaround.p95", UnitSeconds, "submit to done, 95th percentile", false},
	{"ttr.p50", UnitSeconds, "time to recover per interrupted job, median", false},
	{"ttr.p95", UnitSeconds, "time to recover per interrupted job, 95th percentile", false},
	{"ttr.p99", UnitSeconds, "time to recover per interrupted job, 99th percentile", false},
	{"ttr.max", UnitSeconds, "time to recover per interrupted job, worst", false},
	{"ttr.unrecovered", UnitCount, "interrupted jobs not running again by the end", false},
	{"ttr.capacity.p50", UnitSeconds, "evicted to replacement running, median", false},
	{"ttr.capacity.p95", UnitSeconds, "evicted to replacement running, 95th percentile", false},
	{"cost.total", UnitUSD, "spend on all VMs", false},
	{"cost.perJob", UnitUSD, "spend per completed job", false},
	{"cost.savings", UnitFraction, "saved against running the same VM-hours on demand", true},
	{"cost.variance", UnitFraction, "(actual - planned) / planned spend", false},
	{"queue.backlog.max", UnitCount, "jobs waiting, peak", false},
	{"queue.backlog.mean", UnitCount, "jobs waiting, time-weighted mean", false},
	{"queue.wait.p95", UnitSeconds, "submit (or requeue) to start, 95th percentile", false},
	{"fallback.rate", UnitFraction, "share of VM-hours on fallback Regular VMs", false},
	{"fallback.cost", UnitUSD, "spend on fallback Regular VMs", false},
	{"lostWork.seconds", UnitSeconds, "compute thrown away by evictions", false},
	{"lostWork.fraction", UnitFraction, "lost compute / all compute", false},
	{"provision.latency.p50", UnitSeconds, "allocation request to VM running, median", false},
	{"provision.latency.p95", UnitSeconds, "allocation request to VM running, 95th percentile", false},
	{"provision.rejectionRate", UnitFraction, "failed allocations / requests", false},
}

var metricByName = func() map[string]Metric {
	m := make(map[string]Metric, len(Metrics))
	for _, x := range Metrics {
		m[x.Name] = x
	}
	return m
}()

// LookupMetric finds a metric of the vocabulary by name.
func LookupMetric(name string) (Metric, bool) {
	m, ok := metricByName[name]
	return m, ok
}

// MetricNames lists the vocabulary, sorted, for error messages.
func MetricNames() []string {
	names := make([]string, 0, len(Metrics))
	for _, m := range Metrics {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}

// Condition is "metric op value", such as "ttr.p95 <= 2m". Decoding keeps
// the text; Parse fills the rest so that Validate can report every bad
// condition at once.
type Condition struct {
	Raw    string
	Metric string
	Op     string
	// Value is in the metric's unit: seconds, a 0-1 fraction, a count, USD.
	Value float64
}

// UnmarshalYAML keeps the text for Validate.
func (c *Condition) UnmarshalYAML(unmarshal func(any) error) error {
	s, err := scalarFrom(unmarshal)
	if err != nil {
		return err
	}
	*c = Condition{Raw: s}
	return nil
}

// MarshalYAML writes the text back.
func (c Condition) MarshalYAML() (any, error) { return c.Raw, nil }

func (c Condition) String() string { return c.Raw }

// MarshalJSON writes the text, as the JSON Schema describes it.
func (c Condition) MarshalJSON() ([]byte, error) { return json.Marshal(c.Raw) }

// UnmarshalJSON keeps the text for Validate, like UnmarshalYAML.
func (c *Condition) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("got %s (expected a condition like \"ttr.p95 <= 2m\")", b)
	}
	*c = Condition{Raw: s}
	return nil
}

var ops = []string{"<=", ">=", "<", ">"}

// ParseCondition reads "metric op value".
func ParseCondition(s string) (Condition, error) {
	c := Condition{Raw: s}
	src := strings.TrimSpace(s)
	at := -1
	for i := 0; i < len(src) && at < 0; i++ {
		for _, op := range ops {
			if strings.HasPrefix(src[i:], op) {
				at, c.Op = i, op
				break
			}
		}
	}
	if at < 0 {
		return c, fmt.Errorf("condition %q has no comparison (expected \"metric <= value\" with one of <, <=, >, >=)", s)
	}
	c.Metric = strings.TrimSpace(src[:at])
	raw := strings.TrimSpace(src[at+len(c.Op):])
	m, ok := LookupMetric(c.Metric)
	if !ok {
		return c, fmt.Errorf("unknown metric %q (expected one of %s)", c.Metric, strings.Join(MetricNames(), ", "))
	}
	v, err := parseValue(raw, m.Unit)
	if err != nil {
		return c, fmt.Errorf("metric %s: %w", c.Metric, err)
	}
	c.Value = v
	return c, nil
}

func parseValue(raw string, u Unit) (float64, error) {
	if raw == "" {
		return 0, fmt.Errorf("no value after the comparison")
	}
	switch u {
	case UnitSeconds:
		d, err := ParseDuration(raw)
		if err != nil {
			return 0, err
		}
		return d.Seconds(), nil
	case UnitFraction:
		if strings.HasSuffix(raw, "%") {
			return ParsePercent(raw)
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || v < 0 || v > 1 {
			return 0, fmt.Errorf("invalid value %q (expected a percentage like 5%% or a fraction from 0 to 1)", raw)
		}
		return v, nil
	default:
		v, err := strconv.ParseFloat(strings.TrimPrefix(raw, "$"), 64)
		if err != nil {
			return 0, fmt.Errorf("invalid value %q (expected a number)", raw)
		}
		return v, nil
	}
}

// Holds reports whether a measured value satisfies the condition.
func (c Condition) Holds(v float64) bool {
	switch c.Op {
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case ">":
		return v > c.Value
	case ">=":
		return v >= c.Value
	}
	return false
}

// FormatValue prints a value in a metric's unit the way a scenario writes it.
func FormatValue(u Unit, v float64) string {
	switch u {
	case UnitSeconds:
		return FormatSeconds(v)
	case UnitFraction:
		return strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
	case UnitUSD:
		if v != 0 && v < 1 && v > -1 {
			return "$" + strconv.FormatFloat(v, 'f', 4, 64)
		}
		return "$" + strconv.FormatFloat(v, 'f', 2, 64)
	case UnitRate:
		return strconv.FormatFloat(v, 'f', 4, 64) + "/h"
	default:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// FormatSeconds prints seconds as a short duration ("1m32.5s").
func FormatSeconds(v float64) string {
	if v < 0 {
		return "-" + FormatSeconds(-v)
	}
	switch {
	case v == 0:
		return "0s"
	case v < 1:
		return strconv.FormatFloat(v*1000, 'f', 0, 64) + "ms"
	case v < 60:
		return strconv.FormatFloat(v, 'f', 1, 64) + "s"
	case v < 3600:
		r := math.Round(v)
		m := int(r) / 60
		return fmt.Sprintf("%dm%02ds", m, int(r)-m*60)
	default:
		h := int(v) / 3600
		m := (int(v) - h*3600) / 60
		return fmt.Sprintf("%dh%02dm", h, m)
	}
}
