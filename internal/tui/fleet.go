package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/spotdrill/spotdrill/journal"
)

// vmState is what a cell of the fleet grid shows. The order is severity:
// an aggregate cell shows the worst state among its VMs.
type vmState uint8

const (
	stGone         vmState = iota // the slot's VM was deleted; a new VM may take it
	stRunning                     // running, no notice
	stFallback                    // a fallback Regular VM standing in for Spot
	stProvisioning                // an allocation request not answered yet
	stDrained                     // noticed and drained: waiting for the eviction
	stNotice                      // Preempt notice visible: draining
	stEvicted                     // stopped by an eviction, not replaced yet
	nStates
)

var stateGlyph = [nStates]string{
	stGone: "·", stRunning: "■", stFallback: "◆", stProvisioning: "□",
	stDrained: "▼", stNotice: "▲", stEvicted: "×",
}

var stateName = [nStates]string{
	stGone: "gone", stRunning: "running", stFallback: "fallback", stProvisioning: "provisioning",
	stDrained: "drained", stNotice: "notice", stEvicted: "evicted",
}

// legendOrder is how the counts line lists the states.
var legendOrder = []vmState{stRunning, stFallback, stProvisioning, stNotice, stDrained, stEvicted}

// scaleSteps are the numbers of VMs one cell may stand for: round numbers
// read better than 7 or 13, and the scale changes less often as the fleet
// grows.
var scaleSteps = func() []int {
	steps := []int{1, 2, 3, 4, 5, 6, 8}
	for m := 10; m <= 1_000_000; m *= 10 {
		for _, x := range []int{10, 12, 15, 20, 25, 30, 40, 50, 60, 80} {
			steps = append(steps, x*m/10)
		}
	}
	return steps
}()

// group is the VMs of one pool in one zone. A VM keeps its slot while it
// lives; an evicted or deleted VM keeps showing until a new VM of the group
// takes the slot (its replacement, preferably), so the grid stays the size
// of the group and an eviction stays visible until capacity comes back.
type group struct {
	pool, zone string
	slots      []vmState
	names      []string // the VM holding each slot
	free       []int32  // slots a new VM may take, oldest first; stale entries are skipped
	prov       int      // allocation requests outstanding
	count      [nStates]int
	// buckets count states per aggregate cell of scale VMs, kept as events
	// arrive so that drawing a cell costs the same however many VMs it holds.
	buckets [][nStates]int32
}

type slotRef struct{ g, i int32 }

// fleet is the grid sub-model: VM states from events, grouped by pool and
// zone, aggregated into cells when the fleet outgrows the screen.
type fleet struct {
	groups  []*group
	byKey   map[[2]string]int32
	vms     map[string]slotRef
	totals  [nStates]int
	prov    int
	scale   int // VMs per cell
	perLine int // cells per line
	cellW   int // screen columns per cell: 2 spaces the cells out when there is room
	labelW  int
	top     int // first group row shown when the groups do not fit
}

func newFleet() fleet {
	return fleet{byKey: map[[2]string]int32{}, vms: map[string]slotRef{}, scale: 1, perLine: 1, cellW: 1}
}

// declare adds the groups of the run's pools in scenario order, so that the
// grid keeps its shape as VMs come and go.
func (f *fleet) declare(pools []journal.Pool) {
	for _, p := range pools {
		zones := p.Zones
		if len(zones) == 0 {
			zones = []string{""}
		}
		for _, z := range zones {
			f.group(p.Name, z)
		}
	}
}

func (f *fleet) group(pool, zone string) int32 {
	k := [2]string{pool, zone}
	if g, ok := f.byKey[k]; ok {
		return g
	}
	g := int32(len(f.groups))
	f.groups = append(f.groups, &group{pool: pool, zone: zone})
	f.byKey[k] = g
	return g
}

