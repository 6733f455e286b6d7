package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// The Instance Metadata Service, as a VM sees it at
// http://169.254.169.254. Each VM has its own under the path prefix
// /vms/{vm name}, so that a drain handler under test only changes its base
// URL; the prefix-less /metadata/scheduledevents serves every VM's events
// at once, as IMDS does for the members of one placement group (handlers
// must filter on Resources there, as Azure tells them to anyway).

// scheduledEventsVersions are the api-versions Azure documents for
// Scheduled Events, oldest first: EventSource came with 2019-08-01,
// DurationInSeconds with 2020-07-01.
func scheduledEventsVersions() []string {
	return []string{"2017-03-01", "2017-08-01", "2017-11-01", "2019-01-01", "2019-04-01", "2019-08-01", "2020-07-01"}
}

// instanceVersions are the api-versions Azure documents for the instance
// metadata, oldest first. Drain handlers pin one at start-up and never
// change it, so every one of them must be served.
func instanceVersions() []string {
	return []string{
		"2017-03-01", "2017-04-02", "2017-08-01", "2017-10-01", "2017-12-01",
		"2018-02-01", "2018-04-02", "2018-10-01",
		"2019-02-01", "2019-03-11", "2019-04-30", "2019-06-01", "2019-06-04", "2019-08-01", "2019-08-15", "2019-11-01",
		"2020-06-01", "2020-07-15", "2020-09-01", "2020-10-01", "2020-12-01",
		"2021-01-01", "2021-02-01", "2021-03-01", "2021-05-01", "2021-10-01", "2021-11-01", "2021-11-15", "2021-12-13",
		"2023-07-01", "2023-11-15", "2024-03-15", "2024-07-17", "2025-04-07",
	}
}

// seDocument is the Scheduled Events document.
type seDocument struct {
	DocumentIncarnation int       `json:"DocumentIncarnation"`
	Events              []seEvent `json:"Events"`
}

type seEvent struct {
	EventID           string   `json:"EventId"`
	EventType         string   `json:"EventType"`
	ResourceType      string   `json:"ResourceType"`
	Resources         []string `json:"Resources"`
	EventStatus       string   `json:"EventStatus"`
	NotBefore         string   `json:"NotBefore"`
	Description       string   `json:"Description"`
	EventSource       string   `json:"EventSource,omitempty"`
	DurationInSeconds *int     `json:"DurationInSeconds,omitempty"`
}

// startRequests is the body of an acknowledgement.
type startRequests struct {
	StartRequests []struct {
		EventID string `json:"EventId"`
	} `json:"StartRequests"`
}

// imdsError is IMDS's own error shape, not Resource Manager's.
type imdsError struct {
	Error          string   `json:"error"`
	NewestVersions []string `json:"newest-versions,omitempty"`
}

// writeIMDSError answers as IMDS does; a version error names the three
// newest versions, newest first.
func writeIMDSError(w http.ResponseWriter, status int, msg string, versions []string) {
	var newest []string
	for i := len(versions) - 1; i >= 0 && len(newest) < 3; i-- {
		newest = append(newest, versions[i])
	}
	writeJSON(w, http.Header{}, status, imdsError{Error: msg, NewestVersions: newest})
}

// imdsRequest checks what IMDS checks on every request: the Metadata
// header, no proxy in between, and a known api-version.
func imdsRequest(w http.ResponseWriter, r *http.Request, versions []string) bool {
	if !strings.EqualFold(r.Header.Get("Metadata"), "true") {
		writeIMDSError(w, http.StatusBadRequest, "Bad request. Required metadata header not specified", nil)
		return false
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		writeIMDSError(w, http.StatusBadRequest, "Bad request. Requests through a proxy (X-Forwarded-For) are not allowed", nil)
		return false
	}
	v := r.URL.Query().Get("api-version")
	if v == "" {
		writeIMDSError(w, http.StatusBadRequest, "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds", versions)
		return false
	}
	if !slices.Contains(versions, v) {
		writeIMDSError(w, http.StatusBadRequest, "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds", versions)
		return false
	}
	return true
}

// serveVMIMDS serves /vms/{vm}/metadata/... for one VM.
func (e *Emulator) serveVMIMDS(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("vm")
	e.mu.Lock()
	m := e.fleet.byName[strings.ToLower(name)]
	e.mu.Unlock()
	if m == nil {
		writeIMDSError(w, http.StatusNotFound, fmt.Sprintf("Not found. The emulator has no VM named %q (GET /emulator lists them)", name), nil)
		return
	}
	switch rest := strings.TrimSuffix(r.PathValue("rest"), "/"); {
	case rest == "scheduledevents":
		e.serveScheduledEvents(w, r, m)
	case rest == "instance" || rest == "instance/compute" || strings.HasPrefix(rest, "instance/compute/"):
		e.serveInstance(w, r, m, strings.TrimPrefix(rest, "instance"))
	default:
		writeIMDSError(w, http.StatusNotFound, "Not found. The emulator serves metadata/scheduledevents and metadata/instance (compute)", nil)
	}
}

