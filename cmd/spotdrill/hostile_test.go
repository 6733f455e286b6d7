package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/textsafe"
	"github.com/spotdrill/spotdrill/journal"
)

// hostileNames is the checked-in corpus, plus invalid UTF-8 (which JSON
// cannot hold).
func hostileNames(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "adversarial", "hostile-names.json"))
	require.NoError(t, err)
	var c struct{ Names []string }
	require.NoError(t, json.Unmarshal(raw, &c))
	require.NotEmpty(t, c.Names)
	return append(c.Names, "bad \xff\xfe utf-8")
}

// requireNoRawControls fails when out holds a control character other than
// the newlines and tabs of its own layout, a C1 control, a bidirectional
// override or invalid UTF-8.
func requireNoRawControls(t *testing.T, what, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		require.True(t, textsafe.Safe(strings.ReplaceAll(line, "\t", " ")), "%s has a raw control character in %q", what, line)
	}
}

// TestHostileNamesAreEscapedInEveryOutput plays a journal whose VM, pool,
// zone, wave, job names, reasons and notes are hostile through every report
// format of the real binary: the human ones show them visibly escaped.
func TestHostileNamesAreEscapedInEveryOutput(t *testing.T) {
	names := hostileNames(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "hostile.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	jw := journal.NewWriter(f)
	bus := journal.NewBus(jw)
	emit := func(e journal.Event) { bus.Emit(&e) }
	emit(journal.Event{Type: journal.RunStarted, Run: &journal.Run{SchemaVersion: journal.SchemaVersion, Tool: "test", Scenario: names[0],
		Provider: "azure", Start: "2026-01-05T09:00:00Z", Duration: 600,
		SLOs: []journal.SLO{{Name: names[1], Objective: "ttr.p95 <= 5m"}}}})
	var ids []string
	for i := range names {
		ids = append(ids, "vm-"+names[i])
	}
	emit(journal.Event{Type: journal.Planned, Plan: &journal.Plan{Targets: ids, Excluded: []journal.Exclusion{{VM: names[2], Reason: names[3]}}}})
	for i, n := range names {
		vm := ids[i]
		emit(journal.Event{T: 10, Type: journal.VMRunning, VM: vm, Pool: n, Zone: n, Priority: "Spot"})
		emit(journal.Event{T: 60, Type: journal.WaveStarted, Wave: n, Code: "evict", Count: 1, Reason: n})
		emit(journal.Event{T: 60, Type: journal.EvictionRequested, Wave: n, VM: vm, Pool: n, Zone: n, Cause: journal.CauseInjected})
		emit(journal.Event{T: 61, Type: journal.EvictionFailed, Wave: n, VM: vm, Code: n, Reason: n})
		emit(journal.Event{T: 62, Type: journal.EvictionBlocked, Wave: n, VM: vm, Code: n, Reason: n})
		emit(journal.Event{T: 63, Type: journal.Note, Reason: n})
		emit(journal.Event{T: 64, Type: journal.JobInterrupted, Job: n, VM: vm, Attempt: 1, At: journal.Ptr(0), Submitted: journal.Ptr(0), Lost: 5})
	}
	emit(journal.Event{T: 600, Type: journal.RunEnded, Status: journal.StatusAborted, Reason: names[4]})
	require.NoError(t, jw.Close())
	require.NoError(t, f.Close())

	text := spotdrill(t, "report", path)
	require.Contains(t, []int{ExitOK, ExitSLO, ExitAborted}, text.code, text.stderr)
	requireNoRawControls(t, "the text report", text.stdout)
	requireNoRawControls(t, "stderr", text.stderr)
	require.Contains(t, text.stdout, `\x1b[2J\x1b[Hcleared`, "names are shown, escaped")

	out := filepath.Join(dir, "out")
	r := spotdrill(t, "report", path, "--format", "text,md,html,json,junit", "-o", out)
	require.Contains(t, []int{ExitOK, ExitSLO, ExitAborted}, r.code, r.stderr)
	files, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, files, 5)
	for _, fi := range files {
		raw, err := os.ReadFile(filepath.Join(out, fi.Name()))
		require.NoError(t, err)
		requireNoRawControls(t, fi.Name(), string(raw))
	}
}

// TestHostileScenarioNamesAreRefusedWithEscapedMessages: validate refuses
// hostile names with their place, and its messages are escaped too.
func TestHostileScenarioNamesAreRefusedWithEscapedMessages(t *testing.T) {
	raw, err := os.ReadFile(library(t, "price-spike.yaml"))
	require.NoError(t, err)
	for _, n := range hostileNames(t) {
		quoted, err := json.Marshal(n)
		require.NoError(t, err)
		text := strings.Replace(string(raw), "name: price-spike", "name: "+string(quoted), 1)
		if !strings.Contains(n, "\xff") {
			require.NotEqual(t, string(raw), text)
		}
		r := spotdrill(t, "validate", writeFile(t, "hostile.yaml", text))
		require.Equal(t, ExitInvalid, r.code, "%q: %s", n, r.stdout+r.stderr)
		requireNoRawControls(t, "validate's stdout", r.stdout)
		requireNoRawControls(t, "validate's stderr", r.stderr)
	}
}