// apply folds one event into the grid.
func (f *fleet) apply(e *journal.Event) {
	switch e.Type {
	case journal.RunStarted:
		if e.Run != nil {
			f.declare(e.Run.Pools)
		}
	case journal.VMRequested:
		f.groups[f.group(e.Pool, e.Zone)].prov++
		f.prov++
	case journal.VMAllocationFailed:
		f.unprovision(e.Pool, e.Zone)
	case journal.VMRunning:
		f.running(e)
	case journal.EvictionNoticed:
		f.set(e, stNotice)
	case journal.EvictionDrained:
		f.set(e, stDrained)
	case journal.EvictionEvicted:
		f.release(e, stEvicted)
	case journal.VMDeleted:
		f.release(e, stGone)
	}
}

func (f *fleet) unprovision(pool, zone string) {
	g := f.groups[f.group(pool, zone)]
	if g.prov > 0 {
		g.prov--
		f.prov--
	}
}

func (f *fleet) running(e *journal.Event) {
	st := stRunning
	if e.Fallback {
		st = stFallback
	}
	if e.At != nil { // it was requested: no longer provisioning
		f.unprovision(e.Pool, e.Zone)
	}
	if ref, ok := f.vms[e.VM]; ok {
		f.setSlot(ref, st)
		return
	}
	gi := f.group(e.Pool, e.Zone)
	g := f.groups[gi]
	i := f.takeSlot(gi, e.Replaces)
	if i < 0 {
		i = int32(len(g.slots))
		g.slots = append(g.slots, stGone)
		g.names = append(g.names, "")
		if int(i)%f.scale == 0 {
			g.buckets = append(g.buckets, [nStates]int32{})
		}
		g.buckets[int(i)/f.scale][stGone]++
		g.count[stGone]++
		f.totals[stGone]++
	}
	if old := g.names[i]; old != "" {
		delete(f.vms, old)
	}
	g.names[i] = e.VM
	ref := slotRef{gi, i}
	f.vms[e.VM] = ref
	f.setSlot(ref, st)
	f.replaced(e.Replaces)
}

// replaced clears the cell of an evicted VM whose replacement runs in
// another pool or zone: the capacity is back, and the cell must not keep
// saying otherwise. Groups that keep losing VMs to others are compacted.
func (f *fleet) replaced(vm string) {
	ref, ok := f.vms[vm]
	if !ok || f.groups[ref.g].slots[ref.i] != stEvicted {
		return
	}
	f.setSlot(ref, stGone)
	f.maybeCompact(ref.g)
}

func (f *fleet) maybeCompact(gi int32) {
	if g := f.groups[gi]; g.count[stGone] > max(16, len(g.slots)/4) {
		f.compact(gi)
	}
}

// compact drops the gone slots of a group: O(group), once a quarter of it
// is gone.
func (f *fleet) compact(gi int32) {
	g := f.groups[gi]
	j := 0
	for i, s := range g.slots {
		name := g.names[i]
		if s == stGone {
			if name != "" {
				delete(f.vms, name)
			}
			continue
		}
		g.slots[j], g.names[j] = s, name
		f.vms[name] = slotRef{gi, int32(j)}
		j++
	}
	f.totals[stGone] -= g.count[stGone]
	g.count[stGone] = 0
	g.slots, g.names = g.slots[:j], g.names[:j]
	g.free = g.free[:0]
	for i, s := range g.slots {
		if s == stEvicted {
			g.free = append(g.free, int32(i))
		}
	}
	g.rebucket(f.scale)
}

func (g *group) rebucket(scale int) {
	g.buckets = make([][nStates]int32, ceilDiv(len(g.slots), scale))
	for i, s := range g.slots {
		g.buckets[i/scale][s]++
	}
}

