// Package inputfile opens files that a user names (scenarios, journals,
// baselines) so that no kind of file can hang spotdrill: a FIFO without a
// writer opens at once, and pipes and FIFOs are read through Go's poller,
// so that a read deadline interrupts them.
package inputfile
