// Package runlock keeps two game days from running against the same targets
// at once: an exclusive advisory lock on a file, which the operating system
// releases when the process ends however it ends (even SIGKILL), so a
// crashed run never leaves a stale lock behind.
package runlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
			who := strings.TrimSpace(string(holder))
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

// Name turns a run's identity into a safe file name.
func Name(parts ...string) string {
	s := strings.Join(parts, "-")
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s) + ".lock"
}
