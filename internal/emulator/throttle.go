package emulator

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Bucket is a token bucket: Size tokens when full, Refill tokens added per
// second of wall time. The zero Bucket never throttles.
type Bucket struct {
	Size   float64
	Refill float64
}

func (b Bucket) limited() bool { return b.Size > 0 }

// Policy is one Microsoft.Compute throttling policy: a bucket per resource
// (a VM, a scale set) and one for the whole subscription.
type Policy struct {
	PerResource     Bucket
	PerSubscription Bucket
}

// Compute policies, as Azure names them in its throttling documentation.
const (
	PolicyDeleteVM              = "DeleteVM"              // VM Delete, Deallocate, SimulateEviction
	PolicyUpdateVMScaleSetVMs   = "UpdateVMScaleSetVMs"   // scale-set VM Start, Restart, ..., SimulateEviction
	PolicyLowCostGetVM          = "LowCostGetVM"          // VM Get, InstanceView
	PolicyHighCostGetVM         = "HighCostGetVM"         // VM List, List All
	PolicyGetVMScaleSetVM       = "GetVMScaleSetVM"       // scale-set VM Get, GetInstanceView
	PolicyHighCostGetVMScaleSet = "HighCostGetVMScaleSet" // scale-set List, List All, instance listings
)

// Limits are the rate limits the emulator enforces. Azure's are per region,
// subscription and security principal; the emulator has one of each, so
// every client shares the buckets.
type Limits struct {
	// Off serves every request.
	Off bool
	// Reads and Writes are Resource Manager's subscription buckets (POST
	// actions such as simulateEviction count as writes).
	Reads, Writes Bucket
	// Policies are the Compute resource provider's, by name.
	Policies map[string]Policy
}

// perMinute turns Compute's "refill per minute" figures into a Bucket.
func perMinute(size, refill float64) Bucket { return Bucket{Size: size, Refill: refill / 60} }

// DefaultLimits are Azure's documented limits: Resource Manager's token
// buckets (reads 250 refilled 25/s, writes 200 refilled 10/s) and the
// Compute policies' buckets (per resource and per subscription, refilled
// per minute).
func DefaultLimits() Limits {
	return Limits{
		Reads:  Bucket{Size: 250, Refill: 25},
		Writes: Bucket{Size: 200, Refill: 10},
		Policies: map[string]Policy{
			PolicyDeleteVM:              {PerResource: perMinute(12, 4), PerSubscription: perMinute(1500, 500)},
			PolicyUpdateVMScaleSetVMs:   {PerResource: perMinute(12, 4), PerSubscription: perMinute(1500, 500)},
			PolicyLowCostGetVM:          {PerResource: perMinute(36, 12), PerSubscription: perMinute(24000, 8000)},
			PolicyHighCostGetVM:         {PerSubscription: perMinute(900, 300)},
			PolicyGetVMScaleSetVM:       {PerResource: perMinute(36, 12), PerSubscription: perMinute(6000, 2000)},
			PolicyHighCostGetVMScaleSet: {PerResource: perMinute(30, 10), PerSubscription: perMinute(1080, 360)},
		},
	}
}

// tokens is the state of one bucket.
type tokens struct {
	cfg  Bucket
	have float64
	at   time.Time
}

func newTokens(cfg Bucket, now time.Time) *tokens { return &tokens{cfg: cfg, have: cfg.Size, at: now} }

func (t *tokens) refill(now time.Time) {
	if d := now.Sub(t.at); d > 0 {
		t.have = math.Min(t.cfg.Size, t.have+d.Seconds()*t.cfg.Refill)
		t.at = now
	}
}

// wait is how long until one token is there.
func (t *tokens) wait() time.Duration {
	if t.have >= 1 {
		return 0
	}
	if t.cfg.Refill <= 0 {
		return time.Hour
	}
	return time.Duration((1 - t.have) / t.cfg.Refill * float64(time.Second))
}

func (t *tokens) remaining() int { return int(math.Floor(t.have)) }

