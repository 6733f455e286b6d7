package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/internal/telemetry"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// TelemetryOptions are the OpenTelemetry flags of `spotdrill run`. The
// standard OTEL_EXPORTER_OTLP_* variables send the run's trace to an OTLP
// endpoint; these add a trace file and the receiver for real workers.
type TelemetryOptions struct {
	// TraceFile receives the run's trace as OTLP JSON lines.
	TraceFile string
	// OTLPListen is where the OTLP/HTTP receiver listens for real workers'
	// spans; empty for no receiver.
	OTLPListen string
	// OTLPListenGRPC is where the same receiver listens over OTLP/gRPC.
	OTLPListenGRPC string
	// Getenv reads the environment; os.Getenv unless a test sets it.
	Getenv func(string) string
}

// tokenEnv holds the bearer token the receiver asks of workers: an
// environment variable, since a flag would show in the process list.
const tokenEnv = "SPOTDRILL_OTLP_TOKEN"

// addTelemetryFlags registers the telemetry flags on a command.
func addTelemetryFlags(cmd *cobra.Command, o *TelemetryOptions) {
	cmd.Flags().StringVar(&o.TraceFile, "trace-file", "", "write the run's OpenTelemetry trace to `PATH` as OTLP JSON lines (OTEL_EXPORTER_OTLP_ENDPOINT sends it to a collector)")
	cmd.Flags().StringVar(&o.OTLPListen, "otlp-listen", "", "receive real workers' spans over OTLP/HTTP on `ADDR` (\":4318\" is loopback; another host needs "+tokenEnv+")")
	cmd.Flags().StringVar(&o.OTLPListenGRPC, "otlp-listen-grpc", "", "receive real workers' spans over OTLP/gRPC on `ADDR` (\":4317\" by convention; the same limits and token as --otlp-listen)")
}

// runTelemetry is one run's telemetry; a nil *runTelemetry is telemetry
// off, and every method works on it.
type runTelemetry struct {
	ios  *IOStreams
	sess *telemetry.Session
	file *os.File
	path string
	rcv  *telemetry.Receiver
	srv  *telemetry.Server
	gsrv *telemetry.GRPCServer
	stop context.CancelFunc
	done chan struct{}
}

// start sets up what the flags and the environment ask for, or returns nil.
// Its errors are the user's: bad flags or variables.
func (o *TelemetryOptions) start(ios *IOStreams, sc *scenarios.Scenario, version string) (*runTelemetry, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	simulated := sc.Target.Provider == scenarios.ProviderSim
	if (o.OTLPListen != "" || o.OTLPListenGRPC != "") && simulated {
		return nil, errors.New("--otlp-listen and --otlp-listen-grpc receive real workers' spans and need provider azure; the simulated fleet's workers trace themselves (use --trace-file)")
	}
	token := getenv(tokenEnv)
	var addr, gaddr string
	if o.OTLPListen != "" {
		var err error
		if addr, err = telemetry.ListenAddr(o.OTLPListen, token); err != nil {
			return nil, err
		}
	}
	if o.OTLPListenGRPC != "" {
		var err error
		if gaddr, err = telemetry.ListenAddr(o.OTLPListenGRPC, token); err != nil {
			return nil, fmt.Errorf("--otlp-listen-grpc: %w", err)
		}
	}
	receiving := addr != "" || gaddr != ""
	t := &runTelemetry{ios: ios}
	export := telemetry.Export{Getenv: getenv, ServiceVersion: version}
	if o.TraceFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.TraceFile), 0o755); err != nil {
			return nil, fmt.Errorf("trace file: %w", err)
		}
		f, err := os.Create(o.TraceFile)
		if err != nil {
			return nil, fmt.Errorf("trace file: %w", err)
		}
		t.file, t.path, export.TraceFile = f, o.TraceFile, f
	}
	sess, err := telemetry.Start(context.Background(), telemetry.Options{
		Export: export, Scenario: sc, Simulated: simulated, Correlate: receiving,
		// Without a receiver no span can come: no eviction is a gap.
		Correlator: telemetry.CorrelatorOptions{ExpectSignals: receiving},
	})
	if err != nil {
		t.close()
		return nil, err
	}
	if sess == nil {
		t.close()
		return nil, nil
	}
	t.sess = sess
	if receiving {
		t.rcv = telemetry.NewReceiver(sess.Correlator(), telemetry.ReceiverOptions{Token: token})
	}
	if addr != "" {
		if t.srv, err = t.rcv.Listen(addr); err != nil {
			t.close()
			return nil, err
		}
		fmt.Fprintf(ios.Err, "otlp: receiving workers' spans on http://%s%s\n", t.srv.Addr(), telemetry.TracesPath)
	}
	if gaddr != "" {
		if t.gsrv, err = t.rcv.ListenGRPC(gaddr); err != nil {
			t.close()
			return nil, err
		}
		fmt.Fprintf(ios.Err, "otlp: receiving workers' spans over gRPC on %s\n", t.gsrv.Addr())
	}
	return t, nil
}

