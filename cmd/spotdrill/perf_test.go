package main

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkEndToEnd measures the performance rows as a user runs them: the
// real binary, its journal on disk, wall time and peak resident memory of
// the process (from its rusage). `make perf` prints them as a table.
//
//	go test ./cmd/spotdrill -run '^$' -bench EndToEnd -benchtime 1x
func BenchmarkEndToEnd(b *testing.B) {
	bench := func(name string) string {
		p, err := filepath.Abs(filepath.Join("..", "..", "scenarios", "bench", name))
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	dir := b.TempDir()
	x5Journal := filepath.Join(dir, "x5.jsonl")
	rows := []struct {
		name string
		args []string
	}{
		{"run/long-checkpointed", []string{"run", bench("long-checkpointed.yaml"), "--no-tui", "--replace-journal", "--journal", filepath.Join(dir, "long.jsonl")}},
		{"run/large-fleet", []string{"run", bench("large-fleet.yaml"), "--no-tui", "--replace-journal", "--journal", filepath.Join(dir, "large.jsonl")}},
		{"run/large-fleet-x5", []string{"run", bench("large-fleet-x5.yaml"), "--no-tui", "--replace-journal", "--journal", x5Journal}},
		{"report/large-fleet-x5", []string{"report", x5Journal}},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			var peak int64
			var wall time.Duration
			for b.Loop() {
				cmd := exec.Command(binary, row.args...)
				cmd.Dir = dir
				cmd.Env = append(cmd.Environ(), "SPOTDRILL_LOCK_DIR="+filepath.Join(dir, "locks"))
				start := time.Now()
				err := cmd.Run()
				wall += time.Since(start)
				if code := exitCode(err); code != ExitOK && code != ExitSLO {
					b.Fatalf("%v: exit %d", row.args, code)
				}
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, ru.Maxrss) // kilobytes on Linux
				}
			}
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
			b.ReportMetric(float64(peak)/1024, "peak-MB")
		})
	}
}