// throttle holds the buckets. It is not safe for concurrent use: the
// emulator calls it with its lock held.
type throttle struct {
	limits Limits
	reads  *tokens
	writes *tokens
	// compute buckets by policy, then by lower-case resource ID ("" for
	// the subscription's).
	compute map[string]map[string]*tokens
}

func newThrottle(l Limits, now time.Time) *throttle {
	return &throttle{limits: l, reads: newTokens(l.Reads, now), writes: newTokens(l.Writes, now),
		compute: map[string]map[string]*tokens{}}
}

// verdict is what the throttle says of one request: the headers to send
// and, when a bucket is empty, the wait and the error to answer with.
type verdict struct {
	header     http.Header
	retryAfter time.Duration
	code       string
	message    string
	detail     *apiErrorDetail
}

func (v *verdict) throttled() bool { return v.code != "" }

// apiErrorDetail is the detail Compute adds to its 429s.
type apiErrorDetail struct{ code, target, message string }

// arm charges Resource Manager's read or write bucket.
func (th *throttle) arm(method, sub string, now time.Time, v *verdict) {
	b, kind := th.reads, "reads"
	if method != http.MethodGet {
		b, kind = th.writes, "writes"
	}
	if th.limits.Off || !b.cfg.limited() {
		return
	}
	b.refill(now)
	if b.have < 1 {
		wait := b.wait()
		v.header.Set("x-ms-ratelimit-remaining-subscription-"+kind, "0")
		v.retryAfter, v.code = wait, "SubscriptionRequestsThrottled"
		v.message = fmt.Sprintf("Number of '%s' requests for subscription '%s' exceeded. Please try again after '%d' seconds after additional tokens are available.",
			strings.TrimSuffix(kind, "s"), sub, retrySeconds(wait))
		return
	}
	b.have--
	v.header.Set("x-ms-ratelimit-remaining-subscription-"+kind, strconv.Itoa(b.remaining()))
}

// policy charges a Compute policy's buckets for one resource (none when
// resource is empty): both must have a token, or neither is charged.
func (th *throttle) policy(name, resource string, now time.Time, v *verdict) {
	p, ok := th.limits.Policies[name]
	if th.limits.Off || !ok {
		return
	}
	var bs []*tokens
	var labels []string
	if resource != "" && p.PerResource.limited() {
		bs, labels = append(bs, th.bucket(name, strings.ToLower(resource), p.PerResource, now)), append(labels, "PerResource")
	}
	if p.PerSubscription.limited() {
		bs, labels = append(bs, th.bucket(name, "", p.PerSubscription, now)), append(labels, "PerSubscription")
	}
	var empty *tokens
	for _, b := range bs {
		b.refill(now)
		if b.have < 1 && (empty == nil || b.wait() > empty.wait()) {
			empty = b
		}
	}
	if empty == nil {
		for _, b := range bs {
			b.have--
		}
	}
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("Microsoft.Compute/%s%s;%d", name, labels[i], b.remaining())
	}
	if len(parts) > 0 {
		v.header.Set("x-ms-ratelimit-remaining-resource", strings.Join(parts, ","))
		v.header.Set("x-ms-request-charge", "1")
	}
	if empty == nil {
		return
	}
	wait := empty.wait()
	v.retryAfter, v.code = wait, "OperationNotAllowed"
	v.message = "The server rejected the request because too many requests have been received for this subscription."
	v.detail = &apiErrorDetail{code: "TooManyRequests", target: name,
		message: fmt.Sprintf(`{"operationGroup":%q,"allowedRequestCount":%d,"retryAfterSeconds":%d}`, name, int(empty.cfg.Size), retrySeconds(wait))}
}

func (th *throttle) bucket(policy, key string, cfg Bucket, now time.Time) *tokens {
	m := th.compute[policy]
	if m == nil {
		m = map[string]*tokens{}
		th.compute[policy] = m
	}
	b := m[key]
	if b == nil {
		b = newTokens(cfg, now)
		m[key] = b
	}
	return b
}

// retrySeconds is Retry-After as Azure sends it: whole seconds, rounded up,
// at least one.
func retrySeconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
