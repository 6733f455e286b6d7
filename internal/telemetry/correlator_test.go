package telemetry_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/spotdrill/spotdrill/internal/telemetry"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

// spanBuilder makes workload spans of one attempt in the OTLP types.
type spanBuilder struct {
	job  string
	n    int64
	host string
	id   byte
}

func kv(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func (b spanBuilder) ids() []*commonpb.KeyValue {
	return []*commonpb.KeyValue{kv(spotwork.AttrJobID, b.job), kv(spotwork.AttrHostName, b.host),
		{Key: spotwork.AttrAttempt, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: b.n}}}}
}

func (b spanBuilder) spanID() []byte { return []byte{b.id, 0, 0, 0, 0, 0, 0, 1} }

// mark is a marker at t seconds.
func (b spanBuilder) mark(what string, t float64) *tracepb.Span {
	ns := uint64(at(t).UnixNano())
	return &tracepb.Span{TraceId: bytes.Repeat([]byte{b.id}, 16), SpanId: []byte{b.id, byte(t), 0, 0, 0, 0, 0, 2},
		ParentSpanId: b.spanID(), Name: spotwork.SpanMark, StartTimeUnixNano: ns, EndTimeUnixNano: ns,
		Attributes: append(b.ids(), kv(spotwork.AttrMark, what))}
}

// attempt is the whole attempt span; outcome may be empty.
func (b spanBuilder) whole(start, end float64, outcome string, attrs ...*commonpb.KeyValue) *tracepb.Span {
	a := append(b.ids(), attrs...)
	if outcome != "" {
		a = append(a, kv(spotwork.AttrOutcome, outcome))
	}
	return &tracepb.Span{TraceId: bytes.Repeat([]byte{b.id}, 16), SpanId: b.spanID(), Name: spotwork.SpanAttempt,
		StartTimeUnixNano: uint64(at(start).UnixNano()), EndTimeUnixNano: uint64(at(end).UnixNano()), Attributes: a}
}

func send(t *testing.T, url string, spans ...*tracepb.Span) {
	t.Helper()
	resp, err := http.Post(url+telemetry.TracesPath, "application/x-protobuf", bytes.NewReader(requestBytes(t, spans...)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
}

// TestKilledAttemptLostWorkFromTheNextAttempt: the checkpoint a worker took
// just before its VM died never left the VM, but the attempt that resumes
// the job says when the checkpoint it restored was taken.
func TestKilledAttemptLostWorkFromTheNextAttempt(t *testing.T) {
	run := newRealRun(t)
	srv := httptest.NewServer(telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{}))
	defer srv.Close()
	first := spanBuilder{job: "job-3", n: 1, host: "vm-1", id: 1}
	send(t, srv.URL, first.mark(spotwork.MarkStart, 10), first.mark(spotwork.EventCheckpoint, 40))
	run.emit(journal.Event{T: 100, Type: journal.EvictionNoticed, VM: "vm-1", At: journal.Ptr(130)})
	run.emit(journal.Event{T: 130, Type: journal.EvictionEvicted, VM: "vm-1", Policy: "Deallocate"})
	// The checkpoint at 70 is known only to the next attempt.
	next := spanBuilder{job: "job-3", n: 2, host: "vm-2", id: 2}
	restored := kv(spotwork.AttrRestoredAt, at(70).Format(time.RFC3339Nano))
	start := next.mark(spotwork.MarkStart, 150)
	start.Attributes = append(start.Attributes, restored)
	send(t, srv.URL, start, next.whole(150, 300, "completed", restored))
	run.corr.Flush()
	in := run.events(journal.JobInterrupted)
	require.Len(t, in, 1)
	require.Equal(t, 60.0, in[0].Lost)
	require.Equal(t, 130.0, in[0].T)
	require.Equal(t, 150.0, run.events(journal.JobResumed)[0].T)
	run.emit(journal.Event{T: 400, Type: journal.RunEnded})
	require.Equal(t, []float64{20}, run.acc.Report().TTRs)
}

// TestKilledAttemptSettledAfterGrace: a job that does not come back is
// settled from its markers once the grace has passed, and stays down.
func TestKilledAttemptSettledAfterGrace(t *testing.T) {
	run := newRealRun(t)
	srv := httptest.NewServer(telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{}))
	defer srv.Close()
	b := spanBuilder{job: "job-5", n: 1, host: "vm-1", id: 5}
	send(t, srv.URL, b.mark(spotwork.MarkStart, 10), b.mark(spotwork.EventCheckpoint, 50),
		b.mark(spotwork.EventPreemptNotice, 101), b.mark(spotwork.EventDrainStart, 102))
	run.emit(journal.Event{T: 100, Type: journal.EvictionNoticed, VM: "vm-1", At: journal.Ptr(130)})
	run.emit(journal.Event{T: 130, Type: journal.EvictionEvicted, VM: "vm-1", Policy: "Delete"})
	run.corr.Tick(189)
	run.corr.Flush()
	require.Empty(t, run.events(journal.JobInterrupted))
	run.corr.Tick(190)
	run.corr.Flush()
	in := run.events(journal.JobInterrupted)
	require.Len(t, in, 1)
	require.Equal(t, 80.0, in[0].Lost)
	require.True(t, in[0].DrainLate, "its drain started and the eviction cut it short")
	require.Empty(t, run.events(telemetry.EvictionUncorrelated))
	run.emit(journal.Event{T: 400, Type: journal.RunEnded})
	rep := run.acc.Report()
	require.Len(t, rep.Unrecovered, 1)
	require.Equal(t, 1, rep.Interruptions.DrainLate)
	res := run.corr.Result()
	require.Equal(t, 101.0, *res.Evictions[0].WorkloadNoticed)
}

