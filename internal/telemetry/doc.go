// Package telemetry is spotdrill's OpenTelemetry side: the run's own trace
// (a root span per game day, a span per wave, a span per eviction with its
// phases), the simulated workers' spans, an OTLP/HTTP receiver for real
// workers' spans, and the correlator that ties evictions to the work they
// interrupted and measures time to recover and lost work from those spans.
//
// Everything is off unless asked for: Start returns a nil Session when no
// exporter is configured and nothing needs correlating, and a run without
// one pays nothing. docs/telemetry.md describes the conventions.
package telemetry
