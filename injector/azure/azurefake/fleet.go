// Package azurefake is an in-memory Azure subscription behind the SDK's own
// fake servers (armcompute/v7/fake): the real armcompute clients list its
// VMs, scale sets and instances page by page and call simulateEviction on
// them, with no network. Evictions land, and scale sets replace lost
// instances, at times of a clock the test controls.
//
// It is for tests: the fake servers mark every error non-retriable, so
// throttling and retries are tested against an httptest server instead.
package azurefake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7/fake"
)

// Subscription is the ID tests use.
const Subscription = "00000000-0000-0000-0000-000000000000"

// VM describes a standalone VM or a Flexible scale-set VM to add.
type VM struct {
	ResourceGroup  string
	Name           string
	Priority       string // Spot or Regular; Regular if empty
	EvictionPolicy string // for Spot; Deallocate if empty
	Zone           string
	Tags           map[string]string
	// Power is the initial power state; running if empty.
	Power string
}

// ScaleSet describes a scale set to add, with Capacity instances.
type ScaleSet struct {
	ResourceGroup  string
	Name           string
	Flexible       bool
	Priority       string // Spot or Regular (Uniform: the profile's)
	EvictionPolicy string
	Zones          []string
	Tags           map[string]string
	Capacity       int
	// Replace makes the scale set replace an evicted or deleted instance:
	// a new one is starting after Replace/2 and running after Replace.
	Replace time.Duration
}

// Call is one simulateEviction the fleet received.
type Call struct {
	At     time.Time
	ID     string
	Status int
}

type vm struct {
	id, rg, name, set, instance string
	priority, policy            string
	zone                        string
	tags                        map[string]string
	power                       string
	created                     time.Time
	gone                        bool
}

type scaleSet struct {
	id, rg, name string
	flexible     bool
	priority     string
	policy       string
	zones        []string
	tags         map[string]string
	replace      time.Duration
	next         int
}

type action struct {
	at  time.Time
	seq int
	do  func(at time.Time)
}

// Fleet is the subscription. Its methods are safe for concurrent use: the
// fake transport serves each request on its own goroutine.
type Fleet struct {
	mu       sync.Mutex
	now      func() time.Time
	pageSize int
	vms      []*vm
	byID     map[string]*vm
	sets     []*scaleSet
	timeline []action
	seq      int
	calls    []Call
	// evictAfter is how long an accepted eviction takes to land; never
	// holds the VMs whose evictions do not land.
	evictAfter time.Duration
	never      map[string]bool
	failList   int
	tagCalls   []string
}

// New makes an empty subscription whose time is now (a test clock), listed
// pageSize items a page.
func New(now func() time.Time, pageSize int) *Fleet {
	if pageSize < 1 {
		pageSize = 1
	}
	return &Fleet{now: now, pageSize: pageSize, byID: map[string]*vm{}, never: map[string]bool{}, evictAfter: 30 * time.Second}
}

// EvictAfter sets how long accepted evictions take to land (30 s by
// default, the Preempt notice).
func (f *Fleet) EvictAfter(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evictAfter = d
}

// NeverLand makes the evictions of a VM accepted but never carried out.
func (f *Fleet) NeverLand(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.never[key(id)] = true
}

// FailListings makes the next n status-only listings fail with 500.
func (f *Fleet) FailListings(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failList = n
}

// VMID is the resource ID of a VM.
func VMID(rg, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s", Subscription, rg, name)
}

// ScaleSetID is the resource ID of a scale set.
func ScaleSetID(rg, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s", Subscription, rg, name)
}

// InstanceID is the resource ID of a Uniform scale-set instance.
func InstanceID(rg, set, instance string) string {
	return ScaleSetID(rg, set) + "/virtualMachines/" + instance
}

// AddVM adds a standalone VM and returns its ID.
func (f *Fleet) AddVM(v VM) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addVM(v, "", f.now()).id
}

func (f *Fleet) addVM(v VM, set string, created time.Time) *vm {
	m := &vm{id: VMID(v.ResourceGroup, v.Name), rg: v.ResourceGroup, name: v.Name, set: set,
		priority: or(v.Priority, "Regular"), zone: v.Zone, tags: v.Tags, power: or(v.Power, "running"), created: created}
	if m.priority == "Spot" {
		m.policy = or(v.EvictionPolicy, "Deallocate")
	}
	f.vms = append(f.vms, m)
	f.byID[key(m.id)] = m
	return m
}