// TestSpanWithoutOutcome: a worker that does not say how an attempt ended
// is judged by its VM's eviction.
func TestSpanWithoutOutcome(t *testing.T) {
	run := newRealRun(t)
	srv := httptest.NewServer(telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{}))
	defer srv.Close()
	run.emit(journal.Event{T: 100, Type: journal.EvictionNoticed, VM: "vm-1", At: journal.Ptr(130)})
	done := spanBuilder{job: "job-1", n: 1, host: "vm-1", id: 1}
	handedBack := spanBuilder{job: "job-2", n: 1, host: "vm-1", id: 2}
	send(t, srv.URL, done.whole(10, 90, ""), handedBack.whole(10, 110, ""))
	run.corr.Flush()
	in := run.events(journal.JobInterrupted)
	require.Len(t, in, 1)
	require.Equal(t, "job-2", in[0].Job)
	require.True(t, in[0].Released)
}

// TestLateSignalCorrelates: an eviction first counted as uncorrelated is
// explained by spans that arrive later.
func TestLateSignalCorrelates(t *testing.T) {
	run := newRealRun(t)
	srv := httptest.NewServer(telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{}))
	defer srv.Close()
	run.emit(journal.Event{T: 100, Type: journal.EvictionNoticed, VM: "vm-1", At: journal.Ptr(130)})
	run.emit(journal.Event{T: 130, Type: journal.EvictionEvicted, VM: "vm-1", Policy: "Delete"})
	require.Equal(t, 1, run.corr.Result().Uncorrelated)
	b := spanBuilder{job: "job-1", n: 1, host: "vm-1", id: 1}
	send(t, srv.URL, b.whole(10, 130, "killed"))
	require.Zero(t, run.corr.Result().Uncorrelated)
	run.corr.Tick(1000)
	run.corr.Flush()
	require.Empty(t, run.events(telemetry.EvictionUncorrelated))
}

func TestListenAddr(t *testing.T) {
	for _, c := range []struct {
		in, token, want, err string
	}{
		{":4318", "", "127.0.0.1:4318", ""},
		{"localhost:4318", "", "127.0.0.1:4318", ""},
		{"127.0.0.2:4318", "", "127.0.0.2:4318", ""},
		{"[::1]:4318", "", "[::1]:4318", ""},
		{"0.0.0.0:4318", "", "", "not loopback"},
		{"0.0.0.0:4318", "s3cret", "0.0.0.0:4318", ""},
		{"4318", "", "", "missing port"},
		{":http", "", "", "bad port"},
	} {
		got, err := telemetry.ListenAddr(c.in, c.token)
		if c.err != "" {
			require.ErrorContains(t, err, c.err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got)
	}
}

// TestAzureNames: on Azure the journal names VMs by their ARM IDs; workers
// name theirs by host.name (a scale-set instance's computer name is
// SCALESET_INSTANCE) or cloud.resource_id, in any case.
func TestAzureNames(t *testing.T) {
	run := newRealRun(t)
	srv := httptest.NewServer(telemetry.NewReceiver(run.corr, telemetry.ReceiverOptions{}))
	defer srv.Close()
	vmss := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot-123-vmss/virtualMachines/3"
	vm := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/spot-vm-7"
	// The worker on the scale-set instance starts before the run sees
	// its VM: its spans name a host the run does not know yet.
	inst := spanBuilder{job: "job-1", n: 1, host: "aks-spot-123-vmss_3", id: 1}
	send(t, srv.URL, inst.mark(spotwork.MarkStart, 10))
	for _, id := range []string{vmss, vm} {
		run.emit(journal.Event{T: 20, Type: journal.VMRunning, VM: id, Pool: "spot"})
	}
	standalone := spanBuilder{job: "job-2", n: 1, host: "", id: 2}
	start := standalone.mark(spotwork.MarkStart, 30)
	start.Attributes = append(start.Attributes, kv(spotwork.AttrResourceID, "/SUBSCRIPTIONS/s/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/SPOT-VM-7"))
	send(t, srv.URL, start)
	for _, id := range []string{vmss, vm} {
		run.emit(journal.Event{T: 100, Type: journal.EvictionNoticed, VM: id, At: journal.Ptr(130)})
		run.emit(journal.Event{T: 130, Type: journal.EvictionEvicted, VM: id, Policy: "Delete"})
	}
	run.corr.Tick(1000)
	run.corr.Flush()
	in := run.events(journal.JobInterrupted)
	require.Len(t, in, 2)
	require.ElementsMatch(t, []string{vmss, vm}, []string{in[0].VM, in[1].VM})
	res := run.corr.Result()
	require.Zero(t, res.Uncorrelated)
	require.Empty(t, res.Spans.UnknownHosts)
}
