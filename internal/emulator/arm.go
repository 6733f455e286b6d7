package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
)

// computeAPIVersions are the Microsoft.Compute api-versions the emulator
// accepts: armcompute v7's (2025-04-01) and the earlier ones that tools in
// the field still send.
func computeAPIVersions() []string {
	return []string{"2020-06-01", "2020-12-01", "2021-03-01", "2021-04-01", "2021-07-01", "2021-11-01", "2022-03-01",
		"2022-08-01", "2022-11-01", "2023-03-01", "2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01"}
}

var apiVersionShape = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

// route is one Resource Manager operation: a method, a path pattern of
// lower-case literals and "*" parameters, the Compute policy it is charged
// to, and how many leading segments name the resource the policy's
// per-resource bucket is kept for (0: none).
type route struct {
	method   string
	pattern  []string
	policy   string
	resource int
	serve    func(e *Emulator, c *call) (reply, *armError)
}

// call is one matched request.
type call struct {
	r        *http.Request
	segments []string
	params   []string // sub, then the resource group, then the names
	now      time.Duration
	pageSize int
}

// reply is a successful answer: a status and a model to marshal (none for
// nil).
type reply struct {
	status int
	body   any
}

func (c *call) group() string { return c.params[1] }

func routes() []route {
	const (
		sub   = "subscriptions/*/providers/microsoft.compute/"
		group = "subscriptions/*/resourcegroups/*/providers/microsoft.compute/"
		vm    = group + "virtualmachines/*"
		set   = group + "virtualmachinescalesets/*"
		inst  = set + "/virtualmachines/*"
	)
	r := func(method, pattern, policy string, resource int, serve func(*Emulator, *call) (reply, *armError)) route {
		return route{method: method, pattern: strings.Split(pattern, "/"), policy: policy, resource: resource, serve: serve}
	}
	get, post, patch := http.MethodGet, http.MethodPost, http.MethodPatch
	return []route{
		r(get, vm+tagsSuffix, "", 0, (*Emulator).vmTags),
		r(patch, vm+tagsSuffix, "", 0, (*Emulator).vmTags),
		r(get, set+tagsSuffix, "", 0, (*Emulator).setTags),
		r(patch, set+tagsSuffix, "", 0, (*Emulator).setTags),
		r(patch, set, "", 0, (*Emulator).updateSet),
		r(get, sub+"virtualmachines", PolicyHighCostGetVM, 0, (*Emulator).listVMs),
		r(get, group+"virtualmachines", PolicyHighCostGetVM, 0, (*Emulator).listVMs),
		r(get, vm, PolicyLowCostGetVM, 8, (*Emulator).getVM),
		r(get, vm+"/instanceview", PolicyLowCostGetVM, 8, (*Emulator).getVMView),
		r(post, vm+"/simulateeviction", PolicyDeleteVM, 8, (*Emulator).evictVM),
		r(get, sub+"virtualmachinescalesets", PolicyHighCostGetVMScaleSet, 0, (*Emulator).listSets),
		r(get, group+"virtualmachinescalesets", PolicyHighCostGetVMScaleSet, 0, (*Emulator).listSets),
		r(get, set, "", 0, (*Emulator).getSet),
		r(get, set+"/virtualmachines", PolicyHighCostGetVMScaleSet, 8, (*Emulator).listInstances),
		r(get, inst, PolicyGetVMScaleSetVM, 10, (*Emulator).getInstance),
		r(get, inst+"/instanceview", PolicyGetVMScaleSetVM, 10, (*Emulator).getInstanceView),
		r(post, inst+"/simulateeviction", PolicyUpdateVMScaleSetVMs, 10, (*Emulator).evictInstance),
	}
}

// match finds the route of a path, comparing literals case-insensitively
// as Resource Manager does. pathFound is true when some route has the path
// but not the method.
func match(rs []route, method string, segments []string) (rt *route, params []string, pathFound bool) {
	for i := range rs {
		ps, ok := matchPattern(rs[i].pattern, segments)
		if !ok {
			continue
		}
		if rs[i].method == method {
			return &rs[i], ps, true
		}
		pathFound = true
	}
	return nil, nil, pathFound
}