// AddScaleSet adds a scale set and its instances; it returns the IDs of
// the instances.
func (f *Fleet) AddScaleSet(s ScaleSet) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ss := &scaleSet{id: ScaleSetID(s.ResourceGroup, s.Name), rg: s.ResourceGroup, name: s.Name, flexible: s.Flexible,
		priority: or(s.Priority, "Regular"), zones: s.Zones, tags: s.Tags, replace: s.Replace}
	if ss.priority == "Spot" {
		ss.policy = or(s.EvictionPolicy, "Deallocate")
	}
	f.sets = append(f.sets, ss)
	var ids []string
	for range s.Capacity {
		ids = append(ids, f.addInstance(ss, "running", f.now()).id)
	}
	return ids
}

// ScaleOut adds n running instances to a scale set now (a scale-out,
// another team's instance) and returns their IDs.
func (f *Fleet) ScaleOut(rg, set string, n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	var ids []string
	for _, s := range f.sets {
		if strings.EqualFold(s.rg, rg) && strings.EqualFold(s.name, set) {
			for range n {
				ids = append(ids, f.addInstance(s, "running", f.now()).id)
			}
		}
	}
	return ids
}

func (f *Fleet) addInstance(s *scaleSet, power string, created time.Time) *vm {
	n := s.next
	s.next++
	zone := ""
	if len(s.zones) > 0 {
		zone = s.zones[n%len(s.zones)]
	}
	if s.flexible {
		return f.addVM(VM{ResourceGroup: s.rg, Name: fmt.Sprintf("%s_%08x", s.name, n+1), Priority: s.priority,
			EvictionPolicy: s.policy, Zone: zone, Power: power}, s.id, created)
	}
	m := &vm{id: InstanceID(s.rg, s.name, fmt.Sprint(n)), rg: s.rg, name: fmt.Sprintf("%s_%d", s.name, n), set: s.id,
		instance: fmt.Sprint(n), priority: s.priority, policy: s.policy, zone: zone, power: power, created: created}
	f.vms = append(f.vms, m)
	f.byID[key(m.id)] = m
	return m
}

// SetPower changes a VM's power state now (a manual start or stop).
func (f *Fleet) SetPower(id, power string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	if m := f.byID[key(id)]; m != nil {
		m.power = power
	}
}

// Delete removes a VM now, as a person or an autoscaler would.
func (f *Fleet) Delete(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	if m := f.byID[key(id)]; m != nil {
		f.remove(m, f.now())
	}
}

// PowerAt changes a VM's power state at a time of the fleet's clock (an
// eviction Azure decides itself, a manual stop); it happens before the
// first request served at or after that time.
func (f *Fleet) PowerAt(t time.Time, id, power string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.schedule(t, func(time.Time) {
		if m := f.byID[key(id)]; m != nil {
			m.power = power
		}
	})
}

// Calls lists the simulateEviction calls received, in order.
func (f *Fleet) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Power is the power state of a VM, "" when it is gone.
func (f *Fleet) Power(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	if m := f.byID[key(id)]; m != nil && !m.gone {
		return m.power
	}
	return ""
}

func (f *Fleet) schedule(t time.Time, do func(at time.Time)) {
	f.seq++
	f.timeline = append(f.timeline, action{at: t, seq: f.seq, do: do})
	sort.SliceStable(f.timeline, func(i, j int) bool { return f.timeline[i].at.Before(f.timeline[j].at) })
}

// advance carries out what is due. Called with mu held. The lock is not
// re-taken by the actions: they use the unexported helpers.
func (f *Fleet) advance() {
	now := f.now()
	for len(f.timeline) > 0 && !f.timeline[0].at.After(now) {
		a := f.timeline[0]
		f.timeline = f.timeline[1:]
		a.do(a.at)
	}
}

func (f *Fleet) remove(m *vm, at time.Time) {
	if m.gone {
		return
	}
	m.gone = true
	delete(f.byID, key(m.id))
	f.lost(m, at)
}

// lost lets the VM's scale set replace the VM it lost at a time.
func (f *Fleet) lost(m *vm, at time.Time) {
	s := f.setOf(m)
	if s == nil || s.replace <= 0 {
		return
	}
	var nv *vm
	f.schedule(at.Add(s.replace/2), func(at time.Time) { nv = f.addInstance(s, "starting", at) })
	f.schedule(at.Add(s.replace), func(time.Time) {
		if nv != nil && !nv.gone {
			nv.power = "running"
		}
	})
}

