//go:build unix

package inputfile

import (
	"os"
	"syscall"
)

// Open opens for reading without waiting: a FIFO with no writer
// opens at once (and reads as empty), where a plain open would block
// forever. Go's poller then serves reads of pipes and FIFOs, so that a
// read deadline can interrupt them.
func Open(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
