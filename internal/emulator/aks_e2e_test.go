package emulator_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/internal/kube"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
)

const aksOnEmulator = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: aks-spot-pool
duration: 4s
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [spotdrill-emulator]
    scaleSets: [batch-spot]
    kubernetes:
      namespaces: [batch]
waves:
  - name: first
    at: 300ms
    evict: {count: 2}
  - name: second
    at: 1s
    evict: {count: 2}
blastRadius:
  maxEvictions: 8
slos:
  - name: pods come back
    objective: ttr.p95 <= 30s
`

// aksCluster plays the cluster of an AKS Spot node pool on client-go's fake
// clientset: a node per emulated instance with a Deployment's pod on each
// (and a bare pod on the first); the node drain handler cordons a node and
// evicts its pods when its eviction is requested, node lifecycle marks it
// NotReady and deletes it when the VM goes, and the scheduler places the
// Deployment's new pods, Pending first, on the node of the instance that
// replaces it. It follows the run's bus, as the cluster follows Azure.
type aksCluster struct {
	t      *testing.T
	client *fake.Clientset
	events chan journal.Event
	mu     sync.Mutex
	nodeOf map[string]string // VM ID (lower case) -> node name
	n      int
	done   chan struct{}
}

func newAKSCluster(t *testing.T, emu *emulator.Emulator) *aksCluster {
	c := &aksCluster{t: t, client: fake.NewClientset(), events: make(chan journal.Event, 1024), nodeOf: map[string]string{}, done: make(chan struct{})}
	for _, vm := range emu.VMs() {
		if vm.Pool != "batch-spot" {
			continue
		}
		name := c.addNode(vm.ID)
		c.addPod("web-"+strings.TrimPrefix(name, "aks-"), name, "rs-web")
		if vm.InstanceID == "0" {
			c.addPod("scratch", name, "")
		}
	}
	go c.play()
	return c
}

func (c *aksCluster) addNode(vmID string) string {
	c.mu.Lock()
	name := fmt.Sprintf("aks-spot-%d", c.n)
	c.n++
	c.nodeOf[strings.ToLower(vmID)] = name
	c.mu.Unlock()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:   corev1.NodeSpec{ProviderID: "azure://" + strings.ToLower(vmID)},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	_, err := c.client.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{})
	require.NoError(c.t, err)
	return name
}

func (c *aksCluster) addPod(name, node string, owner types.UID) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "batch", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: corev1.PodPending}}
	if owner != "" {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: string(owner), UID: owner, Controller: &yes}}
	}
	if node != "" {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	_, err := c.client.CoreV1().Pods("batch").Create(context.Background(), p, metav1.CreateOptions{})
	require.NoError(c.t, err)
}

// Emit follows the run's bus; the cluster acts in its own goroutine.
func (c *aksCluster) Emit(e *journal.Event) {
	switch e.Type {
	case journal.EvictionRequested, journal.EvictionEvicted, journal.VMRunning:
		c.events <- *e
	}
}

func (c *aksCluster) node(vm string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodeOf[strings.ToLower(vm)]
}

func (c *aksCluster) play() {
	defer close(c.done)
	ctx := context.Background()
	pods := c.client.CoreV1().Pods("batch")
	nodes := c.client.CoreV1().Nodes()
	for e := range c.events {
		switch e.Type {
		case journal.EvictionRequested: // the drain handler, on the notice
			name := c.node(e.VM)
			n, err := nodes.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			n.Spec.Unschedulable = true
			_, _ = nodes.Update(ctx, n, metav1.UpdateOptions{})
			list, _ := pods.List(ctx, metav1.ListOptions{})
			for _, p := range list.Items {
				if p.Spec.NodeName == name {
					_ = pods.Delete(ctx, p.Name, metav1.DeleteOptions{})
				}
			}
		case journal.EvictionEvicted: // node lifecycle
			name := c.node(e.VM)
			if n, err := nodes.Get(ctx, name, metav1.GetOptions{}); err == nil {
				n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}
				_, _ = nodes.Update(ctx, n, metav1.UpdateOptions{})
				_ = nodes.Delete(ctx, name, metav1.DeleteOptions{})
			}
		case journal.VMRunning: // a replacement instance joins; the scheduler places the new pod
			if e.Replaces == "" || c.node(e.VM) != "" {
				continue
			}
			name := c.addNode(e.VM)
			pod := "web-" + strings.TrimPrefix(name, "aks-") + "-r"
			c.addPod(pod, "", "rs-web")
			time.Sleep(20 * time.Millisecond) // Pending for a moment
			if p, err := pods.Get(ctx, pod, metav1.GetOptions{}); err == nil {
				p.Spec.NodeName = name
				_, _ = pods.Update(ctx, p, metav1.UpdateOptions{})
				p.Status.Phase = corev1.PodRunning
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
				_, _ = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
			}
		}
	}
}

// TestAKSGameDayThroughTheKubernetesAPI plays a whole AKS game day through
// the runner: spotdrill's Azure provider against the emulator over HTTP,
// and the cluster of the node pool on client-go's fake clientset. With no
// workload instrumented, the report grades each displaced pod's TTR from
// the Kubernetes API, names the pod that had no controller as lost, and
// shows the nodes' timelines in its AKS section.
func TestAKSGameDayThroughTheKubernetesAPI(t *testing.T) {
	emu, srv := serveBatchFleet(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	cluster := newAKSCluster(t, emu)
	sc := parse(t, aksOnEmulator)
	var mu sync.Mutex
	var evs []journal.Event
	live := reports.NewAccumulator()
	bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) { mu.Lock(); evs = append(evs, *e); mu.Unlock() }), live, cluster)
	w, err := experiments.NewAzureWorld(sc, bus, experiments.AzureOptions{
		Client: azure.Options{ARMEndpoint: srv.URL}, PollInterval: 50 * time.Millisecond, Kube: cluster.client,
	})
	require.NoError(t, err)
	bus.Subscribe(w.(journal.Sink))
	res, err := experiments.Run(ctx, experiments.Config{Scenario: sc, World: w, Bus: bus, Live: live, Tool: "test"})
	require.NoError(t, err)
	require.Equal(t, journal.StatusCompleted, res.Status, res.Reason)
	close(cluster.events)
	<-cluster.done

	mu.Lock()
	defer mu.Unlock()
	evicted, interrupted, resumed, cordoned := 0, map[string]journal.Event{}, 0, 0
	for _, e := range evs {
		switch {
		case e.Type == journal.EvictionEvicted:
			evicted++
		case e.Type == journal.JobInterrupted:
			interrupted[e.Job] = e
		case e.Type == journal.JobResumed:
			resumed++
		case e.Type == journal.Note && e.Code == kube.CodeCordoned:
			cordoned++
		}
	}
	require.Equal(t, 4, evicted)
	assert.Equal(t, 4, cordoned, "each evicted node was cordoned")
	for job, e := range interrupted {
		assert.True(t, e.Released, "%s was drained before its VM went", job)
	}
	rep := live.Report()
	web := len(interrupted)
	if _, ok := interrupted["batch/scratch"]; ok {
		web--
		require.Len(t, rep.Unrecovered, 1)
		assert.Equal(t, "batch/scratch", rep.Unrecovered[0].Job)
		assert.True(t, rep.Unrecovered[0].GaveUp, "a pod with no controller is lost")
	}
	assert.Equal(t, 4, web, "one Deployment pod per evicted node")
	assert.Equal(t, web, resumed, "each came back Ready on a replacement node")
	assert.Len(t, rep.TTRs, web)
	ttr, ok := rep.Metric("ttr.p95")
	require.True(t, ok)
	require.True(t, ttr.Measured)
	t.Logf("AKS game day: %d evictions, %d pods displaced, ttr.p95 %.2fs, TTRs %v", evicted, len(interrupted), ttr.Value, rep.TTRs)

	// The report's AKS section: each evicted node's timeline, each pod.
	require.NotNil(t, rep.AKS)
	require.Len(t, rep.AKS.Nodes, 4)
	for _, n := range rep.AKS.Nodes {
		require.NotNil(t, n.Requested, n.VM)
		require.NotNil(t, n.Cordoned, n.VM)
		require.NotNil(t, n.Evicted, n.VM)
		assert.GreaterOrEqual(t, *n.Cordoned, *n.Requested, "cordoned on the notice")
		assert.GreaterOrEqual(t, n.Pods, 1)
	}
	for _, p := range rep.AKS.Pods {
		if p.Lost {
			continue
		}
		require.NotNil(t, p.TTR, p.Pod)
		assert.True(t, p.Drained, p.Pod)
		assert.NotEmpty(t, p.Replacement, p.Pod)
	}
	var md bytes.Buffer
	require.NoError(t, reports.WriteMarkdown(&md, reports.NewBundle(rep, reports.Grade(rep, sc.SLOs), reports.AnalysisOptions{})))
	section := md.String()[strings.Index(md.String(), "## AKS"):]
	section = section[:strings.Index(section, "## Failure modes")]
	t.Logf("%s", section)
}