func (f *Fleet) setOf(m *vm) *scaleSet {
	for _, s := range f.sets {
		if key(s.id) == key(m.set) {
			return s
		}
	}
	return nil
}

// evict is what Azure does to an accepted eviction: deallocate the VM,
// or delete it with the Delete policy.
func (f *Fleet) evict(m *vm, at time.Time) {
	if m.gone || m.power != "running" {
		return
	}
	if m.policy == "Delete" {
		f.remove(m, at)
		return
	}
	m.power = "deallocated"
	f.lost(m, at)
}

// simulateEviction answers as Azure does: 404 for an unknown VM, 409
// OperationNotAllowed for one that is not Spot or not running, else 204
// and the eviction lands later.
func (f *Fleet) simulateEviction(id string) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	m := f.byID[key(id)]
	status, code := http.StatusNoContent, ""
	switch {
	case m == nil:
		status, code = http.StatusNotFound, "ResourceNotFound"
	case m.priority != "Spot" || m.power != "running":
		status, code = http.StatusConflict, "OperationNotAllowed"
	}
	f.calls = append(f.calls, Call{At: f.now(), ID: id, Status: status})
	if status == http.StatusNoContent && !f.never[key(id)] {
		f.schedule(f.now().Add(f.evictAfter), func(at time.Time) { f.evict(m, at) })
	}
	return status, code
}

// Transport serves the armcompute clients of a ClientFactory from the
// fleet.
func (f *Fleet) Transport() policy.Transporter {
	return &errorTransport{f: f, next: fake.NewServerFactoryTransport(&fake.ServerFactory{
		VirtualMachinesServer:           f.vmServer(),
		VirtualMachineScaleSetsServer:   f.scaleSetServer(),
		VirtualMachineScaleSetVMsServer: f.instanceServer(),
	})}
}

// errorTransport answers the failures of listings itself, with real HTTP
// responses: the fake servers keep a pager that ended in an error and
// serve its leftovers to the next listing of the same path.
type errorTransport struct {
	f    *Fleet
	next policy.Transporter
}

