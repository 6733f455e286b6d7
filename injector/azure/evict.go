package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/spotdrill/spotdrill/injector"
)

// Error codes spotdrill sets itself, when Azure was not asked or did not
// answer with one.
const (
	// CodeNotSpot: the target is not a Spot VM; no call was made.
	CodeNotSpot = "NotSpot"
	// CodeAlreadyRequested: this run already asked to evict the target and
	// has not seen the outcome yet; no call was made.
	CodeAlreadyRequested = "AlreadyRequested"
	// CodeTimeout: the eviction did not land within the scenario's timeout.
	CodeTimeout = "Timeout"
	// CodeNoResponse: the call ended without an answer (network, cancel).
	CodeNoResponse = "NoResponse"
)

// ErrThrottled marks a call that Azure still throttled after the retries,
// or whose Retry-After was longer than Options.MaxRetryAfter.
var ErrThrottled = errors.New("throttled by Azure")

// Error is a simulateEviction that Azure refused or that failed, with what
// Azure said. It unwraps to injector.ErrNotSpot or injector.ErrGone when it
// means one, to ErrThrottled for a 429, and to the SDK's
// *azcore.ResponseError when there was an answer.
type Error struct {
	Target  string // ARM resource ID
	Status  int    // HTTP status; 0 when no call was made or none answered
	Code    string // ARM error code, or one of the Code constants
	Message string // Azure's message, or spotdrill's reason
	kind    error  // a sentinel, or nil
	cause   error  // the SDK's error, or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("simulateEviction ")
	b.WriteString(shortName(e.Target))
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d ", e.Status)
	}
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// ErrorCode is the ARM error code, for the journal's code field.
func (e *Error) ErrorCode() string { return e.Code }

// Unwrap exposes the sentinel and the SDK error to errors.Is and As.
func (e *Error) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// Call is what Azure answered to one simulateEviction: the outcome, and
// the rate-limit headers the journal records.
type Call struct {
	Target string
	// Status is the HTTP status of the last answer (204 when accepted); 0
	// when no call was made.
	Status int
	// Attempts counts HTTP requests, retries included; Throttled counts
	// the 429 answers among them (retried ones too).
	Attempts  int
	Throttled int
	// RateLimit holds the last answer's x-ms-ratelimit-remaining-* headers,
	// by header name in lower case.
	RateLimit map[string]string
	// RequestID is ARM's x-ms-request-id, for a support case.
	RequestID string
	Started   time.Time
	Duration  time.Duration
	// Err is nil when Azure accepted the call; otherwise an *Error.
	Err error
}

// Sent reports whether an HTTP request left for Azure.
func (c Call) Sent() bool { return c.Attempts > 0 }

// attempts records every HTTP try of one call. Each call has its own, put
// in its context; azcore runs a call's tries one after the other.
type attempts struct {
	n, throttled int
	status       int
	header       http.Header
}

type attemptsKey struct{}

// attemptPolicy runs once per try, inside azcore's retry loop. It paces
// every write, retries included: a retry spends a token of Azure's bucket
// like any call, and paying for it here is what lets a client that met
// 429s (a bucket shared with other principals, or started late) fall back
// under the bucket's rate instead of retrying in a storm; a 429 also
// empties the client's bucket (Pacer.Throttled). It also records
// every answer, the 429s azcore waits out included.
type attemptPolicy struct{ pacer *Pacer }

func (p attemptPolicy) Do(req *policy.Request) (*http.Response, error) {
	if req.Raw().Method == http.MethodPost {
		if err := p.pacer.Wait(req.Raw().Context()); err != nil {
			return nil, err
		}
	}
	resp, err := req.Next()
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests && req.Raw().Method == http.MethodPost {
		p.pacer.Throttled()
	}
	if a, ok := req.Raw().Context().Value(attemptsKey{}).(*attempts); ok {
		a.n++
		if resp != nil {
			a.status = resp.StatusCode
			a.header = resp.Header
			if resp.StatusCode == http.StatusTooManyRequests {
				a.throttled++
			}
		}
	}
	return resp, err
}

// SimulateEviction asks Azure to evict one Spot VM or scale-set instance;
// each request waits for the pacer. A target that is not Spot is refused
// here, without a call.
func (c *Client) SimulateEviction(ctx context.Context, t injector.Target) Call {
	call := Call{Target: t.ID, Started: c.clock.Now()}
	if !t.Spot() {
		call.Err = &Error{Target: t.ID, Code: CodeNotSpot, kind: injector.ErrNotSpot,
			Message: fmt.Sprintf("priority %s; only Spot VMs are ever evicted, so no call was made", orUnknown(t.Priority))}
		return call
	}
	ref, err := ParseRef(t.ID)
	if err != nil {
		call.Err = &Error{Target: t.ID, Code: "InvalidResourceID", Message: err.Error()}
		return call
	}
	if err := ctx.Err(); err != nil {
		call.Err = &Error{Target: t.ID, Code: CodeNoResponse, Message: err.Error(), cause: err}
		return call
	}
	a := &attempts{}
	cctx := context.WithValue(ctx, attemptsKey{}, a)
	if ref.Instance != "" {
		_, err = c.setVMs.SimulateEviction(cctx, ref.ResourceGroup, ref.ScaleSet, ref.Instance, nil)
	} else {
		_, err = c.vms.SimulateEviction(cctx, ref.ResourceGroup, ref.Name, nil)
	}
	call.Duration = c.clock.Now().Sub(call.Started)
	call.Attempts, call.Throttled, call.Status = a.n, a.throttled, a.status
	call.RateLimit, call.RequestID = rateLimitHeaders(a.header), a.header.Get("x-ms-request-id")
	if err != nil {
		call.Err = classify(t.ID, err)
	}
	return call
}

