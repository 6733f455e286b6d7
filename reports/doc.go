// Package reports computes what a game day measured from its journal, grades
// it against SLOs and renders it.
//
// Reports are pure functions of a journal. An [Accumulator] folds events in
// journal order, either live (it is a journal.Sink on the runner's bus, and
// abort conditions call [Accumulator.Value]) or over a saved file ([Load]).
// [Accumulator.Report] turns what it folded into a [Report]; [Grade] grades a
// Report against SLOs, those of the scenario, of run.started ([RunSLOs]) or
// new ones for a postmortem ([ParseSLOs]); [WriteText] prints the terminal
// summary.
//
// [Analyze] reads a graded report as a postmortem: the failure modes F1 to
// F10 with their evidence, recommendations with their numbers (the
// Young/Daly checkpoint interval, the fallback budget a crunch needed) and
// action items. [Compare] sets a run against a baseline run. A [Bundle]
// holds all of it, and each format renders a Bundle: [WriteText],
// [WriteMarkdown], [WriteHTML] (charts drawn with gonum/plot, inlined as
// SVG), [WriteJSON] (report.schema.json) and [WriteJUnit]. [WriteAll]
// writes any set of formats to standard output, a file or a directory,
// each file whole or not at all ([WriteFileAtomic]).
//
// # Metrics
//
// Every metric of scenarios.Metrics is computed as docs/journal.md says.
// Choices the journal leaves open:
//
//   - Percentiles are exact nearest-rank percentiles over every value: the
//     p95 is a value that was observed, the smallest with at least 95% of
//     the values at or below it.
//   - A job's TTR starts when the VM it ran on was evicted (or at its
//     interruption when no eviction explains it) and ends at its next
//     job.resumed, or its job.completed if that comes first. A job handed
//     back and resumed before its eviction landed recovered in zero; if the
//     eviction never lands, its TTR counts from the interruption.
//   - A metric that cannot be computed is not measured, with a note saying
//     why. It is vacuous when what it measures never happened (no
//     evictions, nothing provisioned, no Spot VM ran): an objective on it is
//     met. Otherwise (no jobs submitted, no samples, no workload summary) an
//     objective on it fails.
//   - Workload totals (submitted, completed, compute) come from the workload
//     summary, or from the latest sample's running totals until it comes.
//     Turnaround, queue wait and the Spot success rate need the summary.
//   - cost.variance compares spend with the planned cost prorated to the
//     time the run lasted, so an aborted run compares like with like.
//   - evictions.uncorrelated counts evicted VMs whose eviction.evicted says
//     they ran jobs (count > 0) but that no job.interrupted names.
//
// Live, [Accumulator.Value] differs from the report in two ways: ttr.max
// also counts jobs still down, from their eviction to the latest event, so
// that an abort on it fires while a job stays down; and a job that recovered
// before its eviction landed joins the TTR percentiles when it lands.
//
// # Grading
//
// Each SLO passes when its metric holds the objective. The margin is how
// far the value lies inside the objective, in the metric's unit: positive
// inside, negative outside. Interrupted work still down at the end of the
// run fails every job TTR objective (ttr.p50/p95/p99/max), and an evicted
// VM never replaced fails every capacity TTR objective, whatever the
// percentiles of the rest say.
//
// The resilience score, 0 to 100:
//
//	base    = 100 × Σ weight(met SLOs) / Σ weight(all SLOs)   (100 with no SLOs)
//	weight  = 2 for recovery objectives (ttr.*, lostWork.*, jobs.successRate,
//	          jobs.spotSuccessRate), 1 for the rest
//	penalty = 10 + 30 × unrecovered jobs / interruptions      (0 when all recovered)
//	score   = round(clamp(base − penalty, 0, 100))
//
// The verdict is aborted when the run was aborted, incomplete when it was
// cut short or failed, else fail when any SLO failed, else pass.
package reports