func (t *errorTransport) Do(req *http.Request) (*http.Response, error) {
	if scope, ok := strings.CutSuffix(req.URL.Path, tagsSuffix); ok {
		return t.f.serveTags(req, scope)
	}
	if req.Method == http.MethodGet && !strings.Contains(req.URL.Path, "fake_page") {
		if req.URL.Query().Get("statusOnly") == "true" && t.f.takeFailure() {
			return errorResponse(req, http.StatusInternalServerError, "InternalServerError", "injected failure"), nil
		}
		if rg, set, ok := instancesPath(req.URL.Path); ok && !t.f.hasUniform(rg, set) {
			return errorResponse(req, http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.Compute/virtualMachineScaleSets/"+set+"' was not found."), nil
		}
	}
	return t.next.Do(req)
}

// tagsSuffix is the tags-at-scope API (Microsoft.Resources), which the
// armcompute fake servers do not serve.
const tagsSuffix = "/providers/Microsoft.Resources/tags/default"

// serveTags reads (GET) or merges and deletes (PATCH) the tags of a VM or
// scale set, as the tags-at-scope API does.
func (f *Fleet) serveTags(req *http.Request, scope string) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	f.tagCalls = append(f.tagCalls, req.Method+" "+scope)
	var tags *map[string]string
	if m := f.byID[key(scope)]; m != nil {
		tags = &m.tags
	}
	for _, s := range f.sets {
		if key(s.id) == key(scope) {
			tags = &s.tags
		}
	}
	if tags == nil {
		return errorResponse(req, http.StatusNotFound, "ResourceNotFound", "no resource "+scope), nil
	}
	if req.Method == http.MethodPatch {
		var body struct {
			Operation  string `json:"operation"`
			Properties struct {
				Tags map[string]string `json:"tags"`
			} `json:"properties"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
			return errorResponse(req, http.StatusBadRequest, "InvalidRequestContent", err.Error()), nil
		}
		next := maps.Clone(*tags)
		if next == nil {
			next = map[string]string{}
		}
		for k, v := range body.Properties.Tags {
			switch body.Operation {
			case "Merge":
				next[k] = v
			case "Delete":
				if next[k] == v {
					delete(next, k)
				}
			default:
				return errorResponse(req, http.StatusBadRequest, "InvalidOperation", body.Operation), nil
			}
		}
		*tags = next
	} else if req.Method != http.MethodGet {
		return errorResponse(req, http.StatusMethodNotAllowed, "MethodNotAllowed", req.Method), nil
	}
	var out struct {
		ID         string `json:"id"`
		Properties struct {
			Tags map[string]string `json:"tags"`
		} `json:"properties"`
	}
	out.ID = scope + tagsSuffix
	out.Properties.Tags = *tags
	raw, _ := json.Marshal(out)
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(raw)), Request: req}, nil
}

// TagCalls lists the tag requests served, as "METHOD resource-id".
func (f *Fleet) TagCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tagCalls)
}

// SetTag sets one tag on a VM or scale set now, as another run or a person
// would.
func (f *Fleet) SetTag(id, k, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	set := func(tags *map[string]string) {
		next := maps.Clone(*tags)
		if next == nil {
			next = map[string]string{}
		}
		next[k] = v
		*tags = next
	}
	if m := f.byID[key(id)]; m != nil {
		set(&m.tags)
	}
	for _, s := range f.sets {
		if key(s.id) == key(id) {
			set(&s.tags)
		}
	}
}

// Tags returns a VM's or scale set's tags now.
func (f *Fleet) Tags(id string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.byID[key(id)]; m != nil {
		return maps.Clone(m.tags)
	}
	for _, s := range f.sets {
		if key(s.id) == key(id) {
			return maps.Clone(s.tags)
		}
	}
	return nil
}

func (f *Fleet) takeFailure() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failList > 0 {
		f.failList--
		return true
	}
	return false
}

func (f *Fleet) hasUniform(rg, set string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	id := key(ScaleSetID(rg, set))
	for _, s := range f.sets {
		if key(s.id) == id && !s.flexible {
			return true
		}
	}
	return false
}

// instancesPath matches .../resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{set}/virtualMachines.
func instancesPath(p string) (rg, set string, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	n := len(parts)
	if n < 8 || !strings.EqualFold(parts[n-1], "virtualMachines") || !strings.EqualFold(parts[n-3], "virtualMachineScaleSets") {
		return "", "", false
	}
	for i := 0; i+1 < n; i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1], parts[n-2], true
		}
	}
	return "", "", false
}

func errorResponse(req *http.Request, status int, code, msg string) *http.Response {
	body := fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`, code, msg)
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Request: req, ContentLength: int64(len(body)),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
}

func (f *Fleet) vmServer() fake.VirtualMachinesServer {
	return fake.VirtualMachinesServer{
		NewListAllPager: func(o *armcompute.VirtualMachinesClientListAllOptions) (resp azfake.PagerResponder[armcompute.VirtualMachinesClientListAllResponse]) {
			statusOnly := o != nil && o.StatusOnly != nil && *o.StatusOnly == "true"
			vms := f.listVMs("", statusOnly)
			for _, page := range pages(vms, f.pageSize) {
				resp.AddPage(http.StatusOK, armcompute.VirtualMachinesClientListAllResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{Value: page}}, nil)
			}
			return resp
		},
		NewListPager: func(rg string, _ *armcompute.VirtualMachinesClientListOptions) (resp azfake.PagerResponder[armcompute.VirtualMachinesClientListResponse]) {
			vms := f.listVMs(rg, false)
			for _, page := range pages(vms, f.pageSize) {
				resp.AddPage(http.StatusOK, armcompute.VirtualMachinesClientListResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{Value: page}}, nil)
			}
			return resp
		},
		SimulateEviction: func(_ context.Context, rg, name string, _ *armcompute.VirtualMachinesClientSimulateEvictionOptions) (resp azfake.Responder[armcompute.VirtualMachinesClientSimulateEvictionResponse], errResp azfake.ErrorResponder) {
			status, code := f.simulateEviction(VMID(rg, name))
			if code != "" {
				errResp.SetResponseError(status, code)
				return resp, errResp
			}
			resp.SetResponse(status, armcompute.VirtualMachinesClientSimulateEvictionResponse{}, &azfake.SetResponseOptions{Header: rateLimitHeader()})
			return resp, errResp
		},
	}
}