// takeSlot finds a free slot for a new VM of group gi: the one of the VM it
// replaces when that one is in the same group, else the oldest free one.
func (f *fleet) takeSlot(gi int32, replaces string) int32 {
	g := f.groups[gi]
	if ref, ok := f.vms[replaces]; ok && ref.g == gi && isFree(g.slots[ref.i]) {
		return ref.i
	}
	for len(g.free) > 0 {
		i := g.free[0]
		g.free = g.free[1:]
		if isFree(g.slots[i]) {
			return i
		}
	}
	return -1
}

func isFree(s vmState) bool { return s == stEvicted || s == stGone }

func (f *fleet) set(e *journal.Event, st vmState) {
	if ref, ok := f.vms[e.VM]; ok && !isFree(f.groups[ref.g].slots[ref.i]) {
		f.setSlot(ref, st)
	}
}

// release marks a VM stopped; its slot waits for a new VM.
func (f *fleet) release(e *journal.Event, st vmState) {
	ref, ok := f.vms[e.VM]
	if !ok || isFree(f.groups[ref.g].slots[ref.i]) {
		return
	}
	f.setSlot(ref, st)
	g := f.groups[ref.g]
	g.free = append(g.free, ref.i)
	if st == stGone {
		f.maybeCompact(ref.g)
	}
}

func (f *fleet) setSlot(ref slotRef, st vmState) {
	g := f.groups[ref.g]
	old := g.slots[ref.i]
	g.slots[ref.i] = st
	b := &g.buckets[int(ref.i)/f.scale]
	b[old]--
	b[st]++
	g.count[old]--
	g.count[st]++
	f.totals[old]--
	f.totals[st]++
}

// live is the number of VMs that exist: everything but evicted and gone.
func (f *fleet) live() int {
	return f.totals[stRunning] + f.totals[stFallback] + f.totals[stNotice] + f.totals[stDrained]
}

