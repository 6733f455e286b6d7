//go:build !unix

package runlock

import (
	"errors"
	"os"
)

// Without flock the lock is advisory only within this process's platform
// limits: the run still proceeds, as the Azure-side lease is the real guard
// there.
var errWouldBlock = errors.New("would block")

func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
