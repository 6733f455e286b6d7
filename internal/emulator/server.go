package emulator

import (
	"net/http"
	"time"
)

// Server limits: a slow or idle client cannot hold a connection, nor send
// headers without end. Every answer is small and immediate (no long
// polling), so the timeouts are generous for any real client.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 64 << 10
)

// Server is the emulator's HTTP server, with its limits.
func (e *Emulator) Server() *http.Server {
	return &http.Server{Handler: e.Handler(), ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes}
}

// Handler serves the emulated Azure:
//
//	/subscriptions/...                        Resource Manager (Microsoft.Compute)
//	/vms/{vm}/metadata/scheduledevents        one VM's Scheduled Events (IMDS)
//	/vms/{vm}/metadata/instance/compute       one VM's compute metadata (IMDS)
//	/metadata/scheduledevents                 every VM's Scheduled Events
//	/metadata/instance                        an IMDS error naming the per-VM paths
//	/emulator                                 the emulator's own status (not Azure)
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/subscriptions/", e.serveARM(routes()))
	mux.HandleFunc("/vms/{vm}/metadata/{rest...}", e.serveVMIMDS)
	mux.HandleFunc("/metadata/scheduledevents", e.serveAllIMDS)
	mux.HandleFunc("/metadata/instance", e.servePrefixlessInstance)
	mux.HandleFunc("/metadata/instance/{rest...}", e.servePrefixlessInstance)
	mux.HandleFunc("GET /emulator", e.serveStatus)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeARMError(w, e.baseHeader(r), errorf(http.StatusNotFound, "NotFound",
			"The emulator does not serve '%s'; see docs/emulator.md for the operations it serves.", r.URL.Path))
	})
	return mux
}

// status is the emulator's own answer at /emulator: what a script needs to
// find its way (names, resource IDs, each VM's Scheduled Events path) and
// what the drain handlers did so far.
type status struct {
	Subscription  string  `json:"subscription"`
	ResourceGroup string  `json:"resourceGroup"`
	Location      string  `json:"location"`
	Speed         float64 `json:"speed"`
	// Now is the fleet's virtual time, in seconds since it started.
	Now    float64    `json:"now"`
	VMs    []statusVM `json:"vms"`
	Drains []Drain    `json:"drains"`
}

type statusVM struct {
	VM
	ScheduledEvents string `json:"scheduledEvents"`
}

func (e *Emulator) serveStatus(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.advance()
	st := status{Subscription: e.opts.Subscription, ResourceGroup: e.opts.ResourceGroup, Location: e.fleet.location,
		Speed: e.opts.Speed, Now: e.world.Now().Seconds(), VMs: []statusVM{}, Drains: e.drains()}
	for _, v := range e.vms() {
		st.VMs = append(st.VMs, statusVM{VM: v, ScheduledEvents: "/vms/" + v.Name + "/metadata/scheduledevents?api-version=2020-07-01"})
	}
	e.mu.Unlock()
	writeJSON(w, http.Header{}, http.StatusOK, st)
}