func matchPattern(pattern, segments []string) ([]string, bool) {
	if len(pattern) != len(segments) {
		return nil, false
	}
	var params []string
	for i, p := range pattern {
		switch {
		case p == "*":
			if segments[i] == "" {
				return nil, false
			}
			params = append(params, segments[i])
		case !strings.EqualFold(p, segments[i]):
			return nil, false
		}
	}
	return params, true
}

// serveARM answers Resource Manager requests: route, throttle, check the
// api-version and the subscription, then serve under the lock. Every
// answer carries the rate-limit headers; every error is a CloudError.
func (e *Emulator) serveARM(rs []route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		segments := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		rt, params, pathFound := match(rs, r.Method, segments)
		if rt == nil {
			h := e.baseHeader(r)
			if pathFound {
				writeARMError(w, h, errorf(http.StatusMethodNotAllowed, "HttpMethodNotSupported",
					"The emulator does not support %s on '%s'; see docs/emulator.md for what it serves.", r.Method, r.URL.Path))
				return
			}
			writeARMError(w, h, errorf(http.StatusNotFound, "NotFound",
				"The emulator does not serve '%s'; see docs/emulator.md for the operations it serves.", r.URL.Path))
			return
		}
		c := &call{r: r, segments: segments, params: params, pageSize: e.opts.PageSize}
		h, rep, aerr := e.handle(rt, c)
		if aerr != nil {
			writeARMError(w, h, aerr)
			return
		}
		writeJSON(w, h, rep.status, rep.body)
	}
}

// handle runs one matched request under the lock. The reply's models are
// built here and marshalled after the lock is released: they share nothing
// with the fleet.
func (e *Emulator) handle(rt *route, c *call) (http.Header, reply, *armError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.baseHeader(c.r)
	if e.state != stateRunning {
		return h, reply{}, errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "The emulator is not running.")
	}
	e.advance()
	c.now = e.world.Now()
	wallNow := e.opts.Now()
	v := &verdict{header: h}
	if e.limits.arm(c.r.Method, c.params[0], wallNow, v); v.throttled() {
		return h, reply{}, throttled(v)
	}
	versions := computeAPIVersions()
	if isTagsRoute(rt) {
		versions = tagsAPIVersions
	}
	if err := checkAPIVersion(c.r, c.segments, versions); err != nil {
		return h, reply{}, err
	}
	if err := e.checkScope(rt, c); err != nil {
		return h, reply{}, err
	}
	if rt.policy != "" {
		resource := ""
		if rt.resource > 0 {
			resource = strings.Join(c.segments[:rt.resource], "/")
		}
		if e.limits.policy(rt.policy, resource, wallNow, v); v.throttled() {
			return h, reply{}, throttled(v)
		}
	}
	rep, err := rt.serve(e, c)
	return h, rep, err
}

// baseHeader is what every Resource Manager answer carries.
func (e *Emulator) baseHeader(r *http.Request) http.Header {
	h := http.Header{}
	id := strings.ToLower(eventID(e.fleet.seed, "request", int(e.requests.Add(1))))
	h.Set("x-ms-request-id", id)
	h.Set("x-ms-correlation-request-id", id)
	if cid := r.Header.Get("x-ms-client-request-id"); cid != "" {
		h.Set("x-ms-client-request-id", cid)
	}
	return h
}

func throttled(v *verdict) *armError {
	v.header.Set("Retry-After", strconv.Itoa(retrySeconds(v.retryAfter)))
	e := &armError{status: http.StatusTooManyRequests, code: v.code, message: v.message}
	if d := v.detail; d != nil {
		e.details = []*armcompute.APIErrorBase{{Code: to.Ptr(d.code), Target: to.Ptr(d.target), Message: to.Ptr(d.message)}}
	}
	return e
}

func checkAPIVersion(r *http.Request, segments []string, supported []string) *armError {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return errorf(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
	}
	if !apiVersionShape.MatchString(v) {
		return errorf(http.StatusBadRequest, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(supported, ","))
	}
	if !slices.Contains(supported, v) {
		return errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
			"No registered resource provider found for location '%s' and API version '%s' for type '%s'. The supported api-versions are '%s'.",
			"emulator", v, resourceType(segments), strings.Join(supported, ", "))
	}
	return nil
}

