// Command localgameday plays a small game day on this machine with real
// worker processes, to try spotdrill's receiver and correlator without
// Azure: it starts spotdrill's OTLP receiver on loopback, a fake IMDS for two
// "VMs", and the example worker on the first. When the worker has
// checkpointed, it evicts that VM as Azure would (a Preempt Scheduled Event,
// then, when the notice runs out, SIGKILL), starts a replacement worker on
// the second, and prints the report computed from the journal that the
// correlator fed: the TTR and the work lost.
//
//	go build -o /tmp/worker ./examples/worker
//	go run ./examples/worker/localgameday -worker /tmp/worker
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spotdrill/spotdrill/internal/telemetry"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/pkg/spotwork"
	"github.com/spotdrill/spotdrill/pkg/spotwork/spotworktest"
	"github.com/spotdrill/spotdrill/reports"
)

// options of a local game day.
type options struct {
	worker          string // the example worker's binary
	dir             string // where the queue and the journal go
	work            time.Duration
	checkpointEvery time.Duration
	notice          time.Duration
	lease           time.Duration
	onNotice        string
	log             io.Writer
}

// outcome is what the game day measured, and what it knows independently
// of the spans: when it evicted the VM, when the first worker last
// checkpointed, when the second one resumed the job.
type outcome struct {
	journal      string
	report       *reports.Report
	result       telemetry.Result
	evicted      time.Time
	checkpointed time.Time
	resumed      time.Time
	origin       time.Time
}

func main() {
	o := options{log: os.Stderr}
	flag.StringVar(&o.worker, "worker", "", "path of the built example worker (go build -o /tmp/worker ./examples/worker)")
	flag.StringVar(&o.dir, "dir", "", "folder for the queue and the journal (default: a new temporary folder)")
	flag.DurationVar(&o.work, "work", 12*time.Second, "compute the job needs")
	flag.DurationVar(&o.checkpointEvery, "checkpoint-every", 2*time.Second, "compute between checkpoints")
	flag.DurationVar(&o.notice, "notice", 3*time.Second, "Preempt notice before the VM is killed")
	flag.DurationVar(&o.lease, "lease", 2*time.Second, "the queue's visibility timeout")
	flag.StringVar(&o.onNotice, "on-notice", "ignore", "what the worker does on the notice: checkpoint, drain or ignore")
	flag.Parse()
	if o.worker == "" {
		fmt.Fprintln(os.Stderr, "localgameday: -worker is required")
		os.Exit(2)
	}
	if o.dir == "" {
		dir, err := os.MkdirTemp("", "localgameday-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "localgameday:", err)
			os.Exit(1)
		}
		o.dir = dir
	}
	out, err := gameDay(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localgameday:", err)
		os.Exit(1)
	}
	if err := reports.WriteText(os.Stdout, out.report, out.report.Grading, reports.TextOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "localgameday:", err)
		os.Exit(1)
	}
	fmt.Printf("\njournal: %s\n", out.journal)
	fmt.Printf("known without spans: evicted at %.3fs, last checkpoint before it at %.3fs, resumed at %.3fs\n",
		out.evicted.Sub(out.origin).Seconds(), out.checkpointed.Sub(out.origin).Seconds(), out.resumed.Sub(out.origin).Seconds())
	fmt.Printf("  so TTR = %.3fs and lost work = %.3fs\n", out.resumed.Sub(out.evicted).Seconds(), out.evicted.Sub(out.checkpointed).Seconds())
}