// cells is how many cells group g takes at a scale.
func (g *group) cells(scale int) int {
	return ceilDiv(len(g.slots), scale) + ceilDiv(g.prov, scale)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// rowsAt is how many grid lines the groups need at a scale.
func (f *fleet) rowsAt(scale, perLine int) int {
	n := 0
	for _, g := range f.groups {
		n += max(1, ceilDiv(g.cells(scale), perLine))
	}
	return n
}

// need is how many grid lines the fleet wants at one VM a cell.
func (f *fleet) need(width int) int {
	return f.rowsAt(1, max(1, width-f.labelWidth()-1))
}

func (f *fleet) labelWidth() int {
	w := 0
	for _, g := range f.groups {
		w = max(w, ansi.StringWidth(groupLabel(g)))
	}
	return min(w, 24)
}

func groupLabel(g *group) string {
	if g.zone == "" {
		return g.pool
	}
	return g.pool + " z" + g.zone
}

// fit picks the smallest scale at which the groups fit in rows lines of
// width cells, and rebuilds the aggregate counts if the scale changed. When
// even one line per group is too many, the grid scrolls.
func (f *fleet) fit(width, rows int) {
	f.labelW = f.labelWidth()
	room := max(1, width-f.labelW-1)
	f.cellW, f.perLine = 1, room
	if f.rowsAt(1, room/2) <= rows && room >= 2 {
		f.cellW, f.perLine = 2, room/2
	}
	scale := scaleSteps[len(scaleSteps)-1]
	for _, s := range scaleSteps {
		if f.rowsAt(s, f.perLine) <= rows || f.rowsAt(s, f.perLine) == len(f.groups) {
			scale = s
			break
		}
	}
	if scale != f.scale {
		f.rescale(scale)
	}
	f.top = min(f.top, max(0, f.rowsAt(f.scale, f.perLine)-rows))
}

// rescale recounts every bucket: O(VMs), only when the scale changes.
func (f *fleet) rescale(scale int) {
	f.scale = scale
	for _, g := range f.groups {
		g.rebucket(scale)
	}
}

func (f *fleet) scroll(delta, rows int) {
	f.top = max(0, min(f.top+delta, f.rowsAt(f.scale, f.perLine)-rows))
}

// worst is the state an aggregate cell shows.
func worst(b *[nStates]int32) vmState {
	for s := nStates - 1; s > 0; s-- {
		if b[s] > 0 {
			return s
		}
	}
	return stGone
}

// view draws rows grid lines plus the counts line: O(cells on screen).
func (f *fleet) view(t *theme, width, rows int) []string {
	lines := make([]string, 0, rows+1)
	var sb strings.Builder
	row := 0
	for _, g := range f.groups {
		if len(lines) == rows {
			break
		}
		n := g.cells(f.scale)
		lineCount := max(1, ceilDiv(n, f.perLine))
		if row+lineCount <= f.top {
			row += lineCount
			continue
		}
		for l := 0; l < lineCount && len(lines) < rows; l, row = l+1, row+1 {
			if row < f.top {
				continue
			}
			sb.Reset()
			label := ""
			if l == 0 {
				label = groupLabel(g)
			}
			sb.WriteString(padRight(ansi.Truncate(label, f.labelW, "…"), f.labelW))
			sb.WriteByte(' ')
			from, to := l*f.perLine, min(n, (l+1)*f.perLine)
			f.drawCells(&sb, t, g, from, to)
			// The width is known: measuring thousands of cells again would
			// cost more than drawing them.
			if rest := width - (f.labelW + 1 + (to-from)*f.cellW); rest >= 0 {
				sb.WriteString(strings.Repeat(" ", rest))
				lines = append(lines, sb.String())
			} else {
				lines = append(lines, fitLine(sb.String(), width))
			}
		}
	}
	return append(padLines(lines, rows, width), f.countsLine(t, width))
}

// drawCells writes cells [from, to) of a group, one escape sequence per run
// of equal states.
func (f *fleet) drawCells(sb *strings.Builder, t *theme, g *group, from, to int) {
	slotCells := len(g.buckets)
	cur := nStates
	for c := from; c < to; c++ {
		st := stProvisioning
		if c < slotCells {
			st = worst(&g.buckets[c])
		}
		if st != cur {
			if cur != nStates {
				sb.WriteString(t.cell[cur].close)
			}
			sb.WriteString(t.cell[st].open)
			cur = st
		}
		sb.WriteString(stateGlyph[st])
		if f.cellW == 2 {
			sb.WriteByte(' ')
		}
	}
	if cur != nStates {
		sb.WriteString(t.cell[cur].close)
	}
}

// countsLine is the legend with the number of VMs in each state; it
// tightens its spacing before it cuts anything.
func (f *fleet) countsLine(t *theme, width int) string {
	line := f.counts(t, "  ")
	if ansi.StringWidth(line) > width {
		line = f.counts(t, " ")
	}
	// Cells of VMs gone for good (deleted, or replaced in another pool or
	// zone) are explained when they show and there is room.
	if n := f.totals[stGone]; n > 0 {
		gone := "  " + t.cell[stGone].Render(stateGlyph[stGone]) + " gone " + thousands(n)
		if ansi.StringWidth(line+gone) <= width {
			line += gone
		}
	}
	return fitLine(line, width)
}

func (f *fleet) counts(t *theme, sep string) string {
	var sb strings.Builder
	for i, s := range legendOrder {
		if i > 0 {
			sb.WriteString(sep)
		}
		n := f.totals[s]
		if s == stProvisioning {
			n = f.prov
		}
		sb.WriteString(t.cell[s].open + stateGlyph[s] + t.cell[s].close)
		fmt.Fprintf(&sb, " %s %s", stateName[s], thousands(n))
	}
	return sb.String()
}

// title describes the grid's scale.
func (f *fleet) title() string {
	per := "1 cell = 1 VM"
	if f.scale > 1 {
		per = fmt.Sprintf("1 cell = %s VMs, showing the worst", thousands(f.scale))
	}
	return fmt.Sprintf("Fleet · %s VMs up · %s", thousands(f.live()), per)
}