// serveAllIMDS serves the prefix-less /metadata/scheduledevents: every VM's
// events in one document.
func (e *Emulator) serveAllIMDS(w http.ResponseWriter, r *http.Request) {
	e.serveScheduledEvents(w, r, nil)
}

// servePrefixlessInstance answers the instance metadata without a VM: on
// Azure it describes the VM that asks, which a shared emulator cannot
// know. The error, in IMDS's shape, says where each VM's is.
func (e *Emulator) servePrefixlessInstance(w http.ResponseWriter, r *http.Request) {
	writeIMDSError(w, http.StatusNotFound, "Not found. The emulator serves each VM's instance metadata at /vms/{vm name}/metadata/instance: point the handler's base URL at /vms/{vm name} (GET /emulator lists the names)", nil)
}

// serveScheduledEvents answers GET with the document and POST with
// acknowledgements, for one VM, or every VM when m is nil.
func (e *Emulator) serveScheduledEvents(w http.ResponseWriter, r *http.Request, m *machine) {
	if !imdsRequest(w, r, scheduledEventsVersions()) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		doc, ok := e.document(m, r.URL.Query().Get("api-version"))
		if !ok {
			writeIMDSError(w, http.StatusServiceUnavailable, "Service unavailable. The emulator is not running", nil)
			return
		}
		writeJSON(w, http.Header{}, http.StatusOK, doc)
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeIMDSError(w, http.StatusBadRequest, "Bad request. The body could not be read", nil)
			return
		}
		if status, msg := e.acknowledge(m, body); status != http.StatusOK {
			writeIMDSError(w, status, msg, nil)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		writeIMDSError(w, http.StatusMethodNotAllowed, "Method not allowed. Scheduled Events accept GET and POST", nil)
	}
}

// document builds the Scheduled Events of one VM (or all), marking them
// seen: a drain handler that reads an event has been told.
func (e *Emulator) document(m *machine, version string) (seDocument, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateRunning {
		return seDocument{}, false
	}
	e.advance()
	now := e.world.Now()
	doc := seDocument{DocumentIncarnation: e.fleet.incarnation, Events: []seEvent{}}
	if m != nil {
		doc.DocumentIncarnation = m.incarnation
	}
	for _, p := range e.current(m) {
		if p.seen < 0 {
			p.seen = now
		}
		doc.Events = append(doc.Events, e.event(p, version))
	}
	return doc, true
}

// current lists the events in one VM's document, or in every VM's.
func (e *Emulator) current(m *machine) []*preempt {
	if m != nil {
		if m.event == nil {
			return nil
		}
		return []*preempt{m.event}
	}
	var out []*preempt
	for _, x := range e.fleet.machines {
		if x.event != nil {
			out = append(out, x.event)
		}
	}
	return out
}

func (e *Emulator) event(p *preempt, version string) seEvent {
	ev := seEvent{EventID: p.id, EventType: "Preempt", ResourceType: "VirtualMachine", Resources: []string{p.vm.name},
		EventStatus: "Scheduled", NotBefore: e.wall(p.notBefore).Format(http.TimeFormat), Description: ""}
	if p.started() {
		ev.EventStatus, ev.NotBefore = "Started", ""
	}
	// Versions are dates: they compare as strings.
	if version >= "2019-08-01" {
		ev.EventSource = "Platform"
	}
	if version >= "2020-07-01" {
		ev.DurationInSeconds = new(int)
		*ev.DurationInSeconds = -1
	}
	return ev
}

