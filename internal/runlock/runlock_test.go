package runlock

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecondAcquireFailsUntilRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "x.lock")
	a, err := Acquire(path, "pid 1 journal a.jsonl")
	require.NoError(t, err)
	_, err = Acquire(path, "pid 2")
	require.ErrorIs(t, err, ErrHeld)
	require.Contains(t, err.Error(), "held by pid 1 journal a.jsonl")
	require.NoError(t, a.Release())
	b, err := Acquire(path, "pid 2")
	require.NoError(t, err)
	require.NoError(t, b.Release())
}

// TestKilledHolderReleases shows that a run killed with SIGKILL leaves no
// stale lock: a child process takes the lock and is killed.
func TestKilledHolderReleases(t *testing.T) {
	if os.Getenv("RUNLOCK_CHILD") != "" {
		_, err := Acquire(os.Getenv("RUNLOCK_CHILD"), "child")
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		select {}
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestKilledHolderReleases$")
	cmd.Env = append(os.Environ(), "RUNLOCK_CHILD="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 7)
	_, err = out.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "locked\n", string(buf))
	_, err = Acquire(path, "parent")
	require.ErrorIs(t, err, ErrHeld)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	l, err := Acquire(path, "parent")
	require.NoError(t, err)
	require.NoError(t, l.Release())
}
