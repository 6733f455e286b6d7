package sim

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/spotdrill/spotdrill/scenarios"
)

// EstimateMemory is how many bytes a scenario's simulated fleet and
// workload take at their largest: every VM the fleet may ever hold (its
// planned size and a share of replacements), every slot, every job with
// its records, and the pending events. It errs on the high side.
func EstimateMemory(sc *scenarios.Scenario) uint64 {
	if sc.Fleet == nil {
		return 0
	}
	var vms, slots uint64
	for _, p := range sc.Fleet.Pools {
		c := uint64(max(p.Capacity, 0))
		vms += c
		slots += c * uint64(max(p.Slots, 1))
	}
	// Replacements: as New presizes, a quarter more, and twice that for
	// the growth of the tables.
	vms += vms / 2
	slots += slots / 2
	const nameAndIndex = 24 + 16 + 48 // a VM's name, and its entry in the name index
	perVM := uint64(unsafe.Sizeof(vm{})) + nameAndIndex
	perSlot := uint64(unsafe.Sizeof(slot{}))
	var jobs uint64
	if sc.Workload != nil {
		jobs = uint64(max(sc.Workload.Jobs.Count, 0))
	}
	// A job, its place in the fresh queue, its turnaround and wait values.
	perJob := uint64(unsafe.Sizeof(job{})) + 4 + 8 + 8
	events := vms + slots + jobs
	return vms*perVM + slots*perSlot + jobs*perJob + events*uint64(unsafe.Sizeof(ev{}))
}

// ErrTooLarge is a scenario whose simulation would not fit in memory.
type ErrTooLarge struct {
	Need, Have uint64
}

func (e *ErrTooLarge) Error() string {
	return fmt.Sprintf("the simulated fleet and workload need about %s of memory, more than the %s this machine has available (expected a smaller fleet, fewer slots or fewer jobs)",
		formatBytes(e.Need), formatBytes(e.Have))
}

// CheckMemory refuses a scenario whose estimate exceeds what the machine
// has available, before anything is allocated.
func CheckMemory(sc *scenarios.Scenario) error {
	need := EstimateMemory(sc)
	have, ok := availableMemory()
	if ok && need > have {
		return &ErrTooLarge{Need: need, Have: have}
	}
	return nil
}

// AvailableMemory is the memory this process may still use: MemAvailable,
// capped by the cgroup's limit; false when neither can be read.
func AvailableMemory() (uint64, bool) { return availableMemory() }

// availableMemory is MemAvailable from /proc/meminfo, capped by the cgroup
// memory limit when one is set.
func availableMemory() (uint64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var avail uint64
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				avail, found = kb*1024, true
			}
		}
	}
	if raw, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if limit, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64); err == nil && (!found || limit < avail) {
			avail, found = limit, true
		}
	}
	return avail, found
}

func formatBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", b>>10)
}
