package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

func TestParseSpeed(t *testing.T) {
	for in, want := range map[string]float64{"": defaultConsoleSpeed, "1": 1, "10": 10, "60": 60, "max": 0} {
		got, err := parseSpeed(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"0", "2", "x60", "MAX", "-1", "60.0"} {
		_, err := parseSpeed(in)
		require.Error(t, err, in)
	}
}

// TestConsoleFlags checks the choice between the console and the headless
// run: the console on an interactive terminal only, never forced on a pipe,
// and its flags refused when it does not run.
func TestConsoleFlags(t *testing.T) {
	scenario := library(t, "batch-checkpointed.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tui"}, "--tui needs an interactive terminal"},
		{[]string{"--tui", "--no-tui"}, "contradict"},
		{[]string{"--manual"}, "steer the live console"},
		{[]string{"--speed", "10"}, "steer the live console"},
		{[]string{"--no-tui", "--manual"}, "steer the live console"},
		{[]string{"--speed", "30"}, "expected 1, 10, 60 or max"},
	} {
		var out, errb bytes.Buffer
		ios := &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}
		code := Execute(append([]string{"run", scenario, "--runs-dir", t.TempDir()}, tc.args...), ios)
		require.Equal(t, ExitInvalid, code, "%v: %s", tc.args, errb.String())
		require.Contains(t, errb.String(), tc.want, tc.args)
	}
	for _, tc := range []struct {
		ios        IOStreams
		tui, noTUI bool
		want       bool
	}{
		{ios: IOStreams{}, want: false},
		{ios: IOStreams{OutTerminal: true}, want: false},
		{ios: IOStreams{InTerminal: true}, want: false},
		{ios: IOStreams{InTerminal: true, OutTerminal: true}, want: true},
		{ios: IOStreams{InTerminal: true, OutTerminal: true}, noTUI: true, want: false},
		{ios: IOStreams{InTerminal: true, OutTerminal: true}, tui: true, want: true},
	} {
		opts := &RunOptions{IO: &tc.ios, TUI: tc.tui, NoTUI: tc.noTUI}
		use, err := useConsole(opts)
		require.NoError(t, err)
		require.Equal(t, tc.want, use, "%+v", tc)
	}
}

// tmuxSession runs a command in a detached tmux session of its own server,
// so that the test never touches anyone's tmux.
type tmuxSession struct {
	t      *testing.T
	tmux   string
	socket string
}

func newTmux(t *testing.T, width, height int, command string) *tmuxSession {
	t.Helper()
	path, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is required in CI for the console's end-to-end test")
		}
		t.Skip("tmux is not installed")
	}
	// A server per test: a server being killed refuses new sessions.
	s := &tmuxSession{t: t, tmux: path, socket: fmt.Sprintf("spotdrill-%d-%s", os.Getpid(), t.Name())}
	s.run("-f", "/dev/null", "new-session", "-d", "-s", "console", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), command)
	socketPath := strings.TrimSpace(s.run("display-message", "-p", "#{socket_path}"))
	t.Cleanup(func() {
		_ = exec.Command(path, "-L", s.socket, "kill-server").Run()
		_ = os.Remove(socketPath) // tmux leaves it behind
	})
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command(s.tmux, append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	require.NoError(s.t, err, "tmux %v: %s", args, out)
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) {
	s.run(append([]string{"send-keys", "-t", "console"}, keys...)...)
}

func (s *tmuxSession) screen() string { return s.run("capture-pane", "-p", "-t", "console") }