// gameDay plays it.
func gameDay(ctx context.Context, o options) (outcome, error) {
	var out outcome
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	queue := filepath.Join(o.dir, "queue")
	if err := os.MkdirAll(filepath.Join(queue, "todo"), 0o755); err != nil {
		return out, err
	}
	job, _ := json.Marshal(map[string]string{"work": o.work.String()})
	if err := os.WriteFile(filepath.Join(queue, "todo", "job-1"), job, 0o644); err != nil {
		return out, err
	}

	// The journal side of spotdrill on a real fleet: the correlator first
	// on the bus, its inferred events back into the bus.
	out.journal = filepath.Join(o.dir, "journal.jsonl")
	f, err := os.Create(out.journal)
	if err != nil {
		return out, err
	}
	defer f.Close()
	jw := journal.NewWriter(f)
	live := reports.NewAccumulator()
	sess, err := telemetry.Start(ctx, telemetry.Options{Correlate: true,
		Correlator: telemetry.CorrelatorOptions{ExpectSignals: true, Grace: 30 * time.Second}})
	if err != nil {
		return out, err
	}
	bus := journal.NewBus(sess.Sink(), jw, live)
	out.origin = time.Now()
	sess.Attach(bus, func() time.Time { return out.origin })
	corrCtx, stopCorr := context.WithCancel(ctx)
	corrDone := make(chan struct{})
	go func() { defer close(corrDone); sess.Correlator().Run(corrCtx, 200*time.Millisecond) }()
	defer func() { stopCorr(); <-corrDone }()

	rcv := telemetry.NewReceiver(sess.Correlator(), telemetry.ReceiverOptions{})
	srv, err := rcv.Listen("127.0.0.1:0")
	if err != nil {
		return out, err
	}
	defer srv.Close(context.Background())
	fmt.Fprintf(o.log, "receiver on http://%s%s\n", srv.Addr(), telemetry.TracesPath)

	imdsA := spotworktest.NewIMDS(spotwork.Instance{Name: "vm-a", Zone: "1"})
	defer imdsA.Close()
	imdsB := spotworktest.NewIMDS(spotwork.Instance{Name: "vm-b", Zone: "2"})
	defer imdsB.Close()

	t := func() float64 { return time.Since(out.origin).Seconds() }
	emit := func(e journal.Event) { e.T = t(); bus.Emit(&e) }
	emit(journal.Event{Type: journal.RunStarted, Run: &journal.Run{SchemaVersion: journal.SchemaVersion,
		Tool: "localgameday", Scenario: "local-game-day", Provider: "local", Start: out.origin.UTC().Format(time.RFC3339Nano),
		Duration: (2 * time.Minute).Seconds(),
		Pools:    []journal.Pool{{Name: "spot", Priority: "Spot", Capacity: 1, Zones: []string{"1", "2"}}},
		SLOs:     []journal.SLO{{Name: "recover fast", Objective: "ttr.max <= 10s"}}}})
	emit(journal.Event{Type: journal.VMRunning, VM: "vm-a", Pool: "spot", Zone: "1", Priority: "Spot"})

	start := func(host, imds string, extra ...string) (*exec.Cmd, error) {
		args := append([]string{"-queue", queue, "-host", host, "-imds", imds, "-on-notice", o.onNotice,
			"-checkpoint-every", o.checkpointEvery.String(), "-checkpoint-cost", "100ms", "-lease", o.lease.String()}, extra...)
		cmd := exec.CommandContext(ctx, o.worker, args...)
		cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+srv.Addr(), "OTEL_SERVICE_NAME=example-worker")
		cmd.Stdout, cmd.Stderr = o.log, o.log
		return cmd, cmd.Start()
	}
	a, err := start("vm-a", imdsA.URL())
	if err != nil {
		return out, fmt.Errorf("start the worker: %w", err)
	}
	defer func() { _ = a.Process.Kill(); _ = a.Wait() }()

	// Evict vm-a once the job is past its first checkpoint.
	if _, err := waitState(ctx, queue, func(s state) bool { return !s.Checkpointed.IsZero() }); err != nil {
		return out, fmt.Errorf("wait for a checkpoint: %w", err)
	}
	time.Sleep(o.checkpointEvery / 2)
	emit(journal.Event{Type: journal.WaveStarted, Wave: "evict-a", Code: "evict", Count: 1, Reason: "evict vm-a"})
	emit(journal.Event{Type: journal.EvictionRequested, Wave: "evict-a", VM: "vm-a", Pool: "spot", Zone: "1", Cause: journal.CauseInjected})
	imdsA.Preempt(o.notice, "vm-a")
	emit(journal.Event{Type: journal.EvictionNoticed, VM: "vm-a", Pool: "spot", Zone: "1", Cause: journal.CauseInjected, At: journal.Ptr(t() + o.notice.Seconds())})
	time.Sleep(o.notice)
	if err := a.Process.Kill(); err != nil {
		return out, fmt.Errorf("evict vm-a: %w", err)
	}
	_ = a.Wait()
	out.evicted = time.Now()
	emit(journal.Event{Type: journal.EvictionEvicted, VM: "vm-a", Pool: "spot", Zone: "1", Cause: journal.CauseInjected, Policy: "Delete", Count: 1})
	st, err := readState(queue)
	if err != nil {
		return out, err
	}
	out.checkpointed = st.Checkpointed

	// The replacement comes up and its worker resumes the job once the
	// dead worker's lease expires.
	requested := t()
	emit(journal.Event{Type: journal.VMRequested, Pool: "spot", Zone: "2", Replaces: "vm-a"})
	emit(journal.Event{Type: journal.VMRunning, VM: "vm-b", Pool: "spot", Zone: "2", Priority: "Spot", Replaces: "vm-a", At: journal.Ptr(requested)})
	b, err := start("vm-b", imdsB.URL(), "-exit-when-empty")
	if err != nil {
		return out, fmt.Errorf("start the replacement worker: %w", err)
	}
	if err := b.Wait(); err != nil {
		return out, fmt.Errorf("replacement worker: %w", err)
	}
	st, err = readState(queue)
	if err != nil {
		return out, err
	}
	out.resumed = st.Started

	// The workers flushed their spans on exit; settle and close.
	sess.Correlator().Flush()
	emit(journal.Event{Type: journal.RunEnded, Status: journal.StatusCompleted})
	if err := jw.Close(); err != nil {
		return out, err
	}
	if err := f.Close(); err != nil {
		return out, err
	}
	out.result = sess.Correlator().Result()
	if out.report, err = reports.Load(out.journal); err != nil {
		return out, err
	}
	return out, nil
}

// state is the part of the example worker's job state the harness reads.
type state struct {
	Attempts     int       `json:"attempts"`
	Started      time.Time `json:"started"`
	Checkpointed time.Time `json:"checkpointed"`
}

func readState(queue string) (state, error) {
	var s state
	b, err := os.ReadFile(filepath.Join(queue, "state", "job-1"))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func waitState(ctx context.Context, queue string, ok func(state) bool) (state, error) {
	for {
		if s, err := readState(queue); err == nil && ok(s) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return state{}, errors.Join(ctx.Err(), errors.New("the worker made no progress"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