func (f *Fleet) scaleSetServer() fake.VirtualMachineScaleSetsServer {
	list := func(rg string) []*armcompute.VirtualMachineScaleSet {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.advance()
		var out []*armcompute.VirtualMachineScaleSet
		for _, s := range f.sets {
			if rg == "" || strings.EqualFold(rg, s.rg) {
				out = append(out, s.model())
			}
		}
		return out
	}
	return fake.VirtualMachineScaleSetsServer{
		NewListAllPager: func(*armcompute.VirtualMachineScaleSetsClientListAllOptions) (resp azfake.PagerResponder[armcompute.VirtualMachineScaleSetsClientListAllResponse]) {
			for _, page := range pages(list(""), f.pageSize) {
				resp.AddPage(http.StatusOK, armcompute.VirtualMachineScaleSetsClientListAllResponse{VirtualMachineScaleSetListWithLinkResult: armcompute.VirtualMachineScaleSetListWithLinkResult{Value: page}}, nil)
			}
			return resp
		},
		NewListPager: func(rg string, _ *armcompute.VirtualMachineScaleSetsClientListOptions) (resp azfake.PagerResponder[armcompute.VirtualMachineScaleSetsClientListResponse]) {
			for _, page := range pages(list(rg), f.pageSize) {
				resp.AddPage(http.StatusOK, armcompute.VirtualMachineScaleSetsClientListResponse{VirtualMachineScaleSetListResult: armcompute.VirtualMachineScaleSetListResult{Value: page}}, nil)
			}
			return resp
		},
	}
}

func (f *Fleet) instanceServer() fake.VirtualMachineScaleSetVMsServer {
	return fake.VirtualMachineScaleSetVMsServer{
		NewListPager: func(rg, set string, o *armcompute.VirtualMachineScaleSetVMsClientListOptions) (resp azfake.PagerResponder[armcompute.VirtualMachineScaleSetVMsClientListResponse]) {
			withView := o != nil && o.Expand != nil && *o.Expand == "instanceView"
			vms := f.listInstances(rg, set, withView)
			for _, page := range pages(vms, f.pageSize) {
				resp.AddPage(http.StatusOK, armcompute.VirtualMachineScaleSetVMsClientListResponse{VirtualMachineScaleSetVMListResult: armcompute.VirtualMachineScaleSetVMListResult{Value: page}}, nil)
			}
			return resp
		},
		SimulateEviction: func(_ context.Context, rg, set, instance string, _ *armcompute.VirtualMachineScaleSetVMsClientSimulateEvictionOptions) (resp azfake.Responder[armcompute.VirtualMachineScaleSetVMsClientSimulateEvictionResponse], errResp azfake.ErrorResponder) {
			status, code := f.simulateEviction(InstanceID(rg, set, instance))
			if code != "" {
				errResp.SetResponseError(status, code)
				return resp, errResp
			}
			resp.SetResponse(status, armcompute.VirtualMachineScaleSetVMsClientSimulateEvictionResponse{}, &azfake.SetResponseOptions{Header: rateLimitHeader()})
			return resp, errResp
		},
	}
}

// rateLimitHeader is what Azure sends with a write.
func rateLimitHeader() http.Header {
	h := http.Header{}
	h.Set("x-ms-ratelimit-remaining-subscription-writes", "199")
	h.Set("x-ms-ratelimit-remaining-resource", "Microsoft.Compute/DeleteVM3Min;239,Microsoft.Compute/DeleteVM30Min;1199")
	h.Set("x-ms-request-id", "00000000-0000-0000-0000-0000000000aa")
	return h
}

// listVMs lists VM-API VMs (standalone and Flexible), of one group or all.
// A status-only listing carries IDs, names and instance views only, so
// that the client cannot lean on model fields being there.
func (f *Fleet) listVMs(rg string, statusOnly bool) []*armcompute.VirtualMachine {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	var out []*armcompute.VirtualMachine
	for _, m := range f.vms {
		if m.gone || m.instance != "" || (rg != "" && !strings.EqualFold(rg, m.rg)) {
			continue
		}
		if statusOnly {
			out = append(out, &armcompute.VirtualMachine{ID: to.Ptr(m.id), Name: to.Ptr(m.name),
				Properties: &armcompute.VirtualMachineProperties{InstanceView: &armcompute.VirtualMachineInstanceView{Statuses: m.statuses()}}})
			continue
		}
		out = append(out, m.model())
	}
	return out
}