// waitFor polls the screen until it shows every text.
func (s *tmuxSession) waitFor(texts ...string) string {
	s.t.Helper()
	var screen string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		screen = s.screen()
		missing := false
		for _, text := range texts {
			if !strings.Contains(screen, text) {
				missing = true
				break
			}
		}
		if !missing {
			return screen
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("the screen never showed %q:\n%s", texts, screen)
	return ""
}

// runClock reads the run clock from the header.
func runClock(screen string) string {
	_, after, ok := strings.Cut(screen, "run clock ")
	if !ok {
		return ""
	}
	return strings.Fields(after)[0]
}

// TestConsoleInTmux plays a library game day in the real binary on a real
// terminal as a facilitator would: pause, a note, a wave fired by hand in
// manual mode, the halt with its confirmation, quit; then checks the screen
// and the journal.
func TestConsoleInTmux(t *testing.T) {
	dir := t.TempDir()
	journalPath := filepath.Join(dir, "journal.jsonl")
	exitPath := filepath.Join(dir, "exit")
	command := fmt.Sprintf("cd %q && %q run %q --tui --manual --speed 60 --journal %q --runs-dir %q 2>%q; echo $? >%q; sleep 60",
		dir, binary, library(t, "batch-checkpointed.yaml"), journalPath, filepath.Join(dir, "runs"), filepath.Join(dir, "stderr"), exitPath)
	s := newTmux(t, 120, 40, command)

	s.waitFor("batch-checkpointed", "manual", "RUNNING", "×60", "first-strike", "it waits for n (manual mode)")

	s.keys("Space")
	paused := s.waitFor("PAUSED", "space resumes")
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, runClock(paused), runClock(s.screen()), "the run clock holds while paused")

	s.keys("m")
	s.waitFor("note: ")
	s.keys("-l", "checkout team paged")
	s.keys("Enter")
	s.waitFor("note taken")
	s.keys("Space")
	s.waitFor("note: checkout team paged") // journaled once the clock moves, and logged

	s.keys("-l", "+") // ×60 to max: the first wave comes due at once and waits
	s.waitFor("WAITING FOR n", "Wave first-strike is due: press n")
	s.keys("n")
	s.waitFor("✓ first-strike", "Wave zone-2-slice is due")

	s.keys("h")
	s.waitFor("HALT EVERYTHING?")
	s.keys("y")
	halted := s.waitFor("HALTED", "Halted by the facilitator", "q exits and prints the summary")
	require.Contains(t, halted, "– zone-2-slice", "no wave fires after the halt")
	require.Contains(t, halted, "!! ABORT: halted by the facilitator")

	s.keys("q")
	// The summary follows the console on the terminal (its last lines).
	s.waitFor("ABORTED", "SLOs met")
	require.Eventually(t, func() bool { _, err := os.Stat(exitPath); return err == nil }, 15*time.Second, 50*time.Millisecond)
	raw, err := os.ReadFile(exitPath)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(ExitAborted), strings.TrimSpace(string(raw)), "halted runs exit 4")

	events := readJournal(t, journalPath)
	var waves []string
	var aborts, notes []journal.Event
	for _, e := range events {
		switch e.Type {
		case journal.WaveStarted:
			waves = append(waves, e.Wave)
		case journal.Aborted:
			aborts = append(aborts, e)
		case journal.Note:
			if e.Code == "" { // the facilitator's, not the runner's
				notes = append(notes, e)
			}
		}
	}
	require.Equal(t, []string{"first-strike"}, waves, "the one wave fired with n")
	require.Len(t, aborts, 1)
	require.Equal(t, "halt", aborts[0].Code)
	require.Len(t, notes, 1)
	require.Equal(t, "checkout team paged", notes[0].Reason)
	last := events[len(events)-1]
	require.Equal(t, journal.RunEnded, last.Type)
	require.Equal(t, journal.StatusAborted, last.Status)
}

// TestConsoleSignalIsTheKillSwitch sends SIGINT to the real binary while
// its console runs: the run stops, the console gives the terminal back, the
// summary follows and the exit code is 4.
func TestConsoleSignalIsTheKillSwitch(t *testing.T) {
	dir := t.TempDir()
	journalPath := filepath.Join(dir, "journal.jsonl")
	exitPath := filepath.Join(dir, "exit")
	command := fmt.Sprintf("cd %q && %q run %q --speed 10 --journal %q --runs-dir %q; echo $? >%q; sleep 60",
		dir, binary, library(t, "batch-checkpointed.yaml"), journalPath, filepath.Join(dir, "runs"), exitPath)
	s := newTmux(t, 100, 30, command)
	s.waitFor("RUNNING", "×10")

	// The pane runs a shell whose one child is spotdrill.
	shell := strings.TrimSpace(s.run("display-message", "-p", "-t", "console", "#{pane_pid}"))
	children, err := os.ReadFile(filepath.Join("/proc", shell, "task", shell, "children"))
	if err != nil {
		t.Skipf("cannot find the process to signal: %v", err)
	}
	pid, err := strconv.Atoi(strings.Fields(string(children))[0])
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGINT))

	s.waitFor("ABORTED", "SLOs met")
	require.Eventually(t, func() bool { _, err := os.Stat(exitPath); return err == nil }, 15*time.Second, 50*time.Millisecond)
	raw, err := os.ReadFile(exitPath)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(ExitAborted), strings.TrimSpace(string(raw)))
	events := readJournal(t, journalPath)
	last := events[len(events)-1]
	require.Equal(t, journal.RunEnded, last.Type)
	require.Equal(t, "stopped by a signal", last.Reason)
}

func readJournal(t *testing.T, path string) []journal.Event {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var events []journal.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var e journal.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		events = append(events, e)
	}
	require.NoError(t, sc.Err())
	return events
}
