package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as "90s", "5m", "1h30m" or "2d".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// ParseDuration reads Go duration syntax plus a whole-day suffix ("2d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration (expected a duration like 90s, 5m, 1h30m)")
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil {
			if n > 365 || n < -365 {
				return 0, fmt.Errorf("duration %q is longer than a year (expected at most 365d)", s)
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (expected a duration like 90s, 5m, 1h30m)", s)
	}
	if v > MaxDuration || v < -MaxDuration {
		return 0, fmt.Errorf("duration %q is longer than a year (expected at most 8760h)", s)
	}
	return v, nil
}

// FormatDuration prints a duration the way scenarios write them, without
// trailing zero units ("1h30m" rather than "1h30m0s").
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML accepts a duration string; a bare number is refused because
// its unit would be a guess.
//
// The value types take the decoded scalar (the interface form), not their
// source text: the YAML library formats the whole document again to give
// a type its source, which made parsing quadratic in the number of values.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	s, err := scalarFrom(unmarshal)
	if err != nil {
		return err
	}
	return d.set(s)
}

func (d *Duration) set(s string) error {
	if _, err := strconv.ParseFloat(s, 64); err == nil && s != "0" {
		return fmt.Errorf("%s has no unit (expected a duration like 90s, 5m, 1h30m)", s)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the scenario spelling back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Percent is a fraction from 0 to 1 written as "25%".
type Percent float64

// ParsePercent reads "25%" or "2.5%" into a fraction.
func ParsePercent(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return 0, fmt.Errorf("invalid percentage %q (expected a percentage like 25%%)", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid percentage %q (expected a percentage like 25%%)", s)
	}
	return v / 100, nil
}

// UnmarshalYAML accepts "25%".
func (p *Percent) UnmarshalYAML(unmarshal func(any) error) error {
	s, err := scalarFrom(unmarshal)
	if err != nil {
		return err
	}
	v, err := ParsePercent(s)
	if err != nil {
		return err
	}
	*p = Percent(v)
	return nil
}

// MarshalYAML writes "25%".
func (p Percent) MarshalYAML() (any, error) { return p.String(), nil }

func (p Percent) String() string {
	return strconv.FormatFloat(float64(p)*100, 'f', -1, 64) + "%"
}

// Distribution kinds.
const (
	DistFixed       = "fixed"
	DistUniform     = "uniform"
	DistExponential = "exponential"
	DistLogNormal   = "lognormal"
)

// Dist is a distribution of durations. A bare duration ("20m") is fixed.
type Dist struct {
	Dist   string   `yaml:"dist" json:"dist"`
	Value  Duration `yaml:"value,omitempty" json:"value,omitempty"`
	Min    Duration `yaml:"min,omitempty" json:"min,omitempty"`
	Max    Duration `yaml:"max,omitempty" json:"max,omitempty"`
	Mean   Duration `yaml:"mean,omitempty" json:"mean,omitempty"`
	StdDev Duration `yaml:"stddev,omitempty" json:"stddev,omitempty"`
}

// distFields lets Dist decode its mapping form without recursing into its own
// UnmarshalYAML.
type distFields Dist

// UnmarshalYAML accepts a duration or a mapping.
func (d *Dist) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		var v Duration
		if err := v.set(s); err != nil {
			return err
		}
		*d = Dist{Dist: DistFixed, Value: v}
		return nil
	}
	var f distFields
	if err := unmarshal(&f); err != nil {
		return errors.New(yamlMessage(err))
	}
	*d = Dist(f)
	return nil
}

// Expected returns the distribution's expected value.
func (d Dist) Expected() time.Duration {
	switch d.Dist {
	case DistFixed:
		return d.Value.D()
	case DistUniform:
		return (d.Min.D() + d.Max.D()) / 2
	default:
		return d.Mean.D()
	}
}

func (d Dist) String() string {
	switch d.Dist {
	case DistFixed:
		return d.Value.String()
	case DistUniform:
		return fmt.Sprintf("uniform %s-%s", d.Min, d.Max)
	case DistExponential:
		return fmt.Sprintf("exponential mean %s", d.Mean)
	case DistLogNormal:
		return fmt.Sprintf("lognormal mean %s sd %s", d.Mean, d.StdDev)
	}
	return d.Dist
}

// scalarFrom decodes a single value as its text.
func scalarFrom(unmarshal func(any) error) (string, error) {
	var s string
	if err := unmarshal(&s); err != nil {
		return "", errors.New("got a mapping or a list (expected a single value)")
	}
	return s, nil
}

// JSON uses the scenario spellings too, so that a scenario written as JSON
// reads the same and matches the JSON Schema.

// MarshalJSON writes "1h30m".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "1h30m" or "2d".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("got %s (expected a duration like 90s, 5m, 1h30m)", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "25%".
func (p Percent) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON reads "25%".
func (p *Percent) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("got %s (expected a percentage like 25%%)", b)
	}
	v, err := ParsePercent(s)
	if err != nil {
		return err
	}
	*p = Percent(v)
	return nil
}

// UnmarshalJSON accepts a duration string or the mapping form.
func (d *Dist) UnmarshalJSON(b []byte) error {
	if trimmed := strings.TrimSpace(string(b)); strings.HasPrefix(trimmed, "\"") {
		var v Duration
		if err := v.UnmarshalJSON(b); err != nil {
			return err
		}
		*d = Dist{Dist: DistFixed, Value: v}
		return nil
	}
	var f distFields
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return err
	}
	*d = Dist(f)
	return nil
}
