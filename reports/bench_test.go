package reports

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/spotdrill/spotdrill/journal"
)

// writeSyntheticJournal writes a journal of about n events shaped like a
// busy simulated game day: a fleet of Spot VMs evicted and replaced over and
// over, each eviction interrupting jobs that resume and complete, with
// samples, price changes and allocation failures in between.
func writeSyntheticJournal(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := journal.NewWriter(f)
	bus := journal.NewBus(w)
	emit := func(e journal.Event) { bus.Emit(&e) }

	const fleet, jobsPerVM = 200, 4
	emit(journal.Event{Type: journal.RunStarted, Run: &journal.Run{
		SchemaVersion: journal.SchemaVersion, Scenario: "synthetic", Provider: "sim", Seed: 1, Duration: 1e6,
		Pools: []journal.Pool{{Name: "spot", Priority: "Spot", Zones: []string{"1", "2", "3"}, Capacity: fleet, SpotPrice: 0.1, OnDemandPrice: 0.5}},
		SLOs: []journal.SLO{
			{Name: "ttr", Objective: "ttr.p95 <= 5m"},
			{Name: "lost", Objective: "lostWork.fraction <= 5%"},
			{Name: "cost", Objective: "cost.savings >= 50%"},
		},
	}})
	vmName := func(i int) string { return "vm-" + strconv.Itoa(i) }
	ids := make([]string, fleet)
	for i := range ids {
		ids[i] = vmName(i)
	}
	emit(journal.Event{Type: journal.Planned, Plan: &journal.Plan{Targets: ids, PlannedCost: 5000}})
	zone := func(i int) string { return strconv.Itoa(i%3 + 1) }
	for i := range fleet {
		emit(journal.Event{Type: journal.VMRunning, VM: vmName(i), Pool: "spot", Zone: zone(i), Priority: "Spot", Price: 0.1})
	}
	live := make([]int, fleet) // slot -> VM number running there
	for i := range live {
		live[i] = i
	}
	next, job, t := fleet, 0, 0.0
	events := fleet + 2
	for cycle := 0; events < n-2; cycle++ {
		t += 10
		slot := cycle % fleet
		vm := vmName(live[slot])
		emit(journal.Event{T: t, Type: journal.EvictionNoticed, VM: vm, Pool: "spot", Zone: zone(slot), Cause: journal.CauseNatural, At: journal.Ptr(t + 30)})
		emit(journal.Event{T: t + 30, Type: journal.EvictionEvicted, VM: vm, Pool: "spot", Zone: zone(slot), Cause: journal.CauseNatural, Policy: "Delete", Count: jobsPerVM})
		for j := range jobsPerVM {
			emit(journal.Event{T: t + 30, Type: journal.JobInterrupted, Job: "job-" + strconv.Itoa(job+j), VM: vm, Attempt: 1, At: journal.Ptr(t - 100), Submitted: journal.Ptr(0), Lost: 100})
		}
		emit(journal.Event{T: t + 31, Type: journal.VMRequested, Pool: "spot", Zone: zone(slot), Replaces: vm})
		if cycle%7 == 0 {
			emit(journal.Event{T: t + 35, Type: journal.VMAllocationFailed, Pool: "spot", Zone: zone(slot), Code: "capacity"})
		}
		live[slot] = next
		next++
		repl := vmName(live[slot])
		emit(journal.Event{T: t + 90, Type: journal.VMRunning, VM: repl, Pool: "spot", Zone: zone(slot), Priority: "Spot", Price: 0.1, Replaces: vm, At: journal.Ptr(t + 31)})
		for j := range jobsPerVM {
			id := "job-" + strconv.Itoa(job+j)
			emit(journal.Event{T: t + 40 + float64(j*20), Type: journal.JobResumed, Job: id, VM: repl, Attempt: 2})
			emit(journal.Event{T: t + 400, Type: journal.JobCompleted, Job: id, VM: repl, Attempt: 2, Submitted: journal.Ptr(0)})
		}
		job += jobsPerVM
		emit(journal.Event{T: t + 5, Type: journal.Sampled, Sample: &journal.Sample{
			Spot: fleet, Backlog: cycle % 13, BacklogMax: cycle % 17, BacklogArea: 50, Submitted: 2 * job, Completed: job, Compute: float64(job) * 600,
		}})
		if cycle%100 == 0 {
			emit(journal.Event{T: t + 6, Type: journal.PriceChanged, Pool: "spot", Zone: zone(cycle), Price: 0.1 + float64(cycle%5)/100})
			events++
		}
		events += 5 + 3*jobsPerVM
		if cycle%7 == 0 {
			events++
		}
	}
	turn := make(journal.Values, job)
	for i := range turn {
		turn[i] = float64(i % 5000)
	}
	emit(journal.Event{T: t + 500, Type: journal.WorkloadSummarized, Summary: &journal.Summary{
		Submitted: 2 * job, Completed: 2 * job, CompletedOnSpot: 2 * job, Compute: float64(job) * 1200,
		Turnaround: turn, Wait: turn,
	}})
	emit(journal.Event{T: t + 500, Type: journal.RunEnded, Status: journal.StatusCompleted})
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkLoad measures what `spotdrill report` does with a large journal:
// load it, grade it and print the summary.
func BenchmarkLoad(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "synthetic.journal")
	writeSyntheticJournal(b, path, n)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	var events int64
	for b.Loop() {
		r, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		g := Grade(r, RunSLOs(r.Run))
		if err := WriteText(io.Discard, r, g, TextOptions{}); err != nil {
			b.Fatal(err)
		}
		events = r.Tail.Events
	}
	if events < n*99/100 || events > n*101/100 {
		b.Fatalf("synthetic journal has %d events, want about %d", events, n)
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkValueLive is the runner's pattern: events keep arriving and an
// abort condition asks for a percentile every few of them. One op is one
// recovered job plus one query.
func BenchmarkValueLive(b *testing.B) {
	a := NewAccumulator()
	e := started()
	a.Emit(&e)
	i := 0
	for b.Loop() {
		id := "job-" + strconv.Itoa(i)
		in := interrupted(float64(i), id, "vm", 1)
		a.Emit(&in)
		re := resumed(float64(i)+float64(i%97), id)
		a.Emit(&re)
		if _, ok := a.Value("ttr.p95"); !ok {
			b.Fatal("ttr.p95 not measured")
		}
		i++
	}
}

// BenchmarkReportAll is `spotdrill report --format text,md,html,json,junit
// -o DIR` on a journal of a million events: load, grade, analyse and write
// every format.
func BenchmarkReportAll(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	path := filepath.Join(dir, "synthetic.journal")
	writeSyntheticJournal(b, path, n)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		g := Grade(r, RunSLOs(r.Run))
		if _, err := WriteAll(r, g, Output{Formats: Formats(), Path: filepath.Join(dir, "out"), Source: path}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteSyntheticJournal writes the benchmark's journal where
// SPOTDRILL_SYNTHETIC_JOURNAL says, to measure `spotdrill report` on it
// (peak memory with /usr/bin/time -v).
func TestWriteSyntheticJournal(t *testing.T) {
	path := os.Getenv("SPOTDRILL_SYNTHETIC_JOURNAL")
	if path == "" {
		t.Skip("set SPOTDRILL_SYNTHETIC_JOURNAL=path to write the 1,000,000-event journal")
	}
	writeSyntheticJournal(t, path, 1_000_000)
}
