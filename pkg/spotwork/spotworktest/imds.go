// Package spotworktest is a fake Azure Instance Metadata Service for the
// tests of workers instrumented with spotwork: Scheduled Events (GET, and
// POST to acknowledge) and the instance's compute metadata, on loopback.
package spotworktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

// IMDS is a fake IMDS. It answers 400 to requests without the Metadata: true
// header or the api-version parameter, as Azure does.
type IMDS struct {
	mu       sync.Mutex
	doc      spotwork.Document
	instance spotwork.Instance
	seq      int
	polls    int
	srv      *httptest.Server
}

// NewIMDS starts a fake IMDS for the VM named in instance; Close stops it.
func NewIMDS(instance spotwork.Instance) *IMDS {
	m := &IMDS{instance: instance, doc: spotwork.Document{DocumentIncarnation: 1, Events: []spotwork.Event{}}}
	m.srv = httptest.NewServer(m)
	return m
}

// URL is the base URL to set as ScheduledEvents.Endpoint.
func (m *IMDS) URL() string { return m.srv.URL }

// Close stops the server.
func (m *IMDS) Close() { m.srv.Close() }

// Polls is how many Scheduled Events documents were served.
func (m *IMDS) Polls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.polls
}

// Preempt schedules a Preempt event for vms that may start after notice,
// and returns its EventId.
func (m *IMDS) Preempt(notice time.Duration, vms ...string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	id := fmt.Sprintf("A123BC45-1234-5678-AB90-%012d", m.seq)
	m.doc.DocumentIncarnation++
	m.doc.Events = append(m.doc.Events, spotwork.Event{
		EventID: id, EventType: "Preempt", ResourceType: "VirtualMachine", Resources: vms,
		EventStatus: "Scheduled", NotBefore: time.Now().UTC().Add(notice).Format(http.TimeFormat),
		EventSource: "Platform", DurationInSeconds: -1,
	})
	return id
}

// Clear removes every event, as Azure does once they are done.
func (m *IMDS) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.doc.DocumentIncarnation++
	m.doc.Events = []spotwork.Event{}
}

// ServeHTTP answers the IMDS paths.
func (m *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata") != "true" || r.URL.Query().Get("api-version") == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprint(w, `{"error":"Bad request. Required metadata header not specified"}`)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case r.URL.Path == "/metadata/scheduledevents" && r.Method == http.MethodGet:
		m.polls++
		_ = json.NewEncoder(w).Encode(m.doc)
	case r.URL.Path == "/metadata/scheduledevents" && r.Method == http.MethodPost:
		var sr struct {
			StartRequests []struct {
				EventID string `json:"EventId"`
			} `json:"StartRequests"`
		}
		if err := json.NewDecoder(r.Body).Decode(&sr); err != nil || len(sr.StartRequests) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		for _, s := range sr.StartRequests {
			for i := range m.doc.Events {
				e := &m.doc.Events[i]
				if strings.EqualFold(e.EventID, s.EventID) && e.EventStatus == "Scheduled" {
					e.EventStatus, e.NotBefore = "Started", ""
					m.doc.DocumentIncarnation++
				}
			}
		}
	case r.URL.Path == "/metadata/instance/compute" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(m.instance)
	default:
		http.NotFound(w, r)
	}
}