// resourceType is the type a path addresses, for error messages.
func resourceType(segments []string) string {
	for i, s := range segments {
		if strings.EqualFold(s, "microsoft.compute") && i+1 < len(segments) {
			return segments[i+1]
		}
	}
	return ""
}

// checkScope answers 404 for another subscription or resource group, as
// Azure does for one the caller cannot see.
func (e *Emulator) checkScope(rt *route, c *call) *armError {
	if !strings.EqualFold(c.params[0], e.opts.Subscription) {
		return errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", c.params[0])
	}
	if strings.EqualFold(rt.pattern[2], "resourcegroups") && !strings.EqualFold(c.group(), e.opts.ResourceGroup) {
		return errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", c.group())
	}
	return nil
}

func writeJSON(w http.ResponseWriter, h http.Header, status int, body any) {
	for k, v := range h {
		w.Header()[k] = v
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"InternalServerError","message":"the emulator could not encode its answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeARMError(w http.ResponseWriter, h http.Header, e *armError) {
	writeJSON(w, h, e.status, e.body())
}

// skipToken reads the paging token: the last item of the previous page.
func skipToken(r *http.Request) (int, *armError) {
	s := r.URL.Query().Get("$skiptoken")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badParameter("The value '%s' of the $skiptoken parameter is not valid.", s)
	}
	return n, nil
}

// nextLink is an absolute URL back at the emulator, as Azure's are: the
// SDK's pagers follow it as it is.
func nextLink(r *http.Request, token int) *string {
	q := r.URL.Query()
	q.Set("$skiptoken", strconv.Itoa(token))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	return to.Ptr(u.String())
}

// page cuts a listing after the paging token; next is the next page's
// link, nil on the last page.
func page[T any](c *call, items []T, key func(T) int) (out []T, next *string, err *armError) {
	after, err := skipToken(c.r)
	if err != nil {
		return nil, nil, err
	}
	i := 0
	for i < len(items) && key(items[i]) <= after {
		i++
	}
	items = items[i:]
	if len(items) > c.pageSize {
		return items[:c.pageSize], nextLink(c.r, key(items[c.pageSize-1])), nil
	}
	return items, nil, nil
}

func (m *machine) key() int { return m.seq }

// vmFilterShape is the only $filter Azure allows on a VM listing: a Flexible
// scale set's ID, and the emulator has no Flexible scale sets.
var vmFilterShape = regexp.MustCompile(`(?i)^\s*'virtualMachineScaleSet/id'\s+eq\s+'([^']+)'\s*$`)

// listVMs lists the standalone VMs of the resource group or of the
// subscription. Uniform instances are not VMs of the VM API, as on Azure.
func (e *Emulator) listVMs(c *call) (reply, *armError) {
	q := c.r.URL.Query()
	statusOnly := strings.EqualFold(q.Get("statusOnly"), "true")
	if s := q.Get("statusOnly"); s != "" && !strings.EqualFold(s, "true") && !strings.EqualFold(s, "false") {
		return reply{}, badParameter("The value '%s' of the statusOnly parameter is not valid (expected true or false).", s)
	}
	filter, expand := q.Get("$filter"), q.Get("$expand")
	if expand != "" && (!strings.EqualFold(expand, "instanceView") || filter == "") {
		return reply{}, badParameter("The $expand option '%s' is allowed only as 'instanceView' with a $filter on 'virtualMachineScaleSet/id'; use statusOnly=true for the power states of all VMs.", expand)
	}
	keep := func(m *machine) bool { return m.pool.kind == KindStandalone }
	if filter != "" {
		if !vmFilterShape.MatchString(filter) {
			return reply{}, badParameter("The $filter '%s' is not supported; only 'virtualMachineScaleSet/id' eq '<Flexible scale set ID>' is.", filter)
		}
		keep = func(*machine) bool { return false } // no Flexible scale sets here
	}
	ms, next, err := page(c, e.fleet.live(0, keep), (*machine).key)
	if err != nil {
		return reply{}, err
	}
	out := armcompute.VirtualMachineListResult{Value: []*armcompute.VirtualMachine{}, NextLink: next}
	for _, m := range ms {
		if statusOnly {
			out.Value = append(out.Value, e.vmStatus(m))
		} else {
			out.Value = append(out.Value, e.vmModel(m, expand != ""))
		}
	}
	return reply{http.StatusOK, out}, nil
}

