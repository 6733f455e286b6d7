package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
)

const vmssID = "/subscriptions/sub/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot-vmss/virtualMachines/"

func node(name, instance string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{ProviderID: "azure://" + strings.ToLower(vmssID) + instance},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

func pod(name, nodeName, ownerKind string, owner types.UID, ready bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "batch", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "batch"}},
		Spec:       corev1.PodSpec{NodeName: nodeName},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	if owner != "" {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: ownerKind, Name: string(owner), UID: owner, Controller: &yes}}
	}
	if ready {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return p
}

// cluster plays the run's bus, the run clock and the cluster: the
// accumulator grades what the watcher writes, as in a run.
type cluster struct {
	t      *testing.T
	client *fake.Clientset
	bus    *journal.Bus
	acc    *reports.Accumulator
	w      *Watcher
	mu     sync.Mutex
	events []journal.Event
	clock  time.Duration
}

func newCluster(t *testing.T, objects ...any) *cluster {
	c := &cluster{t: t, client: fake.NewClientset(), acc: reports.NewAccumulator()}
	ctx := context.Background()
	for _, o := range objects {
		switch o := o.(type) {
		case *corev1.Node:
			_, err := c.client.CoreV1().Nodes().Create(ctx, o, metav1.CreateOptions{})
			require.NoError(t, err)
		case *corev1.Pod:
			_, err := c.client.CoreV1().Pods(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}
	keep := journal.SinkFunc(func(e *journal.Event) { c.mu.Lock(); c.events = append(c.events, *e); c.mu.Unlock() })
	c.bus = journal.NewBus(keep, c.acc)
	w, err := New(c.client, c.bus, Options{
		Namespaces: []string{"batch"}, Selector: "app=batch",
		NodeID: func(pid string) (string, error) { return strings.TrimPrefix(pid, "azure://"), nil },
		Now:    func() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.clock },
	})
	require.NoError(t, err)
	c.w = w
	c.bus.Subscribe(w)
	c.emit(journal.Event{Type: journal.RunStarted, Run: &journal.Run{SchemaVersion: journal.SchemaVersion, Scenario: "aks", Provider: "azure", Duration: 3600}})
	for i := range 2 {
		c.emit(journal.Event{Type: journal.VMRunning, VM: vmssID + string(rune('0'+i)), Pool: "aks-spot-vmss", Priority: "Spot"})
	}
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return c
}

func (c *cluster) at(s float64) {
	c.mu.Lock()
	c.clock = time.Duration(s * float64(time.Second))
	c.mu.Unlock()
}

func (c *cluster) emit(e journal.Event) { e.T = c.now(); c.bus.Emit(&e) }

func (c *cluster) now() float64 { c.mu.Lock(); defer c.mu.Unlock(); return c.clock.Seconds() }

func (c *cluster) of(typ journal.Type, code string) []journal.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []journal.Event
	for _, e := range c.events {
		if e.Type == typ && (code == "" || e.Code == code) {
			out = append(out, e)
		}
	}
	return out
}

func (c *cluster) wait(what string, cond func() bool) {
	c.t.Helper()
	require.Eventually(c.t, cond, 5*time.Second, time.Millisecond, what)
}

func (c *cluster) updateNode(n *corev1.Node) {
	_, err := c.client.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{})
	require.NoError(c.t, err)
}

func (c *cluster) updatePod(p *corev1.Pod) {
	_, err := c.client.CoreV1().Pods(p.Namespace).Update(context.Background(), p, metav1.UpdateOptions{})
	require.NoError(c.t, err)
}

func (c *cluster) deletePod(p *corev1.Pod) {
	require.NoError(c.t, c.client.CoreV1().Pods(p.Namespace).Delete(context.Background(), p.Name, metav1.DeleteOptions{}))
}