// SimulateEvictions evicts several targets at once, at most
// Options.Concurrency calls in flight and all of them paced. A target
// listed twice is called once: the second gets CodeAlreadyRequested. The
// calls come back in the order of the targets.
func (c *Client) SimulateEvictions(ctx context.Context, targets []injector.Target) []Call {
	out := make([]Call, len(targets))
	seen := make(map[string]bool, len(targets))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(c.conc, len(targets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = c.SimulateEviction(ctx, targets[i])
			}
		}()
	}
	for i, t := range targets {
		key := strings.ToLower(t.ID)
		if seen[key] {
			out[i] = Call{Target: t.ID, Err: &Error{Target: t.ID, Code: CodeAlreadyRequested, Message: "listed twice in one batch; called once"}}
			continue
		}
		seen[key] = true
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// classify turns the SDK's error into an *Error the runner understands.
func classify(id string, err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return &Error{Target: id, Code: CodeNoResponse, Message: err.Error(), cause: err}
	}
	e := &Error{Target: id, Status: re.StatusCode, Code: re.ErrorCode, Message: responseMessage(re), cause: err}
	if e.Code == "" {
		e.Code = http.StatusText(re.StatusCode)
	}
	switch {
	case re.StatusCode == http.StatusNotFound:
		e.kind = injector.ErrGone
	case re.StatusCode == http.StatusTooManyRequests:
		e.kind = ErrThrottled
		if ra := retryAfter(re); ra != "" {
			e.Message = strings.TrimSpace(e.Message + " (Retry-After " + ra + "s)")
		}
	case strings.EqualFold(re.ErrorCode, "OperationNotAllowed"):
		// What Azure answers for a VM that is not Spot (the exact code is
		// undocumented; the Azure CLI's own test only expects a failure).
		e.kind = injector.ErrNotSpot
	}
	return e
}

func retryAfter(re *azcore.ResponseError) string {
	if re.RawResponse == nil {
		return ""
	}
	return re.RawResponse.Header.Get("Retry-After")
}

// apiError is an answer of Azure's in one line: the SDK's own message
// spans a dozen lines with the request and the whole body, too much for a
// journal note. It unwraps to the SDK's *azcore.ResponseError.
type apiError struct{ re *azcore.ResponseError }

func (e apiError) Error() string {
	msg := fmt.Sprintf("%d %s", e.re.StatusCode, e.re.ErrorCode)
	if m := responseMessage(e.re); m != "" {
		msg += ": " + m
	}
	return msg
}

func (e apiError) Unwrap() error { return e.re }

// brief shortens the SDK's response errors; others pass as they are.
func brief(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return apiError{re}
	}
	return err
}

// responseMessage is Azure's error message from the CloudError body,
// without the SDK's multi-line dump of the request.
func responseMessage(re *azcore.ResponseError) string {
	if re.RawResponse == nil {
		return ""
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil || len(body) == 0 {
		return ""
	}
	var cloudErr struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &cloudErr) != nil {
		return ""
	}
	return cloudErr.Error.Message
}

func rateLimitHeaders(h http.Header) map[string]string {
	var out map[string]string
	for k, v := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-ratelimit-remaining-") && len(v) > 0 {
			if out == nil {
				out = map[string]string{}
			}
			out[lk] = v[0]
		}
	}
	return out
}

// Ref is what simulateEviction needs of a target's resource ID.
type Ref struct {
	Subscription  string
	ResourceGroup string
	// Name is the VM's name; for a Uniform instance, the scale set's.
	Name string
	// ScaleSet and Instance are set for a Uniform scale-set instance.
	ScaleSet string
	Instance string
}

// ParseRef reads a VM or scale-set instance resource ID, or an AKS node's
// providerID (azure:///subscriptions/...).
func ParseRef(id string) (Ref, error) {
	rid, err := arm.ParseResourceID(strings.TrimPrefix(strings.TrimSpace(id), "azure://"))
	if err != nil {
		return Ref{}, fmt.Errorf("resource ID %q: %w", id, err)
	}
	switch {
	case strings.EqualFold(rid.ResourceType.String(), "Microsoft.Compute/virtualMachines"):
		return Ref{Subscription: rid.SubscriptionID, ResourceGroup: rid.ResourceGroupName, Name: rid.Name}, nil
	case strings.EqualFold(rid.ResourceType.String(), "Microsoft.Compute/virtualMachineScaleSets/virtualMachines") && rid.Parent != nil:
		return Ref{Subscription: rid.SubscriptionID, ResourceGroup: rid.ResourceGroupName, Name: rid.Parent.Name,
			ScaleSet: rid.Parent.Name, Instance: rid.Name}, nil
	}
	return Ref{}, fmt.Errorf("resource ID %q is a %s (expected a virtual machine or a scale-set instance)", id, rid.ResourceType)
}

// ID is the canonical resource ID of the reference.
func (r Ref) ID() string {
	if r.Instance != "" {
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/%s",
			r.Subscription, r.ResourceGroup, r.ScaleSet, r.Instance)
	}
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s", r.Subscription, r.ResourceGroup, r.Name)
}

// shortName is the last segments of a resource ID that a person reads.
func shortName(id string) string {
	if r, err := ParseRef(id); err == nil {
		if r.Instance != "" {
			return r.ResourceGroup + "/" + r.ScaleSet + "/" + r.Instance
		}
		return r.ResourceGroup + "/" + r.Name
	}
	return id
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