// vm finds the standalone VM a path names.
func (e *Emulator) vm(c *call) (*machine, *armError) {
	name := c.params[2]
	m := e.fleet.lookup(e.fleet.vmID(name))
	if m == nil {
		return nil, notFound("virtualMachines", name, c.group())
	}
	return m, nil
}

func (e *Emulator) getVM(c *call) (reply, *armError) {
	m, err := e.vm(c)
	if err != nil {
		return reply{}, err
	}
	view, aerr := expandsInstanceView(c)
	if aerr != nil {
		return reply{}, aerr
	}
	return reply{http.StatusOK, e.vmModel(m, view)}, nil
}

// expandsInstanceView checks a GET's $expand, as VMs and scale-set VMs take
// it, and says whether it asks for the instance view.
func expandsInstanceView(c *call) (bool, *armError) {
	expand := c.r.URL.Query().Get("$expand")
	switch strings.ToLower(expand) {
	case "", "instanceview", "userdata", "resiliencyview":
		return strings.EqualFold(expand, "instanceView"), nil
	}
	return false, badParameter("The value '%s' of the $expand parameter is not valid (expected instanceView, userData or resiliencyView).", expand)
}

func (e *Emulator) getVMView(c *call) (reply, *armError) {
	m, err := e.vm(c)
	if err != nil {
		return reply{}, err
	}
	return reply{http.StatusOK, e.vmInstanceView(m)}, nil
}

func (e *Emulator) evictVM(c *call) (reply, *armError) {
	m, err := e.vm(c)
	if err != nil {
		return reply{}, err
	}
	return e.simulateEviction(c, m)
}

func (e *Emulator) listSets(c *call) (reply, *armError) {
	var sets []*pool
	for _, p := range e.fleet.pools {
		if p.kind == KindUniform {
			sets = append(sets, p)
		}
	}
	index := func(p *pool) int { return slices.Index(e.fleet.pools, p) + 1 }
	ps, next, err := page(c, sets, index)
	if err != nil {
		return reply{}, err
	}
	out := armcompute.VirtualMachineScaleSetListResult{Value: []*armcompute.VirtualMachineScaleSet{}, NextLink: next}
	for _, p := range ps {
		out.Value = append(out.Value, e.setModel(p))
	}
	return reply{http.StatusOK, out}, nil
}

// set finds the Uniform scale set a path names.
func (e *Emulator) set(c *call) (*pool, *armError) {
	p := e.fleet.scaleSet(c.params[2])
	if p == nil {
		return nil, notFound("virtualMachineScaleSets", c.params[2], c.group())
	}
	return p, nil
}

func (e *Emulator) getSet(c *call) (reply, *armError) {
	p, err := e.set(c)
	if err != nil {
		return reply{}, err
	}
	return reply{http.StatusOK, e.setModel(p)}, nil
}

// instanceFilters are the $filter values Azure documents for listing
// scale-set VMs; every emulated instance passes the first and "true".
func instanceFilterOK(f string) bool {
	n := strings.Join(strings.Fields(strings.ToLower(f)), " ")
	switch n {
	case "", "startswith(instanceview/statuses/code, 'powerstate') eq true",
		"properties/latestmodelapplied eq true", "properties/latestmodelapplied eq false":
		return true
	}
	return false
}