// TestAnEvictedNodeThroughTheKubernetesAPI plays kubelet, node lifecycle and
// scheduler around one Spot node's eviction: the node drain handler cordons
// it on the notice and evicts a Deployment's pod (drained in time), a bare
// pod goes with it (lost), a Job's pod dies with the VM (cut short), the
// DaemonSet's pod is left alone; the replacements come up Pending, then
// Ready on the other node. The journal says so, and the reports grade TTR
// and lost pods from it.
func TestAnEvictedNodeThroughTheKubernetesAPI(t *testing.T) {
	n0, n1 := node("aks-spot-0", "0"), node("aks-spot-1", "1")
	web := pod("web-a", "aks-spot-0", "ReplicaSet", "rs-web", true)
	bare := pod("scratch", "aks-spot-0", "", "", true)
	batch := pod("train-x", "aks-spot-0", "Job", "job-train", true)
	ds := pod("node-exporter", "aks-spot-0", "DaemonSet", "ds", true)
	other := pod("web-b", "aks-spot-1", "ReplicaSet", "rs-web", true)
	c := newCluster(t, n0, n1, web, bare, batch, ds, other)
	vm0 := vmssID + "0"

	c.at(10)
	c.emit(journal.Event{Type: journal.EvictionRequested, VM: vm0, Pool: "aks-spot-vmss", Wave: "w1", Cause: journal.CauseInjected})
	c.at(12)
	cordon := n0.DeepCopy()
	cordon.Spec.Unschedulable = true
	c.updateNode(cordon)
	c.wait("cordoned", func() bool { return len(c.of(journal.Note, CodeCordoned)) == 1 })

	c.at(14)
	c.deletePod(web)
	c.deletePod(bare)
	c.wait("two pods displaced", func() bool { return len(c.of(journal.JobInterrupted, "")) == 2 })

	c.at(40)
	c.emit(journal.Event{Type: journal.EvictionEvicted, VM: vm0, Pool: "aks-spot-vmss", Cause: journal.CauseInjected, Policy: "Delete"})
	notReady := cordon.DeepCopy()
	notReady.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}
	c.updateNode(notReady)
	c.wait("NotReady", func() bool { return len(c.of(journal.Note, CodeNotReady)) == 1 })
	c.at(45)
	c.deletePod(batch)
	c.wait("the Job's pod", func() bool { return len(c.of(journal.JobInterrupted, "")) == 3 })

	c.at(50)
	webC := pod("web-c", "", "ReplicaSet", "rs-web", false)
	_, err := c.client.CoreV1().Pods("batch").Create(context.Background(), webC, metav1.CreateOptions{})
	require.NoError(t, err)
	c.wait("web-c Pending", func() bool { return len(c.of(journal.Note, CodePodPending)) == 1 })
	c.at(70)
	webC.Spec.NodeName = "aks-spot-1"
	webC.Status.Phase, webC.Status.Conditions = corev1.PodRunning, []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	c.updatePod(webC)
	c.wait("web-c Ready", func() bool { return len(c.of(journal.JobResumed, "")) == 1 })
	trainY := pod("train-y", "aks-spot-1", "Job", "job-train", true)
	c.at(100)
	_, err = c.client.CoreV1().Pods("batch").Create(context.Background(), trainY, metav1.CreateOptions{})
	require.NoError(t, err)
	c.wait("two replacements Ready", func() bool { return len(c.of(journal.JobResumed, "")) == 2 })

	in := map[string]journal.Event{}
	for _, e := range c.of(journal.JobInterrupted, "") {
		in[e.Job] = e
		assert.Equal(t, vm0, e.VM)
	}
	require.Len(t, in, 3)
	assert.True(t, in["batch/web-a"].Released, "evicted from the cordoned node before the VM went")
	assert.True(t, in["batch/scratch"].Released)
	assert.True(t, in["batch/train-x"].DrainLate, "died with the VM: the drain did not finish in time")
	assert.NotContains(t, in, "batch/node-exporter", "a DaemonSet's pod goes with its node by design")
	failed := c.of(journal.JobFailed, "")
	require.Len(t, failed, 1)
	assert.Equal(t, "batch/scratch", failed[0].Job)
	assert.Contains(t, failed[0].Reason, "no controller")
	assert.Empty(t, c.of(journal.EvictionDrained, ""), "the Job's pod was still there when the VM went: never drained")

	pending, scheduled := c.of(journal.Note, CodePodPending), c.of(journal.Note, CodePodScheduled)
	require.Len(t, pending, 1)
	require.Len(t, scheduled, 1)
	assert.Equal(t, "batch/web-a", pending[0].Job, "web-c replaces web-a")
	assert.Equal(t, 20.0, scheduled[0].T-pending[0].T, "Pending for 20 s")

	// The cluster's gauges: web-c was Pending from 50 to 70 (M5).
	var peak int
	var area float64
	for _, e := range c.of(journal.Sampled, "") {
		peak = max(peak, e.Sample.BacklogMax)
		area += e.Sample.BacklogArea
	}
	assert.Equal(t, 1, peak)
	assert.Equal(t, 20.0, area, "one pod Pending for 20 s")

	c.at(3600)
	c.emit(journal.Event{Type: journal.RunEnded, Status: journal.StatusCompleted})
	rep := c.acc.Report()
	bm, ok := rep.Metric("queue.backlog.max")
	require.True(t, ok)
	assert.True(t, bm.Measured)
	assert.Equal(t, 1.0, bm.Value, "Pending pods are the queue's backlog")
	assert.Equal(t, []float64{30, 60}, rep.TTRs, "web-a Ready again 30 s after the eviction, train-x 60 s")
	require.Len(t, rep.Unrecovered, 1)
	assert.Equal(t, "batch/scratch", rep.Unrecovered[0].Job)
	assert.True(t, rep.Unrecovered[0].GaveUp)
	assert.Equal(t, 1, rep.Interruptions.DrainLate)
}

