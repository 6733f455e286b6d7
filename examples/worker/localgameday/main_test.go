package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

// TestLocalGameDay runs the example worker as real processes against the
// receiver on loopback, evicts the first one with a Preempt notice and a
// SIGKILL, and checks the report the correlator fed against what the
// harness knows without any span: when it killed the VM, when the worker
// last checkpointed before that, when the replacement resumed the job.
func TestLocalGameDay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs worker processes")
	}
	worker := filepath.Join(t.TempDir(), "worker")
	build := exec.Command("go", "build", "-o", worker, "..")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build the worker: %s", out)

	for _, onNotice := range []string{"ignore", "checkpoint"} {
		t.Run(onNotice, func(t *testing.T) {
			var logs bytes.Buffer
			o := options{worker: worker, dir: t.TempDir(), work: 6 * time.Second, checkpointEvery: time.Second,
				notice: 1500 * time.Millisecond, lease: time.Second, onNotice: onNotice, log: &logs}
			res, err := gameDay(context.Background(), o)
			require.NoError(t, err, "%s", logs.String())
			rep := res.report

			require.Equal(t, 1, rep.Interruptions.Count, "%s", logs.String())
			require.Empty(t, rep.Unrecovered)
			require.Len(t, rep.TTRs, 1)
			wantTTR := res.resumed.Sub(res.evicted).Seconds()
			require.InDelta(t, wantTTR, rep.TTRs[0], 0.02, "TTR: evicted → resumed")
			wantLost := res.evicted.Sub(res.checkpointed).Seconds()
			if onNotice == "checkpoint" {
				// The worker checkpointed on the notice and handed the job
				// back: nothing lost.
				wantLost = 0
				require.Equal(t, 1, rep.Interruptions.Released)
			}
			require.InDelta(t, wantLost, rep.Interruptions.LostWork, 0.02, "lost work: evicted − last checkpoint")
			require.Zero(t, res.result.Uncorrelated)
			require.Len(t, rep.Evictions, 1)
			require.Equal(t, 1, rep.Evictions[0].Jobs)

			// The journal's interruption points at the worker's span.
			var interrupted int
			_, err = journal.ScanFile(res.journal, func(e *journal.Event) error {
				if e.Type == journal.JobInterrupted {
					interrupted++
					require.Len(t, e.SpanID, 16)
					require.Equal(t, "vm-a", e.VM)
				}
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, 1, interrupted)
		})
	}
}