func (e *Emulator) listInstances(c *call) (reply, *armError) {
	p, err := e.set(c)
	if err != nil {
		return reply{}, err
	}
	q := c.r.URL.Query()
	expand := q.Get("$expand")
	if expand != "" && !strings.EqualFold(expand, "instanceView") {
		return reply{}, badParameter("The value '%s' of the $expand parameter is not valid (expected instanceView).", expand)
	}
	filter := q.Get("$filter")
	if !instanceFilterOK(filter) {
		return reply{}, badParameter("The $filter '%s' is not supported.", filter)
	}
	keep := func(m *machine) bool { return m.pool == p }
	if strings.HasSuffix(strings.ToLower(strings.TrimSpace(filter)), "latestmodelapplied eq false") {
		keep = func(*machine) bool { return false }
	}
	view := expand != "" || strings.HasPrefix(strings.ToLower(q.Get("$select")), "instanceview")
	ms, next, err := page(c, e.fleet.live(0, keep), (*machine).key)
	if err != nil {
		return reply{}, err
	}
	out := armcompute.VirtualMachineScaleSetVMListResult{Value: []*armcompute.VirtualMachineScaleSetVM{}, NextLink: next}
	for _, m := range ms {
		out.Value = append(out.Value, e.instanceModel(m, view))
	}
	return reply{http.StatusOK, out}, nil
}

// instance finds the scale-set instance a path names.
func (e *Emulator) instance(c *call) (*machine, *armError) {
	p, err := e.set(c)
	if err != nil {
		return nil, err
	}
	m := e.fleet.lookup(p.id + "/virtualMachines/" + c.params[3])
	if m == nil {
		// Compute's own answer for an instance ID the scale set lacks.
		return nil, errorf(http.StatusNotFound, "NotFound", "The entity was not found in this Azure location.")
	}
	return m, nil
}

func (e *Emulator) getInstance(c *call) (reply, *armError) {
	m, err := e.instance(c)
	if err != nil {
		return reply{}, err
	}
	view, aerr := expandsInstanceView(c)
	if aerr != nil {
		return reply{}, aerr
	}
	return reply{http.StatusOK, e.instanceModel(m, view)}, nil
}

func (e *Emulator) getInstanceView(c *call) (reply, *armError) {
	m, err := e.instance(c)
	if err != nil {
		return reply{}, err
	}
	return reply{http.StatusOK, e.instanceView(m)}, nil
}

func (e *Emulator) evictInstance(c *call) (reply, *armError) {
	m, err := e.instance(c)
	if err != nil {
		return reply{}, err
	}
	return e.simulateEviction(c, m)
}

// simulateEviction hands the call to the simulated fleet, which accepts it
// as Azure does (the Preempt notice after a delay, the eviction when the
// notice runs out) or refuses a VM that is not Spot or not running. The
// journal records both.
func (e *Emulator) simulateEviction(c *call, m *machine) (reply, *armError) {
	err := e.world.SimulateEviction(context.Background(), injector.Target{ID: m.sim})
	ev := journal.Event{VM: m.name, Pool: m.pool.cfg.Name, Zone: m.zone}
	if err == nil {
		ev.Type, ev.Reason = journal.EvictionRequested, "simulateEviction accepted by the emulator"
		e.fleet.emit(c.now, ev)
		return reply{status: http.StatusNoContent}, nil
	}
	var aerr *armError
	switch {
	case errors.Is(err, injector.ErrNotSpot):
		aerr = errorf(http.StatusConflict, "OperationNotAllowed",
			"Simulate eviction is only supported for Spot virtual machines; '%s' has priority %s.", m.name, m.pool.cfg.Priority)
	case m.power == PowerRunning && m.event == nil:
		aerr = errorf(http.StatusConflict, "OperationNotAllowed", "An eviction of '%s' is already in progress.", m.name)
	case m.power == PowerRunning:
		aerr = errorf(http.StatusConflict, "OperationNotAllowed", "'%s' has a Preempt event scheduled already: it is being evicted.", m.name)
	default:
		aerr = errorf(http.StatusConflict, "OperationNotAllowed",
			"Operation 'simulateEviction' is not allowed on '%s' since its power state is %s.", m.name, m.power)
	}
	ev.Type, ev.Code, ev.Reason = journal.EvictionFailed, aerr.code, fmt.Sprintf("%d %s", aerr.status, aerr.message)
	e.fleet.emit(c.now, ev)
	return reply{}, aerr
}
