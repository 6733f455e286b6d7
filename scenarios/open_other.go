//go:build !unix

package scenarios

import "os"

func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }
