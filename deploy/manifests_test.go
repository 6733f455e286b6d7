// Package deploy holds deployment manifests; its test decodes them
// strictly with the Kubernetes API types, as the API server would.
package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// documents splits a multi-document YAML file.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// TestSweepJobDecodesStrictly reads every object of the sweep manifest
// into its API type, refusing unknown fields, and checks what makes it a
// sweep: an Indexed Job whose shard count matches --shard k8s/n and the
// merge step's, the scenario from the ConfigMap, the shared volume.
func TestSweepJobDecodesStrictly(t *testing.T) {
	var (
		jobs []batchv1.Job
		pvcs []corev1.PersistentVolumeClaim
	)
	for i, doc := range documents(t, filepath.Join("kubernetes", "sweep-job.yaml")) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		require.NoError(t, yaml.Unmarshal(doc, &meta), "document %d", i)
		switch meta.APIVersion + " " + meta.Kind {
		case "batch/v1 Job":
			var j batchv1.Job
			require.NoError(t, yaml.UnmarshalStrict(doc, &j), "document %d", i)
			jobs = append(jobs, j)
		case "v1 PersistentVolumeClaim":
			var p corev1.PersistentVolumeClaim
			require.NoError(t, yaml.UnmarshalStrict(doc, &p), "document %d", i)
			pvcs = append(pvcs, p)
		default:
			t.Fatalf("document %d: unexpected %s %s", i, meta.APIVersion, meta.Kind)
		}
	}
	require.Len(t, jobs, 2)
	require.Len(t, pvcs, 1)
	assert.Contains(t, pvcs[0].Spec.AccessModes, corev1.ReadWriteMany)

	shard, merge := jobs[0], jobs[1]
	require.NotNil(t, shard.Spec.CompletionMode)
	assert.Equal(t, batchv1.IndexedCompletion, *shard.Spec.CompletionMode)
	require.NotNil(t, shard.Spec.Completions)
	n := *shard.Spec.Completions
	c := shard.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	assert.Contains(t, args, "sweep /scenario/scenario.yaml --shard k8s/"+itoa(n)+" --output json")
	assert.Contains(t, args, "/results/shard-$(JOB_COMPLETION_INDEX).json")
	assert.Equal(t, "spotdrill-sweep-scenario", volume(t, shard, "scenario").ConfigMap.Name)
	assert.Equal(t, pvcs[0].Name, volume(t, shard, "results").PersistentVolumeClaim.ClaimName)

	m := merge.Spec.Template.Spec.Containers[0]
	assert.Contains(t, strings.Join(m.Args, " "), "spotdrill sweep merge /results/shard-*.json")
	var shards string
	for _, e := range m.Env {
		if e.Name == "SHARDS" {
			shards = e.Value
		}
	}
	assert.Equal(t, itoa(n), shards, "the merge step waits for as many shards as the Job completes")
	assert.Equal(t, pvcs[0].Name, volume(t, merge, "results").PersistentVolumeClaim.ClaimName)
}

// TestAKSManifestsDecodeStrictly: the read-only role and the nightly
// CronJob decode with the Kubernetes API types, unknown fields refused, and
// the role grants nothing but reading.
func TestAKSManifestsDecodeStrictly(t *testing.T) {
	var role *rbacv1.ClusterRole
	var binding *rbacv1.ClusterRoleBinding
	var account *corev1.ServiceAccount
	for i, doc := range documents(t, filepath.Join("kubernetes", "aks-readonly-role.yaml")) {
		var meta struct{ Kind string }
		require.NoError(t, yaml.Unmarshal(doc, &meta), "document %d", i)
		switch meta.Kind {
		case "ClusterRole":
			role = &rbacv1.ClusterRole{}
			require.NoError(t, yaml.UnmarshalStrict(doc, role))
		case "ClusterRoleBinding":
			binding = &rbacv1.ClusterRoleBinding{}
			require.NoError(t, yaml.UnmarshalStrict(doc, binding))
		case "ServiceAccount":
			account = &corev1.ServiceAccount{}
			require.NoError(t, yaml.UnmarshalStrict(doc, account))
		default:
			t.Fatalf("document %d: unexpected kind %s", i, meta.Kind)
		}
	}
	require.NotNil(t, role)
	require.NotNil(t, binding)
	require.NotNil(t, account)
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			assert.Contains(t, []string{"get", "list", "watch"}, v, "the role only reads: %v", r)
		}
	}
	assert.Equal(t, role.Name, binding.RoleRef.Name)
	assert.Equal(t, account.Name, binding.Subjects[0].Name)

	docs := documents(t, filepath.Join("kubernetes", "cronjob.yaml"))
	require.Len(t, docs, 1)
	var cj batchv1.CronJob
	require.NoError(t, yaml.UnmarshalStrict(docs[0], &cj))
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	assert.Equal(t, account.Name, pod.ServiceAccountName)
	assert.Equal(t, "true", cj.Spec.JobTemplate.Spec.Template.Labels["azure.workload.identity/use"])
	args := strings.Join(pod.Containers[0].Args, " ")
	assert.Contains(t, args, "run /gameday/gameday.yaml --no-tui --confirm any")
}

func volume(t *testing.T, j batchv1.Job, name string) corev1.Volume {
	t.Helper()
	for _, v := range j.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("job %s has no volume %s", j.Name, name)
	return corev1.Volume{}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
