package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
)

// TestTargetsShowTheClusterOfAnAKSGameDay: with target.azure.kubernetes,
// targets shows each eligible instance's node, and the pods on it that an
// eviction would displace, with what recreates them.
func TestTargetsShowTheClusterOfAnAKSGameDay(t *testing.T) {
	scenario := strings.Replace(aksScenario, "    vms: [render-1, render-2, render-3, render-4]\n",
		"    kubernetes:\n      namespaces: [batch]\n", 1)
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	require.NoError(t, os.WriteFile(path, []byte(scenario), 0o644))
	clock := azurefake.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), true)
	fleet := azurefake.New(clock.Now, 2)
	subscriptionFleet(fleet)

	cluster := fake.NewClientset()
	ctx := context.Background()
	sub := "00000000-0000-0000-0000-000000000000"
	for i, name := range []string{"aks-spot-0", "aks-spot-1"} {
		pid := "azure:///subscriptions/" + sub + "/resourceGroups/mc_rg_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot-12345678-vmss/virtualMachines/" + string(rune('0'+i))
		_, err := cluster.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{ProviderID: pid}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	yes := true
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "web-a", Namespace: "batch", OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7d9", Controller: &yes}}}, Spec: corev1.PodSpec{NodeName: "aks-spot-0"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "scratch", Namespace: "batch"}, Spec: corev1.PodSpec{NodeName: "aks-spot-0"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "exporter", Namespace: "batch", OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "exporter", Controller: &yes}}}, Spec: corev1.PodSpec{NodeName: "aks-spot-0"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"}, Spec: corev1.PodSpec{NodeName: "aks-spot-1"}},
	} {
		_, err := cluster.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err)
	}

	var out, errb bytes.Buffer
	cmd := NewCmdTargets(&IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, func(o *TargetsOptions) error {
		o.Azure = experiments.AzureOptions{Client: azure.Options{Transport: fleet.Transport(), Credential: &azfake.TokenCredential{}, Clock: clock}, Kube: cluster}
		return targetsRun(o)
	})
	cmd.SetArgs([]string{path})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	require.NoError(t, cmd.Execute(), errb.String())
	text := out.String()
	assert.Contains(t, text, "Cluster   2 of them are nodes; 2 pods that count run on them (1 with no controller: lost if their node goes)")
	assert.Contains(t, text, "node aks-spot-0: batch/scratch (no controller), batch/web-a (ReplicaSet/web-7d9)")
	assert.Contains(t, text, "node aks-spot-1: no pod that counts")
	assert.NotContains(t, text, "exporter", "a DaemonSet's pods go with their node by design")
}