func (f *Fleet) listInstances(rg, set string, withView bool) []*armcompute.VirtualMachineScaleSetVM {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	id := key(ScaleSetID(rg, set))
	var out []*armcompute.VirtualMachineScaleSetVM
	for _, m := range f.vms {
		if m.gone || m.instance == "" || key(m.set) != id {
			continue
		}
		v := &armcompute.VirtualMachineScaleSetVM{ID: to.Ptr(m.id), InstanceID: to.Ptr(m.instance), Name: to.Ptr(m.name),
			Location: to.Ptr("eastus"), Zones: zones(m.zone), Tags: ptrTags(m.tags),
			Properties: &armcompute.VirtualMachineScaleSetVMProperties{ProvisioningState: to.Ptr(m.provisioning()), TimeCreated: to.Ptr(m.created)}}
		if withView {
			v.Properties.InstanceView = &armcompute.VirtualMachineScaleSetVMInstanceView{Statuses: m.statuses()}
		}
		out = append(out, v)
	}
	return out
}

func (m *vm) provisioning() string {
	if m.power == "starting" {
		return "Creating"
	}
	return "Succeeded"
}

func (m *vm) statuses() []*armcompute.InstanceViewStatus {
	return []*armcompute.InstanceViewStatus{
		{Code: to.Ptr("ProvisioningState/" + strings.ToLower(m.provisioning()))},
		{Code: to.Ptr("PowerState/" + m.power)},
	}
}

func (m *vm) model() *armcompute.VirtualMachine {
	p := &armcompute.VirtualMachineProperties{
		Priority: to.Ptr(armcompute.VirtualMachinePriorityTypes(m.priority)), ProvisioningState: to.Ptr(m.provisioning()),
		TimeCreated: to.Ptr(m.created),
	}
	if m.policy != "" {
		p.EvictionPolicy = to.Ptr(armcompute.VirtualMachineEvictionPolicyTypes(m.policy))
		p.BillingProfile = &armcompute.BillingProfile{MaxPrice: to.Ptr(-1.0)}
	}
	if m.set != "" {
		p.VirtualMachineScaleSet = &armcompute.SubResource{ID: to.Ptr(m.set)}
	}
	return &armcompute.VirtualMachine{ID: to.Ptr(m.id), Name: to.Ptr(m.name), Location: to.Ptr("eastus"),
		Zones: zones(m.zone), Tags: ptrTags(m.tags), Properties: p}
}

func (s *scaleSet) model() *armcompute.VirtualMachineScaleSet {
	mode := armcompute.OrchestrationModeUniform
	if s.flexible {
		mode = armcompute.OrchestrationModeFlexible
	}
	p := &armcompute.VirtualMachineScaleSetProperties{OrchestrationMode: to.Ptr(mode)}
	if !s.flexible {
		vp := &armcompute.VirtualMachineScaleSetVMProfile{Priority: to.Ptr(armcompute.VirtualMachinePriorityTypes(s.priority))}
		if s.policy != "" {
			vp.EvictionPolicy = to.Ptr(armcompute.VirtualMachineEvictionPolicyTypes(s.policy))
			vp.BillingProfile = &armcompute.BillingProfile{MaxPrice: to.Ptr(-1.0)}
		}
		p.VirtualMachineProfile = vp
	}
	var zs []*string
	for _, z := range s.zones {
		zs = append(zs, to.Ptr(z))
	}
	return &armcompute.VirtualMachineScaleSet{ID: to.Ptr(s.id), Name: to.Ptr(s.name), Location: to.Ptr("eastus"),
		Zones: zs, Tags: ptrTags(s.tags), Properties: p}
}

func pages[T any](items []T, size int) [][]T {
	if len(items) == 0 {
		return [][]T{{}}
	}
	var out [][]T
	for len(items) > 0 {
		n := min(size, len(items))
		out = append(out, items[:n])
		items = items[n:]
	}
	return out
}

func zones(z string) []*string {
	if z == "" {
		return nil
	}
	return []*string{to.Ptr(z)}
}

func ptrTags(t map[string]string) map[string]*string {
	if len(t) == 0 {
		return nil
	}
	out := make(map[string]*string, len(t))
	for k, v := range t {
		out[k] = to.Ptr(v)
	}
	return out
}

func key(id string) string { return strings.ToLower(id) }

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// DeleteScaleSet removes a scale set and all its instances now.
func (f *Fleet) DeleteScaleSet(rg, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	id := key(ScaleSetID(rg, name))
	kept := f.sets[:0]
	for _, s := range f.sets {
		if key(s.id) != id {
			kept = append(kept, s)
		}
	}
	f.sets = kept
	for _, m := range f.vms {
		if key(m.set) == id && !m.gone {
			m.gone = true
			delete(f.byID, key(m.id))
		}
	}
}
