package spotwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultIMDS is the Azure Instance Metadata Service, reachable only from
// inside the VM.
const DefaultIMDS = "http://169.254.169.254"

// ScheduledEventsAPIVersion is the api-version this package speaks.
const ScheduledEventsAPIVersion = "2020-07-01"

// instanceAPIVersion is the api-version of the instance metadata query.
const instanceAPIVersion = "2021-02-01"

// ScheduledEvents reads the VM's Scheduled Events from IMDS:
// GET /metadata/scheduledevents?api-version=2020-07-01 with the header
// Metadata: true. The zero value polls the real IMDS once a second.
type ScheduledEvents struct {
	// Endpoint is the base URL of IMDS; DefaultIMDS if empty. Tests and the
	// local emulator point it at a loopback server.
	Endpoint string
	// Client makes the requests; if nil, a client that bypasses proxies
	// (IMDS must never be reached through one).
	Client *http.Client
	// Interval between polls; 1 s (what Azure recommends) if zero.
	Interval time.Duration
	// Types are the event types that mean the VM is going; Preempt if
	// empty. Add Terminate for scale-in with termination notifications.
	Types []string
	// OnError, if set, hears about polls that failed; the watch goes on.
	OnError func(error)
}

// Document is the Scheduled Events payload.
type Document struct {
	DocumentIncarnation int     `json:"DocumentIncarnation"`
	Events              []Event `json:"Events"`
}

// Event is one Scheduled Event.
type Event struct {
	EventID      string   `json:"EventId"`
	EventType    string   `json:"EventType"`
	ResourceType string   `json:"ResourceType"`
	Resources    []string `json:"Resources"`
	EventStatus  string   `json:"EventStatus"`
	// NotBefore is RFC 1123 in GMT, empty once the event started.
	NotBefore         string `json:"NotBefore"`
	Description       string `json:"Description"`
	EventSource       string `json:"EventSource"`
	DurationInSeconds int    `json:"DurationInSeconds"`
}

// NotBeforeTime parses NotBefore; zero when it is empty or malformed.
func (e Event) NotBeforeTime() time.Time {
	t, err := time.Parse(http.TimeFormat, e.NotBefore)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Instance is what IMDS says of the VM itself.
type Instance struct {
	Name           string `json:"name"`
	ResourceID     string `json:"resourceId"`
	Location       string `json:"location"`
	Zone           string `json:"zone"`
	VMScaleSetName string `json:"vmScaleSetName"`
	Priority       string `json:"priority"`
}

// maxDocument bounds what is read from IMDS: a Scheduled Events document
// is a few hundred bytes.
const maxDocument = 1 << 20

func (s *ScheduledEvents) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Transport: &http.Transport{Proxy: nil}}
}

func (s *ScheduledEvents) url(path, version string) string {
	base := s.Endpoint
	if base == "" {
		base = DefaultIMDS
	}
	return strings.TrimRight(base, "/") + path + "?api-version=" + version
}

// Get reads the current document.
func (s *ScheduledEvents) Get(ctx context.Context) (Document, error) {
	var d Document
	err := s.get(ctx, s.url("/metadata/scheduledevents", ScheduledEventsAPIVersion), &d)
	return d, err
}

// Instance reads the VM's compute metadata: its name (the host.name that
// matches its Scheduled Events and spotdrill's journal) and resource ID.
func (s *ScheduledEvents) Instance(ctx context.Context) (Instance, error) {
	var in Instance
	err := s.get(ctx, s.url("/metadata/instance/compute", instanceAPIVersion)+"&format=json", &in)
	return in, err
}

func (s *ScheduledEvents) get(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("imds: %w", err)
	}
	req.Header.Set("Metadata", "true")
	resp, err := s.client().Do(req)
	if err != nil {
		return fmt.Errorf("imds: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		return fmt.Errorf("imds: read %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("imds: %s: %s: %s", req.URL.Path, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("imds: decode %s: %w", req.URL.Path, err)
	}
	return nil
}

// Watch polls until ctx ends and calls fn once for each new event of the
// watched types that names vm among its Resources (any event when vm is
// empty; an event without Resources concerns every VM). It returns
// ctx.Err(); failed polls go to OnError and the watch goes on, since IMDS's
// first answer can take minutes.
func (s *ScheduledEvents) Watch(ctx context.Context, vm string, fn func(Event)) error {
	every := s.Interval
	if every <= 0 {
		every = time.Second
	}
	types := s.Types
	if len(types) == 0 {
		types = []string{"Preempt"}
	}
	seen := make(map[string]bool)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		d, err := s.Get(ctx)
		switch {
		case err != nil && ctx.Err() == nil && s.OnError != nil:
			s.OnError(err)
		case err == nil:
			for _, e := range d.Events {
				if seen[e.EventID] || !slices.Contains(types, e.EventType) || !concerns(e, vm) {
					continue
				}
				seen[e.EventID] = true
				fn(e)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func concerns(e Event, vm string) bool {
	if vm == "" || len(e.Resources) == 0 {
		return true
	}
	for _, r := range e.Resources {
		if strings.EqualFold(r, vm) {
			return true
		}
	}
	return false
}

// WatchScheduledEvents watches se for the worker's VM (its Host) and records
// each notice on the running attempts. It returns when ctx ends.
func (w *Worker) WatchScheduledEvents(ctx context.Context, se *ScheduledEvents) error {
	err := se.Watch(ctx, w.host, func(e Event) {
		w.RecordNotice(ctx, Notice{EventID: e.EventID, Type: e.EventType, NotBefore: e.NotBeforeTime()})
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}
