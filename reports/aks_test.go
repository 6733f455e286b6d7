package reports

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

const aksVM = "/subscriptions/s/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot/virtualMachines/3"

// aksRun is the journal an AKS game day writes for one evicted node: the
// cordon on the notice, one pod drained in time and back on another node,
// one bare pod lost, one Job pod cut short by the eviction and back later.
func aksRun() *Accumulator {
	note := func(t float64, code, job, reason string) journal.Event {
		return journal.Event{T: t, Type: journal.Note, Code: code, VM: aksVM, Job: job, Reason: reason}
	}
	pod := func(t float64, typ journal.Type, job string, mod func(*journal.Event)) journal.Event {
		e := journal.Event{T: t, Type: typ, Job: job, VM: aksVM, Code: journal.CodeAKSPod}
		if mod != nil {
			mod(&e)
		}
		return e
	}
	return fold(started(),
		journal.Event{T: 0, Type: journal.VMRunning, VM: aksVM, Pool: "aks-spot", Priority: "Spot"},
		journal.Event{T: 60, Type: journal.EvictionRequested, VM: aksVM, Pool: "aks-spot", Wave: "w1", Cause: journal.CauseInjected},
		note(62, "aks.cordoned", "", "node aks-spot-3 was cordoned (unschedulable)"),
		pod(63, journal.JobInterrupted, "batch/web-a", func(e *journal.Event) { e.Released = true }),
		pod(64, journal.JobInterrupted, "batch/scratch", func(e *journal.Event) { e.Released = true }),
		pod(64, journal.JobFailed, "batch/scratch", nil),
		note(65, "aks.pdbBlocked", "batch/db-0", "PodDisruptionBudget batch/db allows no disruption: the drain of node aks-spot-3 cannot evict batch/db-0"),
		note(66, "aks.podPending", "batch/web-a", "batch/web-c, replacing batch/web-a, is Pending"),
		journal.Event{T: 90, Type: journal.EvictionEvicted, VM: aksVM, Pool: "aks-spot", Cause: journal.CauseInjected, Policy: "Delete"},
		note(91, "aks.notReady", "", "node aks-spot-3 is NotReady"),
		pod(92, journal.JobInterrupted, "batch/train-x", func(e *journal.Event) { e.DrainLate = true }),
		note(96, "aks.podScheduled", "batch/web-a", "batch/web-c, replacing batch/web-a, was scheduled on node aks-spot-4"),
		pod(120, journal.JobResumed, "batch/web-a", func(e *journal.Event) {
			e.Reason = "replicaset batch/web-c is Ready on node aks-spot-4 in place of batch/web-a"
		}),
		pod(150, journal.JobResumed, "batch/train-x", func(e *journal.Event) {
			e.Reason = "job batch/train-y is Ready on node aks-spot-4 in place of batch/train-x"
		}),
		note(200, "aks.nodeDeleted", "", "node aks-spot-3 was deleted from the cluster"),
		ended(3600),
	)
}

func TestAKSSection(t *testing.T) {
	r := aksRun().Report()
	require.NotNil(t, r.AKS)
	require.Len(t, r.AKS.Nodes, 1)
	n := r.AKS.Nodes[0]
	assert.Equal(t, 60.0, *n.Requested)
	assert.Equal(t, 62.0, *n.Cordoned)
	assert.Equal(t, 90.0, *n.Evicted)
	assert.Equal(t, 91.0, *n.NotReady)
	assert.Equal(t, 200.0, *n.Deleted)
	assert.Equal(t, 3, n.Pods)
	pods := map[string]AKSPod{}
	for _, p := range r.AKS.Pods {
		pods[p.Pod] = p
	}
	assert.True(t, pods["batch/web-a"].Drained)
	assert.Equal(t, 30.0, *pods["batch/web-a"].TTR, "Ready 30 s after the eviction")
	assert.Equal(t, "batch/web-c", pods["batch/web-a"].Replacement)
	assert.Equal(t, 30.0, *pods["batch/web-a"].Scheduled-*pods["batch/web-a"].Pending)
	assert.True(t, pods["batch/scratch"].Lost)
	assert.True(t, pods["batch/train-x"].CutShort)
	assert.Equal(t, 60.0, *pods["batch/train-x"].TTR)
	assert.Len(t, r.AKS.PDBBlocks, 1)
	// The grading is the reports' own: TTRs and lost work from the pods.
	assert.Equal(t, []float64{30, 60}, r.TTRs)
	assert.Equal(t, 1, r.Interruptions.DrainLate)

	md := string(render(t, NewBundle(r, r.Grading, AnalysisOptions{}), FormatMarkdown))
	assert.Contains(t, md, "## AKS")
	assert.Contains(t, md, "| aks-spot/3 |")
	assert.Contains(t, md, "lost: no controller")
	assert.Contains(t, md, "died with the VM (drain cut short)")
	assert.Contains(t, md, "PodDisruptionBudget batch/db allows no disruption")

	html := string(render(t, NewBundle(r, r.Grading, AnalysisOptions{}), FormatHTML))
	assert.Contains(t, html, `<h2 id="aks">AKS</h2>`)

	out := render(t, NewBundle(r, r.Grading, AnalysisOptions{}), FormatJSON)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	require.NoError(t, err)
	require.NoError(t, compileReportSchema(t).Validate(doc), "the AKS section is in the schema")

	assert.Nil(t, fold(started(), ended(10)).Report().AKS, "no cluster, no section")
}
