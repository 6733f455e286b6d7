package telemetry

import (
	"context"
	"fmt"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Options configure the telemetry of one run.
type Options struct {
	// Export says where the run's trace goes.
	Export Export
	// Scenario gives the region and, on the simulated fleet, the workload
	// model the simulated workers' spans need.
	Scenario *scenarios.Scenario
	// Simulated says the run is on the simulated fleet: its workers'
	// attempts become spans (SimObserver), and its journal already holds
	// the workload's events, so the correlator only measures.
	Simulated bool
	// Correlate runs the correlator even when nothing is exported: for the
	// OTLP receiver of a real run.
	Correlate bool
	// Correlator tunes the correlator; its Sink is set by Attach.
	Correlator CorrelatorOptions
	// ResourceID maps a VM name to its ARM resource ID, for
	// cloud.resource_id on eviction spans; nil on the simulated fleet.
	ResourceID func(vm string) string
}

// Session is the telemetry of one run. Put Sink on the run's bus before the
// journal writer, hand SimObserver to the simulated fleet, and call Finish
// once the run is graded.
type Session struct {
	tp   *sdktrace.TracerProvider
	run  *runTrace
	corr *Correlator
	sim  bool
}

// Start sets up the telemetry the options ask for, or returns nil when they
// ask for none.
func Start(ctx context.Context, opts Options) (*Session, error) {
	exporters, err := opts.Export.exporters(ctx)
	if err != nil {
		return nil, err
	}
	if len(exporters) == 0 && !opts.Correlate {
		return nil, nil
	}
	s := &Session{corr: NewCorrelator(opts.Correlator), sim: opts.Simulated}
	if len(exporters) == 0 && !opts.Simulated {
		// A real run's receiver without an exporter: correlation only.
		return s, nil
	}
	res, err := opts.Export.resource()
	if err != nil {
		return nil, err
	}
	s.tp = newProvider(res, exporters, s.corr.Processor())
	region := ""
	var model *simModel
	if sc := opts.Scenario; sc != nil {
		if sc.Fleet != nil {
			region = sc.Fleet.Region
		}
		if opts.Simulated {
			model = newSimModel(sc.Workload)
		}
	}
	s.run = newRunTrace(s.tp, s.corr, region, opts.ResourceID, model)
	return s, nil
}

// Sink is the session's journal sink: the correlator reads eviction
// events, and the run's trace stamps trace and span IDs on the events it
// traces, which is why it must come before the journal writer.
func (s *Session) Sink() journal.Sink {
	return journal.SinkFunc(func(e *journal.Event) {
		s.corr.Emit(e)
		if s.run != nil {
			s.run.Emit(e)
		}
	})
}

// SimObserver is the simulated workers' instrumentation, for sim.Options;
// nil (an interface holding nothing) when the run is not simulated.
func (s *Session) SimObserver() sim.Observer {
	if s == nil || !s.sim || s.run == nil {
		return nil
	}
	return s.run
}

// Correlator is the session's correlator, which the receiver feeds.
func (s *Session) Correlator() *Correlator { return s.corr }

// Attach sends the correlator's inferred events to the run's bus (nil for
// none), once the bus exists, on a real fleet. origin gives the wall time
// of the run's T=0 once the world has started (the Azure world's
// StartTime); nil on the simulated fleet.
func (s *Session) Attach(bus journal.Sink, origin func() time.Time) {
	if bus != nil {
		s.corr.SetSink(bus)
	}
	if origin == nil {
		return
	}
	s.corr.SetOriginFunc(origin)
	if s.run != nil {
		s.run.mu.Lock()
		s.run.originFunc = origin
		s.run.mu.Unlock()
	}
}

// TraceID is the run's trace ID, empty before run.started or without an
// exporter.
func (s *Session) TraceID() string {
	if s == nil || s.run == nil {
		return ""
	}
	s.run.mu.Lock()
	defer s.run.mu.Unlock()
	if s.run.root == nil {
		return ""
	}
	return s.run.root.SpanContext().TraceID().String()
}

// Finish ends the run's spans, with the SLO grades and metrics on the root
// span (either may be nil), and flushes every exporter. Call it once the
// run has ended; the session is done after it.
func (s *Session) Finish(ctx context.Context, g *reports.Grading, metrics []reports.MetricValue) error {
	s.corr.Flush()
	if s.run == nil {
		return nil
	}
	s.run.finish(g, metrics)
	if err := s.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("telemetry: flush spans: %w", err)
	}
	return nil
}

// Close ends what Finish did not (a run that failed before grading).
func (s *Session) Close(ctx context.Context) error {
	if s.run == nil {
		return nil
	}
	s.run.mu.Lock()
	done := s.run.done
	s.run.mu.Unlock()
	if done {
		return nil
	}
	return s.Finish(ctx, nil, nil)
}

// FlushTimeout is how long Finish may take to send the last spans.
const FlushTimeout = 30 * time.Second