// sinks puts the telemetry's sink before the others on the bus: it stamps
// trace IDs on the events before the journal writer writes them.
func (t *runTelemetry) sinks(rest ...journal.Sink) []journal.Sink {
	if t == nil {
		return rest
	}
	return append([]journal.Sink{t.sess.Sink()}, rest...)
}

// attach lets the correlator write what it infers from real workers' spans
// to the run's bus, and settle evictions as time passes. A real world tells
// the wall time of the run's T=0 (StartTime) once it has started.
func (t *runTelemetry) attach(bus *journal.Bus, world any) {
	if t == nil {
		return
	}
	var origin func() time.Time
	if w, ok := world.(interface{ StartTime() time.Time }); ok {
		origin = w.StartTime
	}
	if t.rcv == nil {
		t.sess.Attach(nil, origin)
		return
	}
	t.sess.Attach(bus, origin)
	ctx, stop := context.WithCancel(context.Background())
	t.stop, t.done = stop, make(chan struct{})
	go func() {
		defer close(t.done)
		t.sess.Correlator().Run(ctx, 0)
	}()
}

// simObserver is the simulated workers' instrumentation, or nil.
func (t *runTelemetry) simObserver() sim.Observer {
	if t == nil {
		return nil
	}
	return t.sess.SimObserver()
}

// finish ends the trace with the run's grades, flushes it, and says where
// it went and what the receiver saw.
func (t *runTelemetry) finish(rep *reports.Report, g reports.Grading) error {
	if t == nil {
		return nil
	}
	t.stopReceiver()
	ctx, cancel := context.WithTimeout(context.Background(), telemetry.FlushTimeout)
	defer cancel()
	err := t.sess.Finish(ctx, &g, rep.Metrics)
	if id := t.sess.TraceID(); id != "" {
		where := "exported"
		if t.path != "" {
			where = t.path
		}
		fmt.Fprintf(t.ios.Err, "trace: %s (%s)\n", id, where)
	}
	if t.rcv != nil {
		uncorrelated := 0
		if m, ok := rep.Metric("evictions.uncorrelated"); ok {
			uncorrelated = int(m.Value)
		}
		fmt.Fprintln(t.ios.Err, receiverSummary(t.rcv.Stats(), t.sess.Correlator().Result(), uncorrelated))
	}
	if cerr := t.close(); err == nil {
		err = cerr
	}
	return err
}

// receiverSummary says what came in and what could not be used. The count
// of uncorrelated evictions is the report's (evictions.uncorrelated, from
// the journal), so that the two never disagree.
func receiverSummary(st telemetry.ReceiverStats, res telemetry.Result, uncorrelated int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "otlp: %d spans from workers, %d interruptions correlated, %d evictions uncorrelated", st.Spans, len(res.Interruptions), uncorrelated)
	if st.Unconventional > 0 {
		fmt.Fprintf(&b, "; %d spans without spotdrill.job.id", st.Unconventional)
	}
	if n := len(res.Spans.UnknownHosts); n > 0 {
		var hosts []string
		for i, h := range res.Spans.UnknownHosts {
			if i == 5 {
				hosts = append(hosts, fmt.Sprintf("and %d more", n-5))
				break
			}
			hosts = append(hosts, fmt.Sprintf("%s (%d)", h.Host, h.Spans))
		}
		fmt.Fprintf(&b, "; from hosts not in the run: %s", strings.Join(hosts, ", "))
	}
	if refused := st.BadRequest + st.Unauthorized + st.TooLarge + st.Unsupported; refused > 0 {
		fmt.Fprintf(&b, "; %d requests refused", refused)
	}
	return b.String()
}

func (t *runTelemetry) stopReceiver() {
	if t.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), telemetry.FlushTimeout)
		_ = t.srv.Close(ctx)
		cancel()
		t.srv = nil
	}
	if t.gsrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), telemetry.FlushTimeout)
		_ = t.gsrv.Close(ctx)
		cancel()
		t.gsrv = nil
	}
	if t.stop != nil {
		t.stop()
		<-t.done
		t.stop = nil
	}
}

// close releases everything; after finish, or instead of it when the run
// failed. It may be called more than once.
func (t *runTelemetry) close() error {
	if t == nil {
		return nil
	}
	t.stopReceiver()
	var err error
	if t.sess != nil {
		ctx, cancel := context.WithTimeout(context.Background(), telemetry.FlushTimeout)
		err = t.sess.Close(ctx)
		cancel()
	}
	if t.file != nil {
		if cerr := t.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("trace file: %w", cerr)
		}
		t.file = nil
	}
	return err
}
