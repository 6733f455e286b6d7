package spotwork

// The span conventions spotdrill correlates recovery from. A worker that does
// not use this package can follow them by hand: spotdrill reads only these
// names. docs/telemetry.md explains each one.
const (
	// SpanAttempt names the span of one job attempt: from the moment a
	// worker takes the job to the moment it completes it, hands it back or
	// gives up on it. A resumed attempt is a new span.
	SpanAttempt = "job.attempt"
	// SpanMark names a marker span: a zero-length child of an attempt span,
	// exported at once, that carries a fact of the attempt (AttrMark) while
	// the attempt still runs. OpenTelemetry exports a span only when it
	// ends, and a worker killed by an eviction never ends its attempt span:
	// markers are what survives of it.
	SpanMark = "job.attempt.mark"

	// AttrJobID is the job's identity in the queue, the same for every
	// attempt of the job. Required: spans without it are not workload spans.
	AttrJobID = "spotdrill.job.id"
	// AttrAttempt counts the attempts of the job from 1.
	AttrAttempt = "spotdrill.job.attempt"
	// AttrOutcome says how the attempt ended: one of the Outcome values.
	AttrOutcome = "spotdrill.attempt.outcome"
	// AttrProgress is the work, in seconds, that the attempt restored from
	// a checkpoint when it started (0 for a fresh start).
	AttrProgress = "spotdrill.job.progress"
	// AttrRestoredAt is when the checkpoint the attempt restored was taken
	// (RFC 3339): the last checkpoint of the interrupted attempt, which
	// spotdrill may not have heard of if its worker died with the VM.
	AttrRestoredAt = "spotdrill.checkpoint.restored_at"
	// AttrStorage says where the attempt's checkpoints go: StorageDurable
	// or StorageLocal (lost with the VM when its eviction policy is Delete).
	AttrStorage = "spotdrill.checkpoint.storage"
	// AttrCheckpointProgress, on a checkpoint event, is the work in seconds
	// that the checkpoint made durable.
	AttrCheckpointProgress = "spotdrill.checkpoint.progress"
	// AttrMark, on a marker span, names the fact it carries: MarkStart,
	// EventCheckpoint, EventPreemptNotice or EventDrainStart.
	AttrMark = "spotdrill.mark"
	// AttrNoticeEventID and AttrNoticeNotBefore describe the Scheduled Event
	// on a preempt.notice event: its EventId and its NotBefore (RFC 3339).
	AttrNoticeEventID   = "spotdrill.notice.event_id"
	AttrNoticeNotBefore = "spotdrill.notice.not_before"
	// AttrLink, on a link, says what the linked span is to this one;
	// LinkPreviousAttempt for the attempt a resumed attempt continues.
	AttrLink            = "spotdrill.link"
	LinkPreviousAttempt = "previous_attempt"
	// LinkEvictedBy links an interrupted attempt to the eviction span of
	// spotdrill's own trace (simulated runs).
	LinkEvictedBy = "evicted_by"

	// AttrHostName and AttrResourceID identify the VM, as OpenTelemetry's
	// semantic conventions spell them; spotdrill reads them from the span
	// or, failing that, from its resource.
	AttrHostName   = "host.name"
	AttrResourceID = "cloud.resource_id"

	// MarkStart is the marker of an attempt that started.
	MarkStart = "start"

	// Events on an attempt span (and marks of the same names).
	EventCheckpoint    = "checkpoint"
	EventPreemptNotice = "preempt.notice"
	EventDrainStart    = "drain.start"
	EventDrainEnd      = "drain.end"

	// Checkpoint storage kinds.
	StorageDurable = "durable"
	StorageLocal   = "local"
)

// Outcome is how an attempt ended.
type Outcome string

// Outcomes of an attempt. A real worker reports completed, released or
// failed; killed is what spotdrill concludes of an attempt that died with its
// VM (and what the simulated workers report).
const (
	OutcomeCompleted Outcome = "completed"
	OutcomeReleased  Outcome = "released"
	OutcomeFailed    Outcome = "failed"
	OutcomeKilled    Outcome = "killed"
)