// acknowledge applies StartRequests: every EventId must be in the
// document, or nothing changes. An acknowledged Preempt is journaled as
// the VM drained, and lands at once when the simulated fleet allows it.
func (e *Emulator) acknowledge(m *machine, body []byte) (int, string) {
	var sr startRequests
	if err := json.Unmarshal(body, &sr); err != nil || len(sr.StartRequests) == 0 {
		return http.StatusBadRequest, `Bad request. Expected {"StartRequests":[{"EventId":"..."}]}`
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateRunning {
		return http.StatusServiceUnavailable, "Service unavailable. The emulator is not running"
	}
	e.advance()
	cur := e.current(m)
	var acks []*preempt
	for _, s := range sr.StartRequests {
		i := slices.IndexFunc(cur, func(p *preempt) bool { return strings.EqualFold(p.id, s.EventID) })
		if i < 0 {
			return http.StatusBadRequest, fmt.Sprintf("Bad request. EventId %q is not in the document", s.EventID)
		}
		acks = append(acks, cur[i])
	}
	now := e.world.Now()
	for _, p := range acks {
		e.startEvent(p, now)
	}
	return http.StatusOK, ""
}

// startEvent acknowledges one Preempt (again is fine: Azure answers 200 for an
// event already approved).
func (e *Emulator) startEvent(p *preempt, now time.Duration) {
	if p.started() {
		return
	}
	p.acked = now
	if p.seen < 0 {
		p.seen = now
	}
	e.fleet.changed(p.vm)
	e.fleet.emit(now, journal.Event{Type: journal.EvictionDrained, VM: p.vm.name, Pool: p.vm.pool.cfg.Name, Zone: p.vm.zone,
		Reason: fmt.Sprintf("the drain handler acknowledged the Preempt event %s (StartRequests) %s after the notice, %s before NotBefore",
			p.id, scenarios.FormatDuration((now - p.noticed).Round(time.Millisecond)), scenarios.FormatDuration((p.notBefore - now).Round(time.Millisecond)))})
	e.expedite(p.vm)
}

// instanceDoc is IMDS's compute metadata, the fields handlers read.
type instanceDoc struct {
	Name              string `json:"name"`
	ResourceID        string `json:"resourceId"`
	ResourceGroupName string `json:"resourceGroupName"`
	SubscriptionID    string `json:"subscriptionId"`
	Location          string `json:"location"`
	Zone              string `json:"zone"`
	VMScaleSetName    string `json:"vmScaleSetName"`
	VMSize            string `json:"vmSize"`
	VMID              string `json:"vmId"`
	Priority          string `json:"priority"`
	EvictionPolicy    string `json:"evictionPolicy"`
	OSType            string `json:"osType"`
	AzEnvironment     string `json:"azEnvironment"`
	Tags              string `json:"tags"`
}

// serveInstance answers the instance metadata: the whole document
// ("" path), its compute section ("/compute"), or one of its fields
// ("/compute/name"), as JSON or, for a field, as text (format=text).
func (e *Emulator) serveInstance(w http.ResponseWriter, r *http.Request, m *machine, path string) {
	if !imdsRequest(w, r, instanceVersions()) {
		return
	}
	if r.Method != http.MethodGet {
		writeIMDSError(w, http.StatusMethodNotAllowed, "Method not allowed. Instance metadata accepts GET", nil)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "text" {
		writeIMDSError(w, http.StatusBadRequest, "Bad request. Invalid format. For more information refer to aka.ms/azureimds", nil)
		return
	}
	e.mu.Lock()
	doc := e.instanceDoc(m)
	e.mu.Unlock()
	switch path {
	case "":
		if format == "text" {
			writeIMDSError(w, http.StatusBadRequest, "Bad request. Text format is supported only for leaf nodes. For more information refer to aka.ms/azureimds", nil)
			return
		}
		writeJSON(w, http.Header{}, http.StatusOK, map[string]any{"compute": doc})
		return
	case "/compute":
		if format == "text" {
			writeIMDSError(w, http.StatusBadRequest, "Bad request. Text format is supported only for leaf nodes. For more information refer to aka.ms/azureimds", nil)
			return
		}
		writeJSON(w, http.Header{}, http.StatusOK, doc)
		return
	}
	field := strings.TrimPrefix(path, "/compute/")
	value, ok := doc.field(field)
	if !ok {
		writeIMDSError(w, http.StatusNotFound, "Not found. The emulator serves the compute fields that drain handlers read: "+strings.Join(instanceFields(), ", "), nil)
		return
	}
	if format == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, value)
		return
	}
	writeJSON(w, http.Header{}, http.StatusOK, value)
}

// field returns one compute field by its JSON name.
func (d instanceDoc) field(name string) (string, bool) {
	raw, err := json.Marshal(d)
	if err != nil {
		return "", false
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return "", false
	}
	v, ok := m[name]
	return v, ok
}

func instanceFields() []string {
	raw, _ := json.Marshal(instanceDoc{})
	var m map[string]string
	_ = json.Unmarshal(raw, &m)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func (e *Emulator) instanceDoc(m *machine) instanceDoc {
	p := m.pool
	d := instanceDoc{Name: m.name, ResourceID: m.id, ResourceGroupName: e.opts.ResourceGroup, SubscriptionID: e.opts.Subscription,
		Location: e.fleet.location, Zone: m.zone, VMSize: p.sku(), VMID: e.vmUUID(m), Priority: p.cfg.Priority,
		OSType: "Linux", AzEnvironment: "AzurePublicCloud"}
	if p.kind == KindUniform {
		d.VMScaleSetName = p.cfg.Name
	}
	if ep := p.evictionPolicy(); ep != nil {
		d.EvictionPolicy = string(*ep)
	}
	var tags []string
	for k, v := range p.cfg.Tags {
		tags = append(tags, k+":"+v)
	}
	slices.Sort(tags)
	d.Tags = strings.Join(tags, ";")
	return d
}

// InstanceVersions lists the instance metadata api-versions served, oldest
// first.
func InstanceVersions() []string { return instanceVersions() }

// ScheduledEventsVersions lists the Scheduled Events api-versions served,
// oldest first.
func ScheduledEventsVersions() []string { return scheduledEventsVersions() }