// TestADrainThatFinishesInTime: every counted pod leaves the cordoned node
// before its VM goes: the eviction's drain phase is in the journal.
func TestADrainThatFinishesInTime(t *testing.T) {
	n0 := node("aks-spot-0", "0")
	web := pod("web-a", "aks-spot-0", "ReplicaSet", "rs-web", true)
	c := newCluster(t, n0, node("aks-spot-1", "1"), web)
	vm0 := vmssID + "0"
	c.at(10)
	c.emit(journal.Event{Type: journal.EvictionRequested, VM: vm0, Cause: journal.CauseInjected})
	cordon := n0.DeepCopy()
	cordon.Spec.Unschedulable = true
	c.updateNode(cordon)
	c.at(18)
	c.deletePod(web)
	c.wait("drained", func() bool { return len(c.of(journal.EvictionDrained, "")) == 1 })
	assert.Equal(t, vm0, c.of(journal.EvictionDrained, "")[0].VM)
	assert.Equal(t, 18.0, c.of(journal.EvictionDrained, "")[0].T)
}

// TestOrdinaryDeletionsAreNotTheGameDays: a pod deleted from a node that no
// eviction touched (a rollout) is not an interruption.
func TestOrdinaryDeletionsAreNotTheGameDays(t *testing.T) {
	web := pod("web-a", "aks-spot-0", "ReplicaSet", "rs-web", true)
	c := newCluster(t, node("aks-spot-0", "0"), web)
	c.deletePod(web)
	time.Sleep(50 * time.Millisecond)
	assert.Empty(t, c.of(journal.JobInterrupted, ""))
}

// TestAPDBThatBlocksTheDrain: a budget that allows no disruption while the
// cordoned node holds the pods it covers is noted on the node's timeline.
func TestAPDBThatBlocksTheDrain(t *testing.T) {
	n0 := node("aks-spot-0", "0")
	db := pod("db-0", "aks-spot-0", "StatefulSet", "sts-db", true)
	db.Labels["role"] = "db"
	c := newCluster(t, n0, node("aks-spot-1", "1"), db)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "batch", UID: "pdb-db"},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "db"}}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0},
	}
	_, err := c.client.PolicyV1().PodDisruptionBudgets("batch").Create(context.Background(), pdb, metav1.CreateOptions{})
	require.NoError(t, err)
	c.at(10)
	c.emit(journal.Event{Type: journal.EvictionRequested, VM: vmssID + "0", Cause: journal.CauseInjected})
	cordon := n0.DeepCopy()
	cordon.Spec.Unschedulable = true
	c.updateNode(cordon)
	c.wait("blocked", func() bool { return len(c.of(journal.Note, CodePDBBlocked)) == 1 })
	b := c.of(journal.Note, CodePDBBlocked)[0]
	assert.Equal(t, "batch/db-0", b.Job)
	assert.Contains(t, b.Reason, "PodDisruptionBudget batch/db allows no disruption")
}

// TestAnUnreachableClusterFailsTheStart: when nodes cannot be listed (no
// permission, no cluster), the watcher gives up after its timeout and says
// why, instead of hanging the run.
func TestAnUnreachableClusterFailsTheStart(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, fmt.Errorf("nodes is forbidden")
	})
	w, err := New(client, journal.SinkFunc(func(*journal.Event) {}), Options{
		Now: func() time.Duration { return 0 }, SyncTimeout: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	begin := time.Now()
	err = w.Start()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "could not be listed within 200ms")
	assert.Less(t, time.Since(begin), 5*time.Second)
}
