// Package runlock keeps two game days from running against the same targets
// at once: an exclusive advisory lock on a file, which the operating system
// releases when the process ends however it ends (even SIGKILL), so a
// crashed run never leaves a stale lock behind.
package runlock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrHeld is returned when another run holds the lock.
var ErrHeld = errors.New("another run holds the lock")

// Lock is a held lock. Release it when the run ends.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the lock at path without waiting, creating the folder and
// file as needed, and writes who holds it (owner) into the file so that the
// next run can say who is in the way.
func Acquire(path, owner string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			who := strings.Join(strings.Fields(strings.SplitN(string(holder), "\n", 2)[0]), " ")
			if who == "" {
				who = "unknown"
			}
			return nil, fmt.Errorf("%w %s (held by %s)", ErrHeld, path, who)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(owner+"\n"), 0)
	}
	return &Lock{f: f, path: path}, nil
}

// Release gives the lock up. The file stays, empty, for the next run.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := unlockFile(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// DirEnv overrides where target locks live (tests, or a team that shares a
// lock directory on one machine).
const DirEnv = "SPOTDRILL_LOCK_DIR"

// Dir is the one per-user place where runs lock their targets, so that
// runs started from any directory see each other: $SPOTDRILL_LOCK_DIR,
// else the user's runtime directory ($XDG_RUNTIME_DIR), else the user's
// cache directory, else the temporary directory, each with spotdrill/locks
// below it.
func Dir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	base := os.Getenv("XDG_RUNTIME_DIR")
	if base == "" {
		if c, err := os.UserCacheDir(); err == nil {
			base = c
		} else {
			base = os.TempDir()
		}
	}
	return filepath.Join(base, "spotdrill", "locks")
}

// Set is the locks of one run's targets.
type Set struct {
	locks []*Lock
}

// AcquireTargets locks every key (a resolved target: a scale set's or a
// VM's resource ID, a scenario file's path) in dir, without waiting. When
// another run holds any of them, it takes none and says which key and who
// holds it. Keys are taken in sorted order, so two runs never each hold
// half of the other's.
func AcquireTargets(dir string, keys []string, owner string) (*Set, error) {
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	s := &Set{}
	for i, k := range sorted {
		if i > 0 && k == sorted[i-1] {
			continue
		}
		sum := sha256.Sum256([]byte(k))
		l, err := Acquire(filepath.Join(dir, hex.EncodeToString(sum[:12])+".lock"), owner+"\ntarget "+k)
		if err != nil {
			s.Release()
			if errors.Is(err, ErrHeld) {
				return nil, fmt.Errorf("target %s: %w", k, err)
			}
			return nil, err
		}
		s.locks = append(s.locks, l)
	}
	return s, nil
}

// Release gives every lock of the set up.
func (s *Set) Release() {
	if s == nil {
		return
	}
	for _, l := range s.locks {
		_ = l.Release()
	}
	s.locks = nil
}

// LockOpen locks a file the caller has open (a journal) for as long as it
// stays open: a second run given the same file is refused instead of
// interleaving its lines.
func LockOpen(f *os.File) error {
	if err := lockFile(f); err != nil {
		if errors.Is(err, errWouldBlock) {
			return fmt.Errorf("%w %s", ErrHeld, f.Name())
		}
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}
